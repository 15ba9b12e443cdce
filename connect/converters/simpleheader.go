package converters

import (
	"fmt"
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// SimpleHeaderConverter is Kafka's SimpleHeaderConverter, the default
// header.converter of a worker: it writes header values as text and reads
// text back as the most specific value it can, inferring a schema, with the
// rules of Kafka's Values.convertToString and Values.parseString. The zero
// value is ready to use and safe for concurrent use.
//
// Writing (FromConnectHeader): a null value is a null header (nil bytes).
// Strings are written as they are; integers, booleans and floats in Java's
// forms (1.5, 1.0E10); a Decimal as Java's BigDecimal.toString; bytes in
// base64; dates, times and timestamps as 2019-08-23, 14:34:54.346Z and
// 2019-08-23T14:34:54.346Z (UTC). Arrays, maps and structs are written as
// [1,2], {"a":1} and {"field":value}, with the strings inside them quoted
// and their backslashes and double quotes escaped with a backslash.
//
// Reading (ToConnectHeader): nil is null, and so is the text null; ""
// is an empty string; true and false are booleans. A number is the smallest
// of int8, int16, int32 and int64 that holds it when it is whole ("1.0" is
// an int8); otherwise a float32 (rounded: "3.14159265358979" is a float32
// too), a float64 where float32 overflows, and a Decimal where float64
// overflows or where a whole number beyond int64 has neither fraction nor
// exponent. The three literals above are dates, times and timestamps, also
// inside double quotes and with colons escaped (14\:34\:54.346Z). [...] is
// an array and {...} a map of values separated by commas; strings inside
// them must be quoted. Their elements take a common schema where Kafka
// finds one: numbers widen to the widest (int8 and float32 give float32),
// and the values are converted to it. Anything else, including a malformed
// array or map, is a string holding the whole header. As in Kafka, what
// follows a complete value is ignored: "12:30" is the int8 12.
//
// Text does not always read back as written: the string "42" reads back as
// an int8, "null" as null, and a float that is whole (1.0) as an integer.
// That is Kafka's format; a consumer that needs exact types must use
// another header converter.
//
// Where fjord differs from Kafka, on purpose:
//
//   - Quoted strings inside arrays and maps have the writer's escaping
//     undone (\\ and \" read as \ and ") and keep all their whitespace, so
//     that they read back as written. Kafka keeps the backslashes and drops
//     runs of whitespace between delimiters, so its strings grow with each
//     round trip.
//   - Kafka gives an array or map with no common element schema (empty,
//     only nulls, or mixed, such as [1,"a"]) an array or map schema without
//     an element schema, which connect.Schema cannot express: fjord reads it
//     with a nil schema (schemaless). The same goes where Kafka's common
//     schema does not fit the values, as Kafka picks the last of two schemas
//     of one type ([[1],["a"]] is an array of arrays of strings to Kafka).
//   - Where neither fits the values — a date or Decimal in a schemaless
//     value, decimals of different scales, a date and a time under one
//     schema, a map key that is an array or a map (which Go maps cannot
//     hold) — the header reads as its string, as it does in Kafka when
//     converting the elements fails.
//   - Dates, times and timestamps are read only when well formed (ASCII
//     digits, fields in range), in UTC and the proleptic Gregorian calendar.
//     Kafka parses them with a lenient SimpleDateFormat in the JVM's time
//     zone: it also takes out-of-range fields (2019-02-30 is March 2), other
//     field widths and trailing characters, and uses the Julian calendar
//     before 1582. A number turned into a date or timestamp outside the
//     years 0 to 9999, which these forms cannot write back, makes the header
//     a string.
//   - A date, time or timestamp is written in the form of its schema, so it
//     reads back with that schema. Kafka chooses the form from the instant:
//     a timestamp at midnight reads back as a date, and any instant before
//     1970-01-02 is written as its time of day alone, losing the date.
//     Without a logical schema fjord follows Kafka's rule, but writes
//     instants before 1970 in full. A Time of 24:00 is written 24:00:00.000Z.
//   - A header that starts with whitespace and holds a malformed array or
//     map is the whole header as a string; Kafka keeps only the whitespace.
//   - Maps are written with their entries sorted, as Go maps have no order;
//     Kafka writes them in the map's own order.
//   - Arrays and maps nest at most maxHeaderDepth (64) levels, and a
//     Decimal has at most connect's limit of digits and an exponent that
//     Java can write back (not 10e2147483647, written 1.0E+2147483648):
//     beyond, the header is a string. Kafka recurses until its stack overflows, or computes
//     10^exponent until memory runs out, and then returns the raw bytes with
//     a bytes schema; fjord never needs that fallback.
type SimpleHeaderConverter struct{}

// Config returns the converter's configuration keys: none, as in Kafka.
func (SimpleHeaderConverter) Config() *connect.ConfigDef { return connect.NewConfigDef() }

// ConfigureHeaders accepts and ignores any configuration, as Kafka's
// converter does: it always writes and reads UTF-8.
func (SimpleHeaderConverter) ConfigureHeaders(map[string]string) error { return nil }

// ToConnectHeader reads a header value as described on the type. Bytes that
// are not valid UTF-8 are read with U+FFFD in their place, as
// StringConverter does. It never fails: text that is no other value is a
// string.
func (SimpleHeaderConverter) ToConnectHeader(_, _ string, data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{}, nil
	}
	return parseHeaderText(strings.ToValidUTF8(string(data), "\uFFFD")), nil
}

