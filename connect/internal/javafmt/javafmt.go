// Package javafmt formats numbers the way the Java runtime prints them, so
// that what fjord's Connect converters and REST answers write matches,
// byte for byte, what a Kafka Connect worker writes: Double.toString and
// Float.toString (as Jackson writes JSON numbers and as ConfigDef prints a
// DOUBLE).
//
// The digits are the shortest that read back to the same value, as Java 19
// and later choose them (earlier Java releases sometimes printed more).
package javafmt

import (
	"math"
	"strconv"
	"strings"
)

// Double returns Java's Double.toString of f: "1.0", "0.001", "1.0E7",
// "1.234E-5", "NaN", "Infinity".
func Double(f float64) string { return format(f, 64) }

// Float returns Java's Float.toString of f, with the shortest digits that
// identify the float32.
func Float(f float32) string { return format(float64(f), 32) }

// format writes plain notation for 1e-3 <= |f| < 1e7 and computerized
// scientific notation otherwise, with at least one digit after the point.
func format(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	var b strings.Builder
	if f < 0 {
		b.WriteByte('-')
		f = -f
	}
	// 'e' gives d.ddde±XX: the digits and the exponent of the first one.
	e := strconv.FormatFloat(f, 'e', -1, bitSize)
	if !strings.Contains(e, ".") {
		// Java never prints one significant digit: where one would do, it
		// takes the two-digit decimal closest to f (4.9E-324, not 5.0E-324).
		if two := strconv.FormatFloat(f, 'e', 1, bitSize); readsBack(two, f, bitSize) {
			e = two
		}
	}
	mantissa, expText, _ := strings.Cut(e, "e")
	digits := strings.TrimRight(strings.Replace(mantissa, ".", "", 1), "0")
	if digits == "" {
		digits = "0"
	}
	exp, _ := strconv.Atoi(expText)
	if exp >= -3 && exp < 7 {
		writePlain(&b, digits, exp)
	} else {
		b.WriteString(digits[:1])
		b.WriteByte('.')
		if len(digits) > 1 {
			b.WriteString(digits[1:])
		} else {
			b.WriteByte('0')
		}
		b.WriteByte('E')
		b.WriteString(strconv.Itoa(exp))
	}
	return b.String()
}

// readsBack reports whether s parses to f at the given precision.
func readsBack(s string, f float64, bitSize int) bool {
	g, err := strconv.ParseFloat(s, bitSize)
	return err == nil && g == f
}

// writePlain writes digits with the point after exp+1 of them.
func writePlain(b *strings.Builder, digits string, exp int) {
	if exp < 0 {
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -exp-1))
		b.WriteString(digits)
		return
	}
	intDigits := exp + 1
	if len(digits) <= intDigits {
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", intDigits-len(digits)))
		b.WriteString(".0")
		return
	}
	b.WriteString(digits[:intDigits])
	b.WriteByte('.')
	b.WriteString(digits[intDigits:])
}
