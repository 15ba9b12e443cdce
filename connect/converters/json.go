package converters

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// The JSON converter's configuration keys, Kafka's JsonConverterConfig.
const (
	// SchemasEnableConfig: write and expect the {"schema","payload"}
	// envelope (default true). Without it values are plain JSON, read back
	// schemaless.
	SchemasEnableConfig = "schemas.enable"
	// SchemasCacheSizeConfig is accepted for compatibility; fjord keeps no
	// schema cache.
	SchemasCacheSizeConfig = "schemas.cache.size"
	// DecimalFormatConfig: BASE64 (default) writes decimals as the base64
	// of their unscaled bytes, NUMERIC as JSON numbers.
	DecimalFormatConfig = "decimal.format"
	// ReplaceNullWithDefaultConfig: write and read a null that has a
	// default as the default (default true).
	ReplaceNullWithDefaultConfig = "replace.null.with.default"
)

// JSONConverter is Kafka's JsonConverter: it writes Connect data as JSON,
// by default inside an envelope that carries the schema,
//
//	{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"}],"optional":false},"payload":{"id":42}}
//
// byte for byte as Kafka writes it, and reads what Kafka writes. Without
// schemas (schemas.enable=false) it writes the payload alone and reads any
// JSON schemaless: integers as int64, other numbers as float64, objects as
// map[any]any with string keys, arrays as []any.
//
// Where Kafka is lax, fjord refuses: a payload of the wrong JSON type (a
// string for an int32, 1.5 for an int64, 300 for an int8) is an error where
// Kafka would convert it to 0 or truncate it; a NUMERIC decimal that needs
// rounding to its schema's scale is an error where Kafka keeps the wrong
// scale; data after the JSON value is an error where Kafka ignores it. Maps
// whose keys are bytes, arrays or maps, which Go maps cannot hold, are
// refused. Schemaless maps are written with sorted keys, so that equal
// values give equal bytes (Kafka's order is a hash map's).
//
// The zero value is configured with Kafka's defaults. Configure, if
// called, must come before use; the conversions are then safe for
// concurrent use.
type JSONConverter struct {
	// The fields hold the opposites of Kafka's defaults, so that the zero
	// value is the default configuration.
	schemasDisabled  bool
	numericDecimals  bool
	keepNullNotDeflt bool
}

// Config returns the converter's configuration keys, with Kafka's names,
// types and defaults.
func (c *JSONConverter) Config() *connect.ConfigDef {
	const group = "Schemas"
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: SchemasEnableConfig, Type: connect.ConfigBoolean, Default: true,
			Importance: connect.High, Group: group, OrderInGroup: 1, Width: connect.WidthMedium,
			DisplayName: "Enable Schemas", Documentation: "Whether to write each key and value inside an envelope with its schema, and to expect one when reading."}).
		Define(connect.ConfigKey{Name: SchemasCacheSizeConfig, Type: connect.ConfigInt, Default: 1000,
			Importance: connect.High, Group: group, OrderInGroup: 2, Width: connect.WidthMedium,
			DisplayName: "Schema Cache Size", Documentation: "The most schemas a converter may cache (accepted for compatibility; fjord keeps no cache)."}).
		Define(connect.ConfigKey{Name: DecimalFormatConfig, Type: connect.ConfigString, Default: "BASE64",
			Validator: connect.OneOfIgnoreCase("BASE64", "NUMERIC"), Importance: connect.Low, Group: group,
			OrderInGroup: 3, Width: connect.WidthMedium, DisplayName: "Decimal Format",
			Documentation: "How to write decimals: BASE64 as the base64 of their unscaled two's complement bytes, NUMERIC as JSON numbers."}).
		Define(connect.ConfigKey{Name: ReplaceNullWithDefaultConfig, Type: connect.ConfigBoolean, Default: true,
			Importance: connect.Low, Group: group, OrderInGroup: 4, Width: connect.WidthMedium,
			DisplayName: "Replace null with default", Documentation: "Whether a null whose schema has a default is written and read as the default."})
}

// Configure applies the converter's keys from config; other keys are
// ignored. isKey does not change the JSON converter's behaviour.
func (c *JSONConverter) Configure(config map[string]string, isKey bool) error {
	cfg, err := c.Config().Parse(config)
	if err != nil {
		return fmt.Errorf("json converter: %w", err)
	}
	c.schemasDisabled = !cfg.GetBoolean(SchemasEnableConfig)
	c.numericDecimals = strings.EqualFold(cfg.GetString(DecimalFormatConfig), "NUMERIC")
	c.keepNullNotDeflt = !cfg.GetBoolean(ReplaceNullWithDefaultConfig)
	return nil
}

