package transforms

import (
	"encoding/base64"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// castValue casts v, of schema (nil if schemaless), to type to, as Kafka's
// Cast.castValueToType.
func castValue(schema *connect.Schema, v any, to connect.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	from := connect.InferType(v)
	if schema != nil {
		from = schema.Type()
	}
	if from == 0 {
		return nil, dataError("Cast transformation was passed a value of type class %s which is not supported by Connect's data API", javaClass(v))
	}
	supported := false
	for _, t := range castInputTypes {
		supported = supported || t == from
	}
	if !supported {
		return nil, dataError("Cast transformation does not support casting from %s; supported types are %s",
			strings.ToUpper(from.String()), javaTypeNames(castInputTypes))
	}
	if schema != nil && to != connect.TypeString {
		if tm, ok := v.(time.Time); ok && isLogicalOf(schema, schema.Type()) {
			encoded, err := connect.EncodeLogical(schema, tm)
			if err != nil {
				return nil, err
			}
			v = encoded
		}
	}
	if to == connect.TypeString {
		return castToString(v), nil
	}
	if s, ok := v.(string); ok {
		return castString(s, to)
	}
	return castNumber(v, to)
}

// castToString is Java's toString of the value, with Kafka's forms for
// dates (ISO 8601, here in UTC) and bytes (base64).
func castToString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case time.Time:
		ms := v.UnixMilli()
		switch {
		case ms < millisPerDay:
			return v.UTC().Format("15:04:05.000Z")
		case ms%millisPerDay == 0:
			return v.UTC().Format("2006-01-02")
		}
		return v.UTC().Format("2006-01-02T15:04:05.000Z")
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case float32:
		return javafmt.Float(v)
	case float64:
		return javafmt.Double(v)
	case connect.Decimal:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	n, _ := asInt64(v)
	return strconv.FormatInt(n, 10)
}

const millisPerDay = 24 * 60 * 60 * 1000

// outOfRange is Kafka's message for a string that is not a number of the
// type asked for.
func outOfRange(v any) error {
	return dataError("Value (%v) was out of range for requested data type", v)
}

// castString parses s as Java's Byte.parseByte ... Double.parseDouble and
// Boolean.parseBoolean do.
func castString(s string, to connect.Type) (any, error) {
	switch to {
	case connect.TypeBoolean:
		return strings.EqualFold(s, "true"), nil
	case connect.TypeFloat32, connect.TypeFloat64:
		bits := 64
		if to == connect.TypeFloat32 {
			bits = 32
		}
		f, ok := parseJavaFloat(s, bits)
		if !ok {
			return nil, outOfRange(s)
		}
		if bits == 32 {
			return float32(f), nil
		}
		return f, nil
	}
	bits := map[connect.Type]int{connect.TypeInt8: 8, connect.TypeInt16: 16, connect.TypeInt32: 32, connect.TypeInt64: 64}[to]
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil || bits == 0 {
		return nil, outOfRange(s)
	}
	return fitInteger(n, to), nil
}

