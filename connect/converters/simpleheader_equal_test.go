package converters_test

import (
	"bytes"
	"math"
	"math/big"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// sameHeaderValue reports whether two header values are identical: same Go
// types, floats bit for bit, decimals with the same scale, instants equal.
// Unlike deepEqual it compares Decimals (and map keys that are Decimals) by
// value, not by pointer.
func sameHeaderValue(a, b any) bool {
	return headerValuesMatch(a, b, false)
}

// equivalentHeaderValue is sameHeaderValue but for numbers, which match
// when the more precise one rounds to the other: Kafka's format reads a
// float back as an integer when its shortest form is whole (1.0, or
// 1.2345679E10 for the float32 12345679360), and -0.0 as 0.
func equivalentHeaderValue(a, b any) bool {
	return headerValuesMatch(a, b, true)
}

func headerValuesMatch(a, b any, looseNumbers bool) bool {
	if looseNumbers && isHeaderNumber(a) && isHeaderNumber(b) {
		return numbersMatch(a, b)
	}
	switch a := a.(type) {
	case float32:
		bb, ok := b.(float32)
		return ok && math.Float32bits(a) == math.Float32bits(bb)
	case float64:
		bb, ok := b.(float64)
		return ok && math.Float64bits(a) == math.Float64bits(bb)
	case connect.Decimal:
		bb, ok := b.(connect.Decimal)
		return ok && a.Equal(bb)
	case time.Time:
		bb, ok := b.(time.Time)
		return ok && a.Equal(bb)
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !headerValuesMatch(a[i], bb[i], looseNumbers) {
				return false
			}
		}
		return true
	case map[any]any:
		bb, ok := b.(map[any]any)
		return ok && headerMapsMatch(a, bb, looseNumbers)
	case *connect.Struct:
		bb, ok := b.(*connect.Struct)
		return ok && a.Equal(bb)
	}
	return a == b
}

// headerMapsMatch pairs entries by matching keys, one to one; maps in
// tests are small, so the quadratic search does not matter.
func headerMapsMatch(a, b map[any]any, looseNumbers bool) bool {
	if len(a) != len(b) {
		return false
	}
	used := map[any]bool{}
	for k, v := range a {
		found := false
		for k2, v2 := range b {
			if !used[k2] && headerValuesMatch(k, k2, looseNumbers) && headerValuesMatch(v, v2, looseNumbers) {
				used[k2], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func isHeaderNumber(v any) bool {
	switch v.(type) {
	case int8, int16, int32, int64, float32, float64:
		return true
	}
	return false
}

// numbersMatch compares two numbers at the precision of the less precise.
func numbersMatch(a, b any) bool {
	_, aIs32 := a.(float32)
	_, bIs32 := b.(float32)
	_, aIs64 := a.(float64)
	_, bIs64 := b.(float64)
	switch {
	case aIs32 || bIs32:
		x, _ := exactNumber(a).Float32()
		y, _ := exactNumber(b).Float32()
		return x == y
	case aIs64 || bIs64:
		x, _ := exactNumber(a).Float64()
		y, _ := exactNumber(b).Float64()
		return x == y
	}
	return exactNumber(a).Cmp(exactNumber(b)) == 0
}

// exactNumber is a number's exact value, rounding nothing.
func exactNumber(v any) *big.Float {
	f := new(big.Float).SetPrec(0).SetMode(big.ToNearestEven)
	switch v := v.(type) {
	case int8:
		return f.SetInt64(int64(v))
	case int16:
		return f.SetInt64(int64(v))
	case int32:
		return f.SetInt64(int64(v))
	case int64:
		return f.SetInt64(v)
	case float32:
		return f.SetFloat64(float64(v))
	case float64:
		return f.SetFloat64(v)
	}
	panic("not a number")
}

// schemasEquivalent is Schema.Equal but for plain number schemas, which
// may differ where numbers changed type (see equivalentHeaderValue), and a
// nil (schemaless) side, which the values of a container with no common
// schema turn to and from.
func schemasEquivalent(a, b *connect.Schema) bool {
	if a == nil || b == nil {
		return true
	}
	if a.Name() == "" && b.Name() == "" && isNumberType(a.Type()) && isNumberType(b.Type()) {
		return true
	}
	if a.Type() != b.Type() || a.Name() != b.Name() {
		return false
	}
	switch a.Type() {
	case connect.TypeArray:
		return schemasEquivalent(a.ValueSchema(), b.ValueSchema())
	case connect.TypeMap:
		return schemasEquivalent(a.KeySchema(), b.KeySchema()) && schemasEquivalent(a.ValueSchema(), b.ValueSchema())
	}
	return a.Equal(b)
}

func isNumberType(t connect.Type) bool {
	switch t {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64, connect.TypeFloat32, connect.TypeFloat64:
		return true
	}
	return false
}