// ConfigureHeaders configures the converter for header values, with the
// same keys.
func (c *JSONConverter) ConfigureHeaders(config map[string]string) error {
	return c.Configure(config, false)
}

// FromConnectData writes value of the given schema as JSON. A nil schema
// and value give nil (a tombstone); a nil value with a schema gives a null
// payload (or the default), as in Kafka.
func (c *JSONConverter) FromConnectData(topic string, _ *connect.RecordHeaders, schema *connect.Schema, value any) ([]byte, error) {
	if schema == nil && value == nil {
		return nil, nil
	}
	e := encoder{numericDecimals: c.numericDecimals, replaceNull: !c.keepNullNotDeflt}
	var err error
	if c.schemasDisabled {
		err = e.value(schema, value, 0)
	} else {
		e.buf = append(e.buf, `{"schema":`...)
		if err = e.schema(schema, 0); err == nil {
			e.buf = append(e.buf, `,"payload":`...)
			err = e.value(schema, value, 0)
			e.buf = append(e.buf, '}')
		}
	}
	if err != nil {
		return nil, dataError("json converter", topic, err)
	}
	return e.buf, nil
}

// ToConnectData reads JSON written by Kafka's JsonConverter or by
// FromConnectData. nil data gives a null value.
func (c *JSONConverter) ToConnectData(topic string, _ connect.RecordHeaders, data []byte) (connect.SchemaAndValue, error) {
	sv, err := c.toConnectData(data)
	if err != nil {
		return connect.SchemaAndValue{}, dataError("json converter", topic, err)
	}
	return sv, nil
}

func (c *JSONConverter) toConnectData(data []byte) (connect.SchemaAndValue, error) {
	if data == nil {
		return connect.SchemaAndValue{}, nil
	}
	d := decoder{replaceNull: !c.keepNullNotDeflt}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		// Jackson reads no value from empty input: schemaless, that is a
		// null; with schemas, an envelope is missing.
		if c.schemasDisabled {
			return connect.SchemaAndValue{}, nil
		}
		return connect.SchemaAndValue{}, errNoEnvelope
	}
	root, err := parseJSON(data)
	if err != nil {
		return connect.SchemaAndValue{}, err
	}
	if c.schemasDisabled {
		v, err := d.value(nil, root, 0)
		return connect.SchemaAndValue{Value: v}, err
	}
	if !isEnvelope(root) {
		return connect.SchemaAndValue{}, errNoEnvelope
	}
	schema, err := d.schema(root.get("schema"), 0)
	if err != nil {
		return connect.SchemaAndValue{}, err
	}
	v, err := d.value(schema, root.get("payload"), 0)
	if err != nil {
		return connect.SchemaAndValue{}, err
	}
	return connect.SchemaAndValue{Schema: schema, Value: v}, nil
}

var errNoEnvelope = fmt.Errorf("with %s=true, JSON must be an object with exactly the fields \"schema\" and \"payload\"; "+
	"to read plain JSON, set %s=false", SchemasEnableConfig, SchemasEnableConfig)

// isEnvelope reports whether v is an object whose member names are exactly
// "schema" and "payload" (each possibly repeated, as Jackson keeps the
// last).
func isEnvelope(v *jsonValue) bool {
	if v.kind != jsonObject || v.get("schema") == nil || v.get("payload") == nil {
		return false
	}
	for _, m := range v.members {
		if m.key != "schema" && m.key != "payload" {
			return false
		}
	}
	return true
}

// dataError adds context to a conversion error, which wraps
// connect.ErrInvalidData once.
func dataError(converter, topic string, err error) error {
	if errors.Is(err, connect.ErrInvalidData) {
		return fmt.Errorf("%s: topic %s: %w", converter, topic, err)
	}
	return fmt.Errorf("%w: %s: topic %s: %w", connect.ErrInvalidData, converter, topic, err)
}

// FromConnectHeader writes a header value as FromConnectData does.
func (c *JSONConverter) FromConnectHeader(topic, _ string, schema *connect.Schema, value any) ([]byte, error) {
	return c.FromConnectData(topic, nil, schema, value)
}

// ToConnectHeader reads a header value as ToConnectData does.
func (c *JSONConverter) ToConnectHeader(topic, _ string, data []byte) (connect.SchemaAndValue, error) {
	return c.ToConnectData(topic, nil, data)
}
