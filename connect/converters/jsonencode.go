package converters

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// encoder writes Connect schemas and values as Kafka's JsonConverter does
// through Jackson: compact, members in Kafka's order, numbers as Java
// prints them, bytes in standard base64, non-finite floats as the strings
// "NaN", "Infinity" and "-Infinity".
type encoder struct {
	buf             []byte
	numericDecimals bool
	replaceNull     bool
}

var jsonTypeNames = map[connect.Type]string{
	connect.TypeInt8: "int8", connect.TypeInt16: "int16", connect.TypeInt32: "int32", connect.TypeInt64: "int64",
	connect.TypeFloat32: "float", connect.TypeFloat64: "double", connect.TypeBoolean: "boolean",
	connect.TypeString: "string", connect.TypeBytes: "bytes", connect.TypeArray: "array", connect.TypeMap: "map",
	connect.TypeStruct: "struct",
}

// schema writes s in Kafka's order: type, then items, keys and values, or
// fields, then optional, name, version, doc, parameters and default.
func (e *encoder) schema(s *connect.Schema, depth int) error {
	if s == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	if depth > maxDepth {
		return fmt.Errorf("schema nests deeper than %d", maxDepth)
	}
	typeName, ok := jsonTypeNames[s.Type()]
	if !ok {
		return fmt.Errorf("invalid schema type %s", s.Type())
	}
	e.buf = append(e.buf, `{"type":`...)
	e.string(typeName)
	if err := e.schemaChildren(s, depth); err != nil {
		return err
	}
	e.buf = append(e.buf, `,"optional":`...)
	e.buf = strconv.AppendBool(e.buf, s.Optional())
	if s.Name() != "" {
		e.buf = append(e.buf, `,"name":`...)
		e.string(s.Name())
	}
	if v, ok := s.Version(); ok {
		e.buf = append(e.buf, `,"version":`...)
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	}
	if s.Doc() != "" {
		e.buf = append(e.buf, `,"doc":`...)
		e.string(s.Doc())
	}
	if params := s.Parameters(); len(params) > 0 {
		e.buf = append(e.buf, `,"parameters":{`...)
		for i, p := range params {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.string(p.Key)
			e.buf = append(e.buf, ':')
			e.string(p.Value)
		}
		e.buf = append(e.buf, '}')
	}
	if s.Default() != nil {
		e.buf = append(e.buf, `,"default":`...)
		if err := e.value(s, s.Default(), depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) schemaChildren(s *connect.Schema, depth int) error {
	switch s.Type() {
	case connect.TypeArray:
		e.buf = append(e.buf, `,"items":`...)
		return e.schema(s.ValueSchema(), depth+1)
	case connect.TypeMap:
		e.buf = append(e.buf, `,"keys":`...)
		if err := e.schema(s.KeySchema(), depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, `,"values":`...)
		return e.schema(s.ValueSchema(), depth+1)
	case connect.TypeStruct:
		e.buf = append(e.buf, `,"fields":[`...)
		for i, f := range s.Fields() {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			// Kafka copies the field's schema object and adds "field"
			// last: {"type":"int32","optional":false,"field":"id"}.
			if err := e.schema(f.Schema, depth+1); err != nil {
				return err
			}
			e.buf = e.buf[:len(e.buf)-1]
			e.buf = append(e.buf, `,"field":`...)
			e.string(f.Name)
			e.buf = append(e.buf, '}')
		}
		e.buf = append(e.buf, ']')
	}
	return nil
}

// value writes v of schema s (nil: schemaless, typed by v's Go type).
func (e *encoder) value(s *connect.Schema, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nests deeper than %d", maxDepth)
	}
	if v == nil {
		switch {
		case s == nil:
			e.buf = append(e.buf, "null"...)
			return nil
		case s.Default() != nil && e.replaceNull:
			return e.value(s, s.Default(), depth+1)
		case s.Optional():
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return errors.New("null value for a field that is required and has no default value")
	}
	if s == nil {
		return e.schemaless(v, depth)
	}
	if e.numericDecimals && s.Name() == connect.DecimalName && s.Type() == connect.TypeBytes {
		return e.numericDecimal(s, v)
	}
	v, err := connect.EncodeLogical(s, v)
	if err != nil {
		return err
	}
	switch s.Type() {
	case connect.TypeArray:
		return e.array(s.ValueSchema(), v, depth)
	case connect.TypeMap:
		return e.typedMap(s, v, depth)
	case connect.TypeStruct:
		return e.structValue(s, v, depth)
	}
	if !e.primitive(s.Type(), v) {
		return fmt.Errorf("invalid Go type %T for schema type %s", v, strings.ToUpper(s.Type().String()))
	}
	return nil
}

// primitive writes v if it has the Go type of primitive type t.
func (e *encoder) primitive(t connect.Type, v any) bool {
	switch v := v.(type) {
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
		return t == connect.TypeInt8
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
		return t == connect.TypeInt16
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
		return t == connect.TypeInt32
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
		return t == connect.TypeInt64
	case float32:
		e.float(javafmt.Float(v))
		return t == connect.TypeFloat32
	case float64:
		e.float(javafmt.Double(v))
		return t == connect.TypeFloat64
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
		return t == connect.TypeBoolean
	case string:
		e.string(v)
		return t == connect.TypeString
	case []byte:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, v)
		e.buf = append(e.buf, '"')
		return t == connect.TypeBytes
	}
	return false
}

// float writes a Java-formatted number; non-finite values are strings, as
// Jackson writes them by default.
func (e *encoder) float(s string) {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		e.string(s)
	default:
		e.buf = append(e.buf, s...)
	}
}

