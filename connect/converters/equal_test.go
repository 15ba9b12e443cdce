package converters_test

import (
	"bytes"
	"math"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// deepEqual compares decoded Connect values: NaN equals NaN, bytes and
// times by content, structs with Struct.Equal.
func deepEqual(a, b any) bool {
	switch a := a.(type) {
	case float64:
		bb, ok := b.(float64)
		return ok && (a == bb || math.IsNaN(a) && math.IsNaN(bb))
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case time.Time:
		bb, ok := b.(time.Time)
		return ok && a.Equal(bb)
	case *connect.Struct:
		bb, ok := b.(*connect.Struct)
		return ok && a.Equal(bb)
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !deepEqual(a[i], bb[i]) {
				return false
			}
		}
		return true
	case map[any]any:
		bb, ok := b.(map[any]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for k, v := range a {
			if w, ok := bb[k]; !ok || !deepEqual(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}
