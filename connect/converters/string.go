package converters

import (
	"fmt"
	"strings"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// EncodingConfig names the string converter's character set (Kafka's
// converter.encoding). fjord supports UTF-8, its default, only.
const EncodingConfig = "converter.encoding"

// StringConverter is Kafka's StringConverter: it writes any value as its
// string form in UTF-8 and reads bytes as a string of schema
// connect.OptionalStringSchema. Strings are written as they are, floats as
// Java prints them, other values as fmt.Sprint (Struct and Decimal in
// Kafka's forms). Bytes that are not valid UTF-8 are read with U+FFFD in
// place of each bad sequence, as Java's decoder does. The zero value is
// ready to use.
type StringConverter struct{}

// Configure checks converter.encoding: only UTF-8 (any case, with or
// without the dash) is supported.
func (StringConverter) Configure(config map[string]string, _ bool) error {
	if enc, ok := config[EncodingConfig]; ok {
		switch strings.ToUpper(strings.TrimSpace(enc)) {
		case "UTF-8", "UTF8":
		default:
			return fmt.Errorf("string converter: %s %q is not supported: fjord supports UTF-8 only", EncodingConfig, enc)
		}
	}
	return nil
}

// ConfigureHeaders configures the converter for header values.
func (c StringConverter) ConfigureHeaders(config map[string]string) error {
	return c.Configure(config, false)
}

// FromConnectData writes value's string form; the schema is ignored, and
// nil gives nil.
func (StringConverter) FromConnectData(_ string, _ *connect.RecordHeaders, _ *connect.Schema, value any) ([]byte, error) {
	switch v := value.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case float32:
		return []byte(javafmt.Float(v)), nil
	case float64:
		return []byte(javafmt.Double(v)), nil
	}
	return []byte(fmt.Sprint(value)), nil
}

// ToConnectData reads data as an optional string; nil stays null.
func (StringConverter) ToConnectData(_ string, _ connect.RecordHeaders, data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{Schema: connect.OptionalStringSchema}, nil
	}
	return connect.SchemaAndValue{Schema: connect.OptionalStringSchema, Value: strings.ToValidUTF8(string(data), "\uFFFD")}, nil
}

// FromConnectHeader writes a header value as FromConnectData does.
func (c StringConverter) FromConnectHeader(topic, _ string, schema *connect.Schema, value any) ([]byte, error) {
	return c.FromConnectData(topic, nil, schema, value)
}

// ToConnectHeader reads a header value as ToConnectData does.
func (c StringConverter) ToConnectHeader(topic, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.ToConnectData(topic, nil, data)
}

// ByteArrayConverter is Kafka's ByteArrayConverter: it passes []byte
// through. Values must be []byte with a nil or bytes schema; data is read
// as connect.OptionalBytesSchema. The zero value is ready to use.
type ByteArrayConverter struct{}

// Configure does nothing: the converter has no configuration.
func (ByteArrayConverter) Configure(map[string]string, bool) error { return nil }

// ConfigureHeaders does nothing.
func (ByteArrayConverter) ConfigureHeaders(map[string]string) error { return nil }

// FromConnectData returns value, which must be []byte or nil.
func (ByteArrayConverter) FromConnectData(topic string, _ *connect.RecordHeaders, schema *connect.Schema, value any) ([]byte, error) {
	if schema != nil && schema.Type() != connect.TypeBytes {
		return nil, dataError("byte array converter", topic, fmt.Errorf("invalid schema type %s", schema.Type()))
	}
	switch v := value.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	}
	return nil, dataError("byte array converter", topic, fmt.Errorf("cannot convert %T, only []byte", value))
}

// ToConnectData returns data as an optional bytes value.
func (ByteArrayConverter) ToConnectData(_ string, _ connect.RecordHeaders, data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema}, nil
	}
	return connect.SchemaAndValue{Schema: connect.OptionalBytesSchema, Value: data}, nil
}

// FromConnectHeader writes a header value as FromConnectData does.
func (c ByteArrayConverter) FromConnectHeader(topic, _ string, schema *connect.Schema, value any) ([]byte, error) {
	return c.FromConnectData(topic, nil, schema, value)
}

// ToConnectHeader reads a header value as ToConnectData does.
func (c ByteArrayConverter) ToConnectHeader(topic, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.ToConnectData(topic, nil, data)
}

// The converters satisfy the interfaces a worker uses.
var (
	_ connect.Converter       = (*JSONConverter)(nil)
	_ connect.HeaderConverter = (*JSONConverter)(nil)
	_ connect.Converter       = StringConverter{}
	_ connect.HeaderConverter = StringConverter{}
	_ connect.Converter       = ByteArrayConverter{}
	_ connect.HeaderConverter = ByteArrayConverter{}
)
