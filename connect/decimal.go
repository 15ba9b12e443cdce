package connect

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Decimal is the Go value of the Decimal logical type (Kafka's BigDecimal):
// Unscaled × 10^-Scale. A nil Unscaled is zero. The value of a field of
// schema DecimalBuilder(s) must have Scale s: use Rescale to get there.
// Treat Unscaled as immutable once the Decimal is in a record.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// maxDecimalDigits bounds the digits of a Decimal that ParseDecimal and
// Rescale make, so that a hostile exponent or scale cannot make them
// allocate without bound. It covers PostgreSQL's numeric, the widest
// decimal of common databases (131072 digits before the point, 16383
// after).
const maxDecimalDigits = 1 << 18

var errDecimal = errors.New("invalid decimal")

func (d Decimal) unscaled() *big.Int {
	if d.Unscaled == nil {
		return new(big.Int)
	}
	return d.Unscaled
}

// Equal reports whether d and o have the same unscaled value and scale
// (1.0 and 1.00 differ, as in Java).
func (d Decimal) Equal(o Decimal) bool {
	return d.Scale == o.Scale && d.unscaled().Cmp(o.unscaled()) == 0
}

// String formats d as Java's BigDecimal.toString, which is how Kafka writes
// a decimal as a JSON number: "123.45", "0.001", "1.23E+5", "1E-10".
func (d Decimal) String() string {
	u := d.unscaled()
	coeff := new(big.Int).Abs(u).Text(10)
	var b strings.Builder
	if u.Sign() < 0 {
		b.WriteByte('-')
	}
	adjusted := -int64(d.Scale) + int64(len(coeff)-1)
	switch {
	case d.Scale == 0:
		b.WriteString(coeff)
	case d.Scale > 0 && adjusted >= -6:
		if point := len(coeff) - int(d.Scale); point > 0 {
			b.WriteString(coeff[:point])
			b.WriteByte('.')
			b.WriteString(coeff[point:])
		} else {
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -point))
			b.WriteString(coeff)
		}
	default:
		b.WriteString(coeff[:1])
		if len(coeff) > 1 {
			b.WriteByte('.')
			b.WriteString(coeff[1:])
		}
		b.WriteByte('E')
		if adjusted >= 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatInt(adjusted, 10))
	}
	return b.String()
}

// ParseDecimal reads a decimal in Java's BigDecimal syntax ("-12.50",
// "1.5E+3", "1e-7"), keeping the scale it is written with: "12.50" has
// scale 2, "1.5E+3" scale -2.
func ParseDecimal(s string) (Decimal, error) {
	mantissa, exponent, hasExponent := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, exponent, hasExponent = s[:i], s[i+1:], true
	}
	sign := ""
	if mantissa != "" && (mantissa[0] == '-' || mantissa[0] == '+') {
		sign, mantissa = mantissa[:1], mantissa[1:]
	}
	intPart, fracPart, _ := strings.Cut(mantissa, ".")
	digits := intPart + fracPart
	if digits == "" || len(digits) > maxDecimalDigits || !allDigits(digits) {
		return Decimal{}, fmt.Errorf("%w %q", errDecimal, s)
	}
	exp := int64(0)
	if hasExponent {
		e, err := strconv.ParseInt(exponent, 10, 32)
		if err != nil {
			return Decimal{}, fmt.Errorf("%w %q: bad exponent", errDecimal, s)
		}
		exp = e
	}
	scale := int64(len(fracPart)) - exp
	if scale < math.MinInt32 || scale > math.MaxInt32 {
		return Decimal{}, fmt.Errorf("%w %q: scale out of range", errDecimal, s)
	}
	u, ok := new(big.Int).SetString(sign+digits, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("%w %q", errDecimal, s)
	}
	return Decimal{Unscaled: u, Scale: int32(scale)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Rescale returns d with the given scale and the same value, or an error if
// that would need rounding (Java's setScale with RoundingMode.UNNECESSARY)
// or more digits than a decimal may have.
func (d Decimal) Rescale(scale int32) (Decimal, error) {
	u := d.unscaled()
	if scale == d.Scale || u.Sign() == 0 {
		return Decimal{Unscaled: u, Scale: scale}, nil
	}
	digits := int64(len(new(big.Int).Abs(u).Text(10)))
	shift := int64(scale) - int64(d.Scale)
	if shift > 0 {
		if digits+shift > maxDecimalDigits {
			return Decimal{}, fmt.Errorf("%w: %s at scale %d needs more than %d digits", errDecimal, d, scale, maxDecimalDigits)
		}
		return Decimal{Unscaled: new(big.Int).Mul(u, pow10(shift)), Scale: scale}, nil
	}
	if -shift >= digits {
		return Decimal{}, fmt.Errorf("%w: %s does not fit scale %d without rounding", errDecimal, d, scale)
	}
	q, r := new(big.Int).QuoRem(u, pow10(-shift), new(big.Int))
	if r.Sign() != 0 {
		return Decimal{}, fmt.Errorf("%w: %s does not fit scale %d without rounding", errDecimal, d, scale)
	}
	return Decimal{Unscaled: q, Scale: scale}, nil
}

func pow10(n int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// decimalBytes is Java's BigInteger.toByteArray of the unscaled value: the
// shortest big-endian two's complement, as Kafka encodes a Decimal.
func decimalBytes(u *big.Int) []byte {
	if u.Sign() >= 0 {
		b := make([]byte, u.BitLen()/8+1)
		return u.FillBytes(b)
	}
	n := new(big.Int).Not(u).BitLen()/8 + 1 // Not(u) = -u-1
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	return m.Add(m, u).FillBytes(make([]byte, n))
}

// decimalFromBytes reads decimalBytes' encoding.
func decimalFromBytes(b []byte, scale int32) (Decimal, error) {
	if len(b) == 0 {
		return Decimal{}, fmt.Errorf("%w: zero-length unscaled value", errDecimal)
	}
	u := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return Decimal{Unscaled: u, Scale: scale}, nil
}
