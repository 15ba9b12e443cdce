package converters

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// maxWriteDepth bounds how deeply a written value nests, so that a cyclic
// []any is an error, not a stack overflow. It is connect.ValidateValue's
// limit: any valid value is written, though beyond maxHeaderDepth it reads
// back as a string.
const maxWriteDepth = 1000

var errWriteTooDeep = errors.New("value nested too deeply (or cyclic)")

// headerWriter writes values as Kafka's Values.convertToString.
type headerWriter struct {
	buf []byte
}

// write appends v. embedded is true inside arrays, maps and structs, where
// strings and bytes are quoted. schema, when it matches v, only chooses
// the form of dates and times; as in Kafka, the Go type of v decides the
// rest.
func (w *headerWriter) write(schema *connect.Schema, v any, embedded bool, depth int) error {
	if depth > maxWriteDepth {
		return errWriteTooDeep
	}
	switch v := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case string:
		w.writeString(v, embedded)
	case bool:
		w.buf = strconv.AppendBool(w.buf, v)
	case int8:
		w.buf = strconv.AppendInt(w.buf, int64(v), 10)
	case int16:
		w.buf = strconv.AppendInt(w.buf, int64(v), 10)
	case int32:
		w.buf = strconv.AppendInt(w.buf, int64(v), 10)
	case int64:
		w.buf = strconv.AppendInt(w.buf, v, 10)
	case float32:
		w.buf = append(w.buf, javafmt.Float(v)...)
	case float64:
		w.buf = append(w.buf, javafmt.Double(v)...)
	case connect.Decimal:
		w.buf = append(w.buf, v.String()...)
	case []byte:
		w.writeBytes(v, embedded)
	case time.Time:
		w.buf = appendHeaderTime(w.buf, temporalName(schema), v)
	case []any:
		return w.writeArray(schema, v, depth)
	case map[any]any:
		return w.writeMap(schema, v, depth)
	case *connect.Struct:
		return w.writeStruct(v, depth)
	default:
		return fmt.Errorf("cannot write %T: not a Connect value type", v)
	}
	return nil
}

// writeString writes a string as it is at top level, and inside containers
// quoted, with backslashes and quotes escaped, as Kafka's Values.escape.
func (w *headerWriter) writeString(s string, embedded bool) {
	if !embedded {
		w.buf = append(w.buf, s...)
		return
	}
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '"' {
			w.buf = append(w.buf, '\\')
		}
		w.buf = append(w.buf, s[i])
	}
	w.buf = append(w.buf, '"')
}

// writeBytes writes bytes in base64, quoted inside containers (base64 has
// nothing to escape).
func (w *headerWriter) writeBytes(b []byte, embedded bool) {
	if embedded {
		w.buf = append(w.buf, '"')
	}
	w.buf = base64.StdEncoding.AppendEncode(w.buf, b)
	if embedded {
		w.buf = append(w.buf, '"')
	}
}

func (w *headerWriter) writeArray(schema *connect.Schema, a []any, depth int) error {
	var elem *connect.Schema
	if schema != nil && schema.Type() == connect.TypeArray {
		elem = schema.ValueSchema()
	}
	w.buf = append(w.buf, '[')
	for i, e := range a {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		if err := w.write(elem, e, true, depth+1); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, ']')
	return nil
}

// writeMap writes {key:value,...}. Go maps have no order, so the entries
// are sorted, which also makes equal maps equal bytes.
func (w *headerWriter) writeMap(schema *connect.Schema, m map[any]any, depth int) error {
	var keySchema, valueSchema *connect.Schema
	if schema != nil && schema.Type() == connect.TypeMap {
		keySchema, valueSchema = schema.KeySchema(), schema.ValueSchema()
	}
	entries := make([]string, 0, len(m))
	for k, v := range m {
		var e headerWriter
		if err := e.write(keySchema, k, true, depth+1); err != nil {
			return err
		}
		e.buf = append(e.buf, ':')
		if err := e.write(valueSchema, v, true, depth+1); err != nil {
			return err
		}
		entries = append(entries, string(e.buf))
	}
	slices.Sort(entries)
	w.buf = append(w.buf, '{')
	for i, e := range entries {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = append(w.buf, e...)
	}
	w.buf = append(w.buf, '}')
	return nil
}