// FromConnectHeader writes a header value as described on the type; nil
// gives nil (a null header). The schema only chooses the form of dates and
// times; values must be the Go types of connect.ValidateValue, and any
// other type is an error wrapping connect.ErrInvalidData.
func (SimpleHeaderConverter) FromConnectHeader(topic, headerKey string, schema *connect.Schema, value any) ([]byte, error) {
	if isNullValue(value) {
		return nil, nil
	}
	var w headerWriter
	if err := w.write(schema, value, false, 0); err != nil {
		return nil, dataError("simple header converter", topic, fmt.Errorf("header %q: %w", headerKey, err))
	}
	if w.buf == nil {
		// An empty string is an empty header, not a null one.
		w.buf = []byte{}
	}
	return w.buf, nil
}

// isNullValue reports whether v is Kafka's null: nil, or a nil *Struct,
// which is how a Go caller may hold a null struct.
func isNullValue(v any) bool {
	s, isStruct := v.(*connect.Struct)
	return v == nil || isStruct && s == nil
}

// parseHeaderText reads text as Values.parseString does and turns Kafka's
// result into one connect.ValidateValue accepts: with its schema where
// that can be expressed and fits, else schemaless, else the whole text as
// a string (see the type's notes on differences).
func parseHeaderText(text string) connect.SchemaAndValue {
	if text == "" {
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: ""}
	}
	p := headerParser{tokens: headerTokenizer{text: text}}
	v, err := p.parse(false, 0)
	if err != nil {
		// Unreachable: a top-level parse reverts to a string rather than
		// fail. Kept so that a future change cannot turn text into an error.
		return connect.SchemaAndValue{Schema: connect.StringSchema, Value: text}
	}
	if v == nil {
		return connect.SchemaAndValue{}
	}
	if schema, ok := v.schema.connectSchema(); ok && connect.ValidateValue(schema, v.value) == nil {
		return connect.SchemaAndValue{Schema: schema, Value: v.value}
	}
	if v.schema.container() && connect.ValidateValue(nil, v.value) == nil {
		return connect.SchemaAndValue{Value: v.value}
	}
	return connect.SchemaAndValue{Schema: connect.StringSchema, Value: text}
}

var _ connect.HeaderConverter = SimpleHeaderConverter{}
