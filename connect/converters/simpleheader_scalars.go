package converters

import (
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/fjordhq/fjord/connect"
)

// parseHeaderNumber reads a token as Kafka's parseAsNumber: as Java's
// BigDecimal(String) reads it, then, if the value is whole and fits, the
// smallest of int8 to int64; else, unless the number is written with
// neither fraction nor exponent (Java's scale 0), a float32 and, where
// that overflows, a float64; else a Decimal of the scale it is written
// with. Floats are rounded to nearest, as Java's BigDecimal.floatValue.
//
// Nothing here grows with the exponent, so "1e999999999" costs what "1e9"
// does (Kafka computes 10^999999999 to learn that it is whole).
func parseHeaderNumber(token string) (*headerValue, bool) {
	n, ok := scanJavaDecimal(token)
	if !ok {
		return nil, false
	}
	if v, ok := n.integer(); ok {
		return smallestInteger(v), true
	}
	if n.scale != 0 {
		if f, err := strconv.ParseFloat(n.text, 32); rangeOnly(err) && !math.IsInf(f, 0) {
			return &headerValue{schema: kafkaFloat32, value: float32(f)}, true
		}
		if f, err := strconv.ParseFloat(n.text, 64); rangeOnly(err) && !math.IsInf(f, 0) {
			return &headerValue{schema: kafkaFloat64, value: f}, true
		}
	}
	if n.scale < 0 && int64(len(strings.TrimLeft(n.digits, "0")))-1-n.scale > math.MaxInt32 {
		// Java writes this decimal with an exponent beyond int32
		// ("10e2147483647" as 1.0E+2147483648), which it cannot read back.
		return nil, false
	}
	d, err := connect.ParseDecimal(n.text)
	if err != nil {
		return nil, false // more digits than a fjord Decimal holds
	}
	schema := &kafkaSchema{typ: connect.TypeBytes, logical: connect.DecimalName, scale: d.Scale}
	return &headerValue{schema: schema, value: d}, true
}

// rangeOnly reports whether a ParseFloat error is at most an overflow,
// which comes with an infinity; the syntax is checked already.
func rangeOnly(err error) bool { return err == nil || errors.Is(err, strconv.ErrRange) }

func smallestInteger(v int64) *headerValue {
	switch {
	case v == int64(int8(v)):
		return &headerValue{schema: kafkaInt8, value: int8(v)}
	case v == int64(int16(v)):
		return &headerValue{schema: kafkaInt16, value: int16(v)}
	case v == int64(int32(v)):
		return &headerValue{schema: kafkaInt32, value: int32(v)}
	}
	return &headerValue{schema: kafkaInt64, value: v}
}

// javaDecimal is a number in Java's BigDecimal syntax: an optional sign,
// digits with at most one point, an optional exponent of at most int32.
type javaDecimal struct {
	text   string // the number with its digits in ASCII
	neg    bool
	digits string // the digits before and after the point
	scale  int64  // Java's scale: digits after the point less the exponent
}

func scanJavaDecimal(token string) (javaDecimal, bool) {
	d := javaDecimal{text: asciiDigits(token)}
	s := d.text
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d.neg, s = s[0] == '-', s[1:]
	}
	mantissa, exponent, hasExponent := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, exponent, hasExponent = s[:i], s[i+1:], true
	}
	whole, fraction, _ := strings.Cut(mantissa, ".")
	d.digits = whole + fraction
	if d.digits == "" || strings.Trim(d.digits, "0123456789") != "" {
		return d, false
	}
	var exp int64
	if hasExponent {
		e, err := strconv.ParseInt(exponent, 10, 32)
		if err != nil {
			return d, false
		}
		exp = e
	}
	d.scale = int64(len(fraction)) - exp
	return d, d.scale >= math.MinInt32 && d.scale <= math.MaxInt32
}

// integer returns the number's value if it is whole and fits an int64.
func (d javaDecimal) integer() (int64, bool) {
	significant := strings.TrimLeft(d.digits, "0")
	if significant == "" {
		return 0, true
	}
	var whole string
	if d.scale > 0 {
		if int64(len(significant)) <= d.scale {
			return 0, false // strictly between 0 and 1
		}
		cut := len(significant) - int(d.scale)
		if strings.TrimRight(significant[cut:], "0") != "" {
			return 0, false
		}
		whole = significant[:cut]
	} else {
		if int64(len(significant))-d.scale > 19 {
			return 0, false // beyond int64
		}
		whole = significant + strings.Repeat("0", int(-d.scale))
	}
	if d.neg {
		whole = "-" + whole
	}
	v, err := strconv.ParseInt(whole, 10, 64)
	return v, err == nil
}