// writeStruct writes {"field":value,...} in field order, with defaults in
// place of nulls (Kafka's Struct.get).
func (w *headerWriter) writeStruct(s *connect.Struct, depth int) error {
	if s == nil {
		w.buf = append(w.buf, "null"...)
		return nil
	}
	if s.Schema() == nil {
		return errors.New("cannot write a struct without a schema")
	}
	w.buf = append(w.buf, '{')
	for i, f := range s.Schema().Fields() {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.writeString(f.Name, true)
		w.buf = append(w.buf, ':')
		if err := w.write(f.Schema, s.Get(f.Name), true, depth+1); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, '}')
	return nil
}

// temporalName is the name of a Date, Time or Timestamp schema, or "".
func temporalName(s *connect.Schema) string {
	if s == nil {
		return ""
	}
	switch {
	case s.Name() == connect.DateName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimeName && s.Type() == connect.TypeInt32,
		s.Name() == connect.TimestampName && s.Type() == connect.TypeInt64:
		return s.Name()
	}
	return ""
}

// appendHeaderTime writes t, to the millisecond as Java's Date holds it,
// in the form of its schema where it fits (so that it reads back with that
// schema), else by Kafka's rule: a time of day for the first day of the
// epoch, a date for midnights, a timestamp otherwise. Kafka's rule writes
// every instant before 1970-01-02 as a time of day; fjord writes those
// before 1970 in full rather than lose their date.
func appendHeaderTime(buf []byte, schemaName string, t time.Time) []byte {
	ms := t.UnixMilli()
	u := time.UnixMilli(ms).UTC()
	midnight := ms%millisPerDay == 0
	firstDay := ms >= 0 && ms < millisPerDay
	switch {
	case schemaName == connect.TimeName && ms == millisPerDay:
		return append(buf, "24:00:00.000Z"...)
	case schemaName == connect.TimeName && firstDay,
		schemaName == "" && firstDay:
		return appendClock(buf, u)
	case schemaName == connect.DateName && midnight,
		schemaName == "" && midnight:
		return appendDay(buf, u)
	}
	buf = appendDay(buf, u)
	buf = append(buf, 'T')
	return appendClock(buf, u)
}

// appendDay writes yyyy-MM-dd. Java's yyyy has at least four digits; a
// year before 1 AD (which Java writes as its year of era, without the era)
// is written with a minus sign.
func appendDay(buf []byte, t time.Time) []byte {
	year, month, day := t.Date()
	if year < 0 {
		buf = append(buf, '-')
		year = -year
	}
	buf = appendPadded(buf, year, 4)
	buf = append(buf, '-')
	buf = appendPadded(buf, int(month), 2)
	buf = append(buf, '-')
	return appendPadded(buf, day, 2)
}

// appendClock writes HH:mm:ss.SSS'Z'.
func appendClock(buf []byte, t time.Time) []byte {
	hour, minute, second := t.Clock()
	buf = appendPadded(buf, hour, 2)
	buf = append(buf, ':')
	buf = appendPadded(buf, minute, 2)
	buf = append(buf, ':')
	buf = appendPadded(buf, second, 2)
	buf = append(buf, '.')
	buf = appendPadded(buf, t.Nanosecond()/int(time.Millisecond), 3)
	return append(buf, 'Z')
}

func appendPadded(buf []byte, v, width int) []byte {
	digits := strconv.Itoa(v)
	for i := len(digits); i < width; i++ {
		buf = append(buf, '0')
	}
	return append(buf, digits...)
}
