package connect

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// ErrInvalidData is wrapped by the errors of values that do not fit their
// schema, in this package and in converters (Kafka's DataException). A
// worker uses it to tell bad records, which errors.tolerance may skip, from
// failures of its own.
var ErrInvalidData = errors.New("connect: invalid data")

// maxValueDepth bounds how deeply values nest (arrays in maps in
// structs...), so that a cyclic []any is an error, not a stack overflow.
// It is Jackson's default nesting limit, so any value Kafka reads is valid.
const maxValueDepth = 1000

// ValidateValue checks that value may be a value of schema. Each schema type
// has exactly one Go type:
//
//	int8, int16, int32, int64      int8, int16, int32, int64
//	float32, float64               float32, float64
//	boolean                        bool
//	string                         string
//	bytes                          []byte
//	array                          []any, each element valid for the value schema
//	map                            map[any]any, keys and values valid for their schemas
//	struct                         *Struct whose schema is Equal to schema, valid (Struct.Validate)
//
// and the logical types (matched by name and underlying type) have theirs:
// Decimal (with the schema's scale) for DecimalName; time.Time for
// DateName (midnight UTC), TimeName (on 1970-01-01 UTC) and TimestampName.
// nil is valid for optional schemas only.
//
// A nil schema means schemaless data: value must then be nil or one of the
// Go types above other than *Struct and the logical types (which need a
// schema), with schemaless elements.
//
// The one Go type per schema type is deliberate: converters, transforms and
// sink tasks then need to handle only those, never int or map[string]any.
func ValidateValue(schema *Schema, value any) error {
	if err := validateValue(schema, value, 0); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return nil
}

// validateValue returns plain errors, with their location added as they
// return up the value: nothing is formatted unless the value is invalid.
func validateValue(s *Schema, v any, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("nested deeper than %d levels", maxValueDepth)
	}
	if s == nil {
		return validateSchemaless(v, depth)
	}
	if v == nil {
		if !s.optional {
			return fmt.Errorf("null used for a required value, schema type: %s", s.typ.javaName())
		}
		return nil
	}
	if want, ok := goTypeFits(s, v); !ok {
		return fmt.Errorf("Go type %T for schema %s, want %s", v, s, want)
	}
	if kind := logical(s); kind != "" {
		_, err := encodeLogical(kind, s, v)
		return err
	}
	switch s.typ {
	case TypeArray:
		for i, e := range v.([]any) {
			if err := validateValue(s.valueSchema, e, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case TypeMap:
		for k, e := range v.(map[any]any) {
			if err := validateValue(s.keySchema, k, depth+1); err != nil {
				return fmt.Errorf("map key %v: %w", k, err)
			}
			if err := validateValue(s.valueSchema, e, depth+1); err != nil {
				return fmt.Errorf("map value of key %v: %w", k, err)
			}
		}
	case TypeStruct:
		st := v.(*Struct)
		if st == nil {
			return errors.New("nil *Struct: use nil for null")
		}
		if !st.schema.Equal(s) {
			return fmt.Errorf("struct schema %s does not match schema %s", st.schema, s)
		}
		return st.validate(depth + 1)
	}
	return nil
}

// goTypes names the Go type of each schema type.
var goTypes = [...]string{
	TypeInt8: "int8", TypeInt16: "int16", TypeInt32: "int32", TypeInt64: "int64",
	TypeFloat32: "float32", TypeFloat64: "float64", TypeBoolean: "bool", TypeString: "string",
	TypeBytes: "[]byte", TypeArray: "[]any", TypeMap: "map[any]any", TypeStruct: "*connect.Struct",
}

// goTypeFits reports whether v has the Go type of schema s, and names it.
func goTypeFits(s *Schema, v any) (string, bool) {
	var ok bool
	switch logical(s) {
	case DecimalName:
		_, ok = v.(Decimal)
		return "connect.Decimal", ok
	case DateName, TimeName, TimestampName:
		_, ok = v.(time.Time)
		return "time.Time", ok
	}
	switch s.typ {
	case TypeInt8:
		_, ok = v.(int8)
	case TypeInt16:
		_, ok = v.(int16)
	case TypeInt32:
		_, ok = v.(int32)
	case TypeInt64:
		_, ok = v.(int64)
	case TypeFloat32:
		_, ok = v.(float32)
	case TypeFloat64:
		_, ok = v.(float64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeString:
		_, ok = v.(string)
	case TypeBytes:
		_, ok = v.([]byte)
	case TypeArray:
		_, ok = v.([]any)
	case TypeMap:
		_, ok = v.(map[any]any)
	case TypeStruct:
		_, ok = v.(*Struct)
	default:
		return s.typ.String(), false
	}
	return goTypes[s.typ], ok
}

func validateSchemaless(v any, depth int) error {
	switch v := v.(type) {
	case nil, int8, int16, int32, int64, float32, float64, bool, string, []byte:
		return nil
	case []any:
		for i, e := range v {
			if err := validateValue(nil, e, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		return nil
	case map[any]any:
		for k, e := range v {
			if err := validateValue(nil, k, depth+1); err != nil {
				return fmt.Errorf("map key: %w", err)
			}
			if err := validateValue(nil, e, depth+1); err != nil {
				return fmt.Errorf("map value of key %v: %w", k, err)
			}
		}
		return nil
	}
	return fmt.Errorf("Go type %T has no schema type (schemaless data)", v)
}

// valuesEqual compares Connect values as Java's Objects.deepEquals does:
// NaN equals NaN, 0.0 and -0.0 differ, byte slices compare by content.
func valuesEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case []byte:
		bb, ok := b.([]byte)
		return ok && bytes.Equal(a, bb)
	case []any:
		bb, ok := b.([]any)
		return ok && slices.EqualFunc(a, bb, valuesEqual)
	case map[any]any:
		bb, ok := b.(map[any]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for k, v := range a {
			w, found := bb[k]
			if !found || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	case *Struct:
		bb, ok := b.(*Struct)
		return ok && a.Equal(bb)
	case Decimal:
		bb, ok := b.(Decimal)
		return ok && a.Equal(bb)
	case time.Time:
		bb, ok := b.(time.Time)
		return ok && a.Equal(bb)
	case float32:
		bb, ok := b.(float32)
		return ok && (math.Float32bits(a) == math.Float32bits(bb) || a != a && bb != bb)
	case float64:
		bb, ok := b.(float64)
		return ok && (math.Float64bits(a) == math.Float64bits(bb) || a != a && bb != bb)
	}
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	if reflect.TypeOf(a).Comparable() {
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// formatValue writes v as Java's toString would in Struct.String: lists as
// [a, b], maps as {k=v} (sorted, as Go maps have no order), times in
// RFC 3339.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case float32:
		return javafmt.Float(v)
	case float64:
		return javafmt.Double(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[any]any:
		parts := make([]string, 0, len(v))
		for k, e := range v {
			parts = append(parts, formatValue(k)+"="+formatValue(e))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}