// parseJavaFloat parses as Java's Double.parseDouble (or parseFloat):
// white space around the number and a type suffix (f, F, d, D) are
// allowed, "NaN" and "Infinity" are spelled so, and underscores are not.
func parseJavaFloat(s string, bits int) (float64, bool) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	sign, body := "", s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		sign, body = body[:1], body[1:]
	}
	switch body {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		if sign == "-" {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	hex := len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	if n := len(body); n > 1 && strings.ContainsRune("fFdD", rune(body[n-1])) && (!hex || strings.ContainsAny(body, "pP")) {
		body = body[:n-1]
	}
	if body == "" || strings.ContainsAny(body, "_iInN") {
		return 0, false
	}
	f, err := strconv.ParseFloat(sign+body, bits)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return f, true // an overflow is ±Inf, as in Java
}

// castNumber casts a number or boolean as Java's Number.byteValue ...
// doubleValue do: integers wrap, floats truncate toward zero and saturate.
func castNumber(v any, to connect.Type) (any, error) {
	if b, ok := v.(bool); ok {
		if to == connect.TypeBoolean {
			return b, nil
		}
		n := int64(0)
		if b {
			n = 1
		}
		return fitInteger(n, to), nil
	}
	if to == connect.TypeBoolean {
		n, ok := longValue(v)
		if !ok {
			return nil, unexpectedType(v)
		}
		return n != 0, nil
	}
	if to == connect.TypeFloat32 {
		return floatValue(v)
	}
	if to == connect.TypeFloat64 {
		f, ok := doubleValue(v)
		if !ok {
			return nil, unexpectedType(v)
		}
		return f, nil
	}
	if to == connect.TypeInt64 {
		n, ok := longValue(v)
		if !ok {
			return nil, unexpectedType(v)
		}
		return n, nil
	}
	n, ok := intValue(v)
	if !ok {
		return nil, unexpectedType(v)
	}
	return fitInteger(int64(n), to), nil
}

func unexpectedType(v any) error {
	return dataError("Unexpected type in Cast transformation: class %s", javaClass(v))
}

// fitInteger narrows n to the Go type of an integer or float type, keeping
// the low bits as Java's narrowing casts do.
func fitInteger(n int64, to connect.Type) any {
	switch to {
	case connect.TypeInt8:
		return int8(n)
	case connect.TypeInt16:
		return int16(n)
	case connect.TypeInt32:
		return int32(n)
	case connect.TypeFloat32:
		return float32(n)
	case connect.TypeFloat64:
		return float64(n)
	}
	return n
}

func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	}
	return 0, false
}

// javaD2L is Java's (long) of a double: toward zero, saturating, NaN 0.
func javaD2L(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// javaD2I is Java's (int) of a double.
func javaD2I(f float64) int32 {
	switch {
	case f != f:
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}

// longValue is Java's Number.longValue.
func longValue(v any) (int64, bool) {
	switch v := v.(type) {
	case float32:
		return javaD2L(float64(v)), true
	case float64:
		return javaD2L(v), true
	case connect.Decimal:
		return decimalLowBits(v), true
	}
	return asInt64(v)
}

// intValue is Java's Number.intValue (byteValue and shortValue narrow it).
func intValue(v any) (int32, bool) {
	switch v := v.(type) {
	case float32:
		return javaD2I(float64(v)), true
	case float64:
		return javaD2I(v), true
	}
	n, ok := longValue(v)
	return int32(n), ok
}

// doubleValue is Java's Number.doubleValue.
func doubleValue(v any) (float64, bool) {
	switch v := v.(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	case connect.Decimal:
		f, _ := strconv.ParseFloat(v.String(), 64) // an overflow is ±Inf, as Java's
		return f, true
	}
	n, ok := asInt64(v)
	return float64(n), ok
}

// floatValue is Java's Number.floatValue, rounding once to float32.
func floatValue(v any) (any, error) {
	switch v := v.(type) {
	case float32:
		return v, nil
	case float64:
		return float32(v), nil
	case connect.Decimal:
		f, _ := strconv.ParseFloat(v.String(), 32) // an overflow is ±Inf, as Java's
		return float32(f), nil
	}
	n, ok := asInt64(v)
	if !ok {
		return nil, unexpectedType(v)
	}
	return float32(n), nil
}

// decimalLowBits is BigDecimal.longValue: the integer part's low 64 bits.
func decimalLowBits(d connect.Decimal) int64 {
	u := d.Unscaled
	if u == nil {
		return 0
	}
	// An integer part of zero needs no division: the unscaled value has
	// fewer than BitLen*log10(2)+1 digits.
	if d.Scale > 0 && int64(d.Scale) > int64(u.BitLen())*30103/100000+1 {
		return 0
	}
	whole := new(big.Int).Set(u)
	if d.Scale > 0 {
		whole.Quo(whole, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	} else if d.Scale < 0 {
		if -int64(d.Scale) > 64 {
			return 0 // 10^64 is a multiple of 2^64: the low 64 bits are zero
		}
		whole.Mul(whole, new(big.Int).Exp(big.NewInt(10), big.NewInt(-int64(d.Scale)), nil))
	}
	mask := new(big.Int).SetUint64(math.MaxUint64)
	return int64(whole.And(whole, mask).Uint64())
}