// isJavaDigit is Java's Character.isDigit of a char: a decimal digit of
// any script in the Basic Multilingual Plane, as Java's strings hold the
// others as two surrogate chars, which are no digits.
func isJavaDigit(r rune) bool { return r <= 0xFFFF && unicode.IsDigit(r) }

// asciiDigits replaces the digits of other scripts with ASCII ones, as
// Java's BigDecimal reads them (Character.digit).
func asciiDigits(s string) string {
	ascii := true
	for i := 0; i < len(s) && ascii; i++ {
		ascii = s[i] < utf8.RuneSelf
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= utf8.RuneSelf && isJavaDigit(r) {
			r = '0' + javaDigitValue(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// javaDigitValue is the value of a decimal digit. Unicode assigns decimal
// digits in runs from 0 to 9, so a digit's value is its distance from the
// start of its range in the table, modulo 10.
func javaDigitValue(r rune) rune {
	ranges := unicode.Nd.R16
	i := sort.Search(len(ranges), func(i int) bool { return rune(ranges[i].Hi) >= r })
	return (r - rune(ranges[i].Lo)) % 10
}

// parseTemporal reads Kafka's three literals (ISO 8601 in UTC, with
// milliseconds), after unescaping escaped colons as Kafka does: 2019-08-23
// is a Date, 14:34:54.346Z a Time, 2019-08-23T14:34:54.346Z a Timestamp.
// Kafka tells them by length and parses leniently; fjord takes only
// well-formed ones (see SimpleHeaderConverter).
func parseTemporal(text string) *headerValue {
	text = strings.ReplaceAll(text, `\:`, ":")
	var schema *kafkaSchema
	var ms int64
	ok := false
	switch len(text) {
	case len("00:00:00.000Z"):
		schema = kafkaTime
		ms, ok = parseClock(text, true)
	case len("0000-00-00T00:00:00.000Z"):
		day, dayOK := parseDay(text[:10])
		clock, clockOK := parseClock(text[11:], false)
		schema, ms, ok = kafkaTimestamp, day+clock, dayOK && clockOK && text[10] == 'T'
	case len("0000-00-00"):
		schema = kafkaDate
		ms, ok = parseDay(text)
	}
	if !ok {
		return nil
	}
	t, err := headerMillisTime(ms)
	if err != nil {
		return nil
	}
	return &headerValue{schema: schema, value: t}
}

// parseDay reads yyyy-MM-dd as milliseconds since the epoch.
func parseDay(s string) (int64, bool) {
	year, yearOK := decimalField(s[0:4])
	month, monthOK := decimalField(s[5:7])
	day, dayOK := decimalField(s[8:10])
	if !yearOK || !monthOK || !dayOK || s[4] != '-' || s[7] != '-' || month < 1 || month > 12 || day < 1 {
		return 0, false
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return 0, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).UnixMilli(), true
}

// parseClock reads HH:mm:ss.SSS'Z' as milliseconds since midnight. A Time
// may be 24:00:00.000Z, the end of the day, which is how a Time of
// 86400000 ms (valid in Kafka and fjord) is written.
func parseClock(s string, endOfDay bool) (int64, bool) {
	if endOfDay && s == "24:00:00.000Z" {
		return millisPerDay, true
	}
	hour, hourOK := decimalField(s[0:2])
	minute, minuteOK := decimalField(s[3:5])
	second, secondOK := decimalField(s[6:8])
	milli, milliOK := decimalField(s[9:12])
	if !hourOK || !minuteOK || !secondOK || !milliOK || s[2] != ':' || s[5] != ':' || s[8] != '.' || s[12] != 'Z' ||
		hour > 23 || minute > 59 || second > 59 {
		return 0, false
	}
	return int64(((hour*60+minute)*60+second)*1000 + milli), true
}

// decimalField reads a field of ASCII digits.
func decimalField(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}
