package javafmt

import (
	"math"
	"testing"
)

func TestDouble(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{1, "1.0"},
		{100, "100.0"},
		{12.34, "12.34"},
		{0.001, "0.001"},
		{0.0001, "1.0E-4"},
		{1.234e-5, "1.234E-5"},
		{9999999, "9999999.0"},
		{1e7, "1.0E7"},
		{1.5e300, "1.5E300"},
		{-2.5, "-2.5"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
		{point3(), "0.30000000000000004"},
		{math.MaxFloat64, "1.7976931348623157E308"},
		{5e-324, "4.9E-324"},
	} {
		if got := Double(tc.in); got != tc.want {
			t.Errorf("Double(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float32
		want string
	}{
		{12.34, "12.34"},
		{1, "1.0"},
		{1e10, "1.0E10"},
		{0.1, "0.1"},
		{math.MaxFloat32, "3.4028235E38"},
		{math.SmallestNonzeroFloat32, "1.4E-45"},
		{2, "2.0"},
	} {
		if got := Float(tc.in); got != tc.want {
			t.Errorf("Float(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// point3 is 0.1+0.2 computed in float64, not as an exact constant.
func point3() float64 {
	a, b := 0.1, 0.2
	return a + b
}