func (e *encoder) numericDecimal(s *connect.Schema, v any) error {
	d, ok := v.(connect.Decimal)
	if !ok {
		return fmt.Errorf("Decimal value must be connect.Decimal, not %T", v)
	}
	scale, err := connect.DecimalScale(s)
	if err != nil {
		return err
	}
	if d.Scale != scale {
		return fmt.Errorf("Decimal value %s has scale %d, its schema scale %d", d, d.Scale, scale)
	}
	e.buf = append(e.buf, d.String()...)
	return nil
}

func (e *encoder) array(elem *connect.Schema, v any, depth int) error {
	list, ok := v.([]any)
	if !ok {
		return fmt.Errorf("invalid Go type %T for schema type ARRAY", v)
	}
	e.buf = append(e.buf, '[')
	for i, x := range list {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(elem, x, depth+1); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encoder) structValue(s *connect.Schema, v any, depth int) error {
	st, ok := v.(*connect.Struct)
	if !ok || st == nil {
		return fmt.Errorf("invalid Go type %T for schema type STRUCT", v)
	}
	if !st.Schema().Equal(s) {
		return errors.New("mismatching schema: the struct's schema is not the field's")
	}
	e.buf = append(e.buf, '{')
	for i, f := range s.Fields() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.string(f.Name)
		e.buf = append(e.buf, ':')
		if err := e.value(f.Schema, st.GetWithoutDefault(f.Name), depth+1); err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// typedMap writes a map as an object when its keys are strings, otherwise
// as an array of [key, value] pairs, as Kafka does.
func (e *encoder) typedMap(s *connect.Schema, v any, depth int) error {
	m, ok := v.(map[any]any)
	if !ok {
		return fmt.Errorf("invalid Go type %T for schema type MAP", v)
	}
	return e.mapEntries(m, s.KeySchema(), s.ValueSchema(), s.KeySchema().Type() == connect.TypeString, depth)
}

func (e *encoder) schemaless(v any, depth int) error {
	switch v := v.(type) {
	case []any:
		return e.array(nil, v, depth)
	case map[any]any:
		objectMode := true
		for k := range v {
			if _, ok := k.(string); !ok {
				objectMode = false
				break
			}
		}
		return e.mapEntries(v, nil, nil, objectMode, depth)
	}
	if !e.primitive(connect.InferType(v), v) {
		return fmt.Errorf("Go type %T has no schema type: schemaless data holds ints, floats, bools, strings, []byte, []any and map[any]any", v)
	}
	return nil
}

// mapEntries writes m's entries sorted by their encoded keys and values, so
// that equal maps give equal bytes.
func (e *encoder) mapEntries(m map[any]any, keySchema, valueSchema *connect.Schema, objectMode bool, depth int) error {
	type entry struct{ key, value []byte }
	entries := make([]entry, 0, len(m))
	for k, v := range m {
		ke := encoder{numericDecimals: e.numericDecimals, replaceNull: e.replaceNull}
		if objectMode {
			name, err := e.objectKey(keySchema, k)
			if err != nil {
				return err
			}
			ke.string(name)
		} else if err := ke.value(keySchema, k, depth+1); err != nil {
			return fmt.Errorf("map key: %w", err)
		}
		ve := encoder{numericDecimals: e.numericDecimals, replaceNull: e.replaceNull}
		if err := ve.value(valueSchema, v, depth+1); err != nil {
			return fmt.Errorf("map value: %w", err)
		}
		entries = append(entries, entry{ke.buf, ve.buf})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		// Keys may write alike (two structs, two NaNs): the values break ties.
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return bytes.Compare(a.value, b.value)
	})
	open, sep, closing := byte('['), byte(','), byte(']')
	if objectMode {
		open, sep, closing = '{', ':', '}'
	}
	e.buf = append(e.buf, open)
	for i, en := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if !objectMode {
			e.buf = append(e.buf, '[')
		}
		e.buf = append(e.buf, en.key...)
		e.buf = append(e.buf, sep)
		e.buf = append(e.buf, en.value...)
		if !objectMode {
			e.buf = append(e.buf, ']')
		}
	}
	e.buf = append(e.buf, closing)
	return nil
}

// objectKey is the member name of a key in object mode: the string, or
// for a null key what Jackson's asText of its JSON gives: the key schema's
// default, or "null".
func (e *encoder) objectKey(keySchema *connect.Schema, k any) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case nil:
		if keySchema != nil && keySchema.Default() != nil && e.replaceNull {
			return keySchema.Default().(string), nil
		}
		if keySchema == nil || keySchema.Optional() {
			return "null", nil
		}
		return "", errors.New("null map key for a required key schema")
	}
	return "", fmt.Errorf("invalid Go type %T for map key schema type STRING", k)
}

const hexDigits = "0123456789ABCDEF"

// string writes s as a JSON string, escaped as Jackson escapes: quote,
// backslash and control characters only, with short forms for \b \t \n \f
// \r and upper-case \u00XX for the others. Invalid UTF-8 becomes U+FFFD.
func (e *encoder) string(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			e.buf = utf8.AppendRune(e.buf, r) // RuneError for invalid bytes
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			e.buf = append(e.buf, '\\', c)
		case c == '\b':
			e.buf = append(e.buf, '\\', 'b')
		case c == '\t':
			e.buf = append(e.buf, '\\', 't')
		case c == '\n':
			e.buf = append(e.buf, '\\', 'n')
		case c == '\f':
			e.buf = append(e.buf, '\\', 'f')
		case c == '\r':
			e.buf = append(e.buf, '\\', 'r')
		case c < 0x20:
			e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			e.buf = append(e.buf, c)
		}
		i++
	}
	e.buf = append(e.buf, '"')
}
