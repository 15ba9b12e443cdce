package httpsink

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// maxValueDepth bounds how deeply a value written as JSON nests, so that a
// cyclic []any is an error, not a stack overflow. It is the depth Kafka's
// JSON reader (Jackson) accepts, so any value Kafka could read fits.
const maxValueDepth = 1000

// ISO 8601 forms of Kafka's time logical types, all in UTC.
const (
	dateLayout      = "2006-01-02"
	timeLayout      = "15:04:05.000"
	timestampLayout = "2006-01-02T15:04:05.000Z07:00"
)

// appendValue appends the form of a record value that a body carries:
// JSON or the string form, Kafka's StringConverter's but for times, which
// are in ISO 8601 as in JSON. The value is not nil.
func appendValue(buf []byte, asJSON bool, schema *connect.Schema, value any) ([]byte, error) {
	if asJSON {
		return appendJSON(buf, schema, value, 0)
	}
	switch v := value.(type) {
	case string:
		return append(buf, v...), nil
	case []byte:
		return append(buf, v...), nil
	case time.Time:
		return v.UTC().AppendFormat(buf, timeLayoutOf(schema)), nil
	}
	text, err := converters.StringConverter{}.FromConnectData("", nil, schema, value)
	if err != nil {
		return nil, fmt.Errorf("%w: writing a %T as a string: %w", connect.ErrInvalidData, value, err)
	}
	return append(buf, text...), nil
}

// appendJSON appends value, of schema (nil when schemaless), as JSON. An
// error wraps connect.ErrInvalidData.
func appendJSON(buf []byte, schema *connect.Schema, value any, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return nil, fmt.Errorf("%w: value nests deeper than %d levels", connect.ErrInvalidData, maxValueDepth)
	}
	switch v := value.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case int8:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case float32:
		return appendFloat(buf, float64(v), v)
	case float64:
		return appendFloat(buf, v, v)
	case string:
		return appendString(buf, v), nil
	case []byte:
		buf = append(buf, '"')
		buf = base64.StdEncoding.AppendEncode(buf, v)
		return append(buf, '"'), nil
	case connect.Decimal:
		// Decimal.String is Java's BigDecimal.toString, whose every form
		// ("12.50", "0.001", "1.5E+3") is a JSON number.
		return append(buf, v.String()...), nil
	case time.Time:
		return appendTime(buf, schema, v), nil
	case *connect.Struct:
		return appendStruct(buf, v, depth)
	case []any:
		return appendArray(buf, elementSchema(schema), v, depth)
	case map[any]any:
		return appendMap(buf, schema, v, depth)
	}
	return nil, fmt.Errorf("%w: a value of Go type %T has no JSON form (it is not Connect data)", connect.ErrInvalidData, value)
}

// appendFloat writes a finite float as encoding/json does (the shortest
// form that reads back exactly), and NaN and the infinities, which JSON
// lacks, as the strings Java prints for them.
func appendFloat(buf []byte, f float64, v any) ([]byte, error) {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...), nil
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...), nil
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", connect.ErrInvalidData, err)
	}
	return append(buf, b...), nil
}

// appendTime writes a Date, a Time or (for any other schema, or none) a
// Timestamp in ISO 8601, in UTC, to the millisecond Kafka keeps.
func appendTime(buf []byte, schema *connect.Schema, t time.Time) []byte {
	buf = append(buf, '"')
	buf = t.UTC().AppendFormat(buf, timeLayoutOf(schema))
	return append(buf, '"')
}

// timeLayoutOf is the layout of a time value of schema: a Date's, a
// Time's, or a Timestamp's for any other schema or none.
func timeLayoutOf(schema *connect.Schema) string {
	if schema != nil {
		switch schema.Name() {
		case connect.DateName:
			return dateLayout
		case connect.TimeName:
			return timeLayout
		}
	}
	return timestampLayout
}

// appendStruct writes a struct as an object with its fields in schema
// order; a field that is not set has its default.
func appendStruct(buf []byte, s *connect.Struct, depth int) ([]byte, error) {
	schema := s.Schema()
	if schema == nil || schema.Type() != connect.TypeStruct {
		return nil, fmt.Errorf("%w: struct value without a struct schema", connect.ErrInvalidData)
	}
	buf = append(buf, '{')
	for i, f := range schema.Fields() {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendString(buf, f.Name)
		buf = append(buf, ':')
		var err error
		if buf, err = appendJSON(buf, f.Schema, s.Get(f.Name), depth+1); err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return append(buf, '}'), nil
}

func appendArray(buf []byte, elem *connect.Schema, values []any, depth int) ([]byte, error) {
	buf = append(buf, '[')
	for i, e := range values {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendJSON(buf, elem, e, depth+1); err != nil {
			return nil, err
		}
	}
	return append(buf, ']'), nil
}

// elementSchema is the schema of an array's elements or a map's values,
// nil when schemaless.
func elementSchema(schema *connect.Schema) *connect.Schema {
	if schema == nil {
		return nil
	}
	return schema.ValueSchema()
}

// appendMap writes a map whose keys are all strings as an object, others
// as an array of [key, value] pairs (as Kafka's JsonConverter does), in
// the order of the keys' JSON, since Go maps have none.
func appendMap(buf []byte, schema *connect.Schema, m map[any]any, depth int) ([]byte, error) {
	var keySchema, valueSchema *connect.Schema
	if schema != nil {
		keySchema, valueSchema = schema.KeySchema(), schema.ValueSchema()
	}
	type entry struct {
		key   []byte
		value any
	}
	entries := make([]entry, 0, len(m))
	object := keySchema == nil || keySchema.Type() == connect.TypeString
	for k, v := range m {
		if _, ok := k.(string); !ok {
			object = false
		}
		key, err := appendJSON(nil, keySchema, k, depth+1)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		entries = append(entries, entry{key, v})
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.key, b.key) })
	open, pairOpen, colon, pairClose, closing := byte('{'), "", byte(':'), "", byte('}')
	if !object {
		open, pairOpen, colon, pairClose, closing = '[', "[", ',', "]", ']'
	}
	buf = append(buf, open)
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, pairOpen...)
		buf = append(buf, e.key...)
		buf = append(buf, colon)
		var err error
		if buf, err = appendJSON(buf, valueSchema, e.value, depth+1); err != nil {
			return nil, fmt.Errorf("map value: %w", err)
		}
		buf = append(buf, pairClose...)
	}
	return append(buf, closing), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Unlike encoding/json it leaves
// <, > and & as they are (bodies are not HTML); it escapes control
// characters, U+2028 and U+2029 (which JavaScript treats as line breaks),
// and writes invalid UTF-8 as U+FFFD.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
