package transforms

import (
	"fmt"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// Target is the part of a record that a Key or Value variant changes.
type Target int8

// The targets: Value is Kafka's $Value variant, Key its $Key variant.
const (
	Value Target = iota
	Key
)

// String returns "Key" or "Value".
func (t Target) String() string {
	if t == Key {
		return "Key"
	}
	return "Value"
}

// get returns the target's schema and value.
func (t Target) get(r connect.Record) (*connect.Schema, any) {
	if t == Key {
		return r.KeySchema, r.Key
	}
	return r.ValueSchema, r.Value
}

// with returns r with the target's schema and value replaced.
func (t Target) with(r connect.Record, schema *connect.Schema, value any) connect.Record {
	if t == Key {
		r.KeySchema, r.Key = schema, value
	} else {
		r.ValueSchema, r.Value = schema, value
	}
	return r
}

// versioned gives a transformation Kafka's Versioned.
type versioned struct{}

// Version returns the package's Version.
func (versioned) Version() string { return Version }

// replaceNullWithDefaultKey is Kafka's replace.null.with.default (KIP-1040).
func replaceNullWithDefaultKey() connect.ConfigKey {
	return connect.ConfigKey{Name: "replace.null.with.default", Type: connect.ConfigBoolean, Default: true,
		Importance: connect.Medium,
		Documentation: "Whether to replace fields that have a default value and that are null to the default value. " +
			"When set to true, the default value is used, otherwise null is used."}
}

// dataError is Kafka's DataException: an error wrapping
// connect.ErrInvalidData.
func dataError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", connect.ErrInvalidData, fmt.Sprintf(format, args...))
}

// configError wraps connect.ErrInvalidConfig, for problems Configure finds
// beyond its ConfigDef.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", connect.ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// javaClass names the Java class that Kafka's messages would show for a
// value of the Go type of v, so that messages read as Kafka's.
func javaClass(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case int8:
		return "java.lang.Byte"
	case int16:
		return "java.lang.Short"
	case int32:
		return "java.lang.Integer"
	case int64:
		return "java.lang.Long"
	case float32:
		return "java.lang.Float"
	case float64:
		return "java.lang.Double"
	case bool:
		return "java.lang.Boolean"
	case string:
		return "java.lang.String"
	case []byte:
		return "[B"
	case []any:
		return "java.util.ArrayList"
	case map[any]any:
		return "java.util.HashMap"
	case *connect.Struct:
		return "org.apache.kafka.connect.data.Struct"
	case connect.Decimal:
		return "java.math.BigDecimal"
	case time.Time:
		return "java.util.Date"
	}
	return fmt.Sprintf("%T", v)
}

// requireMap is Kafka's Requirements.requireMap.
func requireMap(v any, purpose string) (map[any]any, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, dataError("Only Map objects supported in absence of schema for [%s], found: %s", purpose, javaClass(v))
	}
	return m, nil
}

// requireStruct is Kafka's Requirements.requireStruct.
func requireStruct(v any, purpose string) (*connect.Struct, error) {
	s, ok := v.(*connect.Struct)
	if !ok || s == nil {
		return nil, dataError("Only Struct objects supported for [%s], found: %s", purpose, javaClass(v))
	}
	return s, nil
}

// requireSinkOffset is Kafka's Requirements.requireSinkRecord: the offset
// of a sink record.
func requireSinkOffset(r connect.Record, purpose string) (int64, error) {
	if r.Offset == nil {
		return 0, dataError("Only SinkRecord supported for [%s], found: org.apache.kafka.connect.source.SourceRecord", purpose)
	}
	return *r.Offset, nil
}

// copySchemaBasics starts b with the name, version, doc and parameters of
// source (Kafka's SchemaUtil.copySchemaBasics).
func copySchemaBasics(source *connect.Schema, b *connect.SchemaBuilder) *connect.SchemaBuilder {
	b.Name(source.Name()).Doc(source.Doc())
	if v, ok := source.Version(); ok {
		b.Version(v)
	}
	for _, p := range source.Parameters() {
		b.Parameter(p.Key, p.Value)
	}
	return b
}

// build builds a schema a transformation derived, as a data error.
func build(b *connect.SchemaBuilder) (*connect.Schema, error) {
	s, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", connect.ErrInvalidData, err)
	}
	return s, nil
}

// fieldValue reads a struct field with or without its default, as
// replace.null.with.default says.
func fieldValue(s *connect.Struct, name string, withDefault bool) any {
	if withDefault {
		return s.Get(name)
	}
	return s.GetWithoutDefault(name)
}

// schemaCacheSize is the size of Kafka's LRU caches of updated schemas.
const schemaCacheSize = 16

// schemaCache maps a schema to the one a transformation derived from it.
// Schemas are immutable, so their pointers are keys; a full cache starts
// afresh, which bounds it as Kafka's LRU cache is bounded.
type schemaCache map[*connect.Schema]*connect.Schema

func (c *schemaCache) get(s *connect.Schema) *connect.Schema { return (*c)[s] }

func (c *schemaCache) put(s, updated *connect.Schema) {
	if *c == nil || len(*c) >= schemaCacheSize {
		*c = make(schemaCache, schemaCacheSize)
	}
	(*c)[s] = updated
}

// javaSplit splits s at sep as Java's String.split does with a literal
// separator: trailing empty strings are removed, and "" splits to [""].
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 1 && parts[0] == "" && s != "" {
		return nil // s was all separators: Java returns an empty array
	}
	return parts
}

// putAll puts values into a new struct of schema, failing on the first
// value the schema refuses. Null values leave their fields unset.
func putAll(schema *connect.Schema, values map[string]any) (*connect.Struct, error) {
	out := connect.NewStruct(schema)
	for _, f := range schema.Fields() {
		if v := values[f.Name]; v != nil {
			if err := out.Put(f.Name, v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// The schemas of Kafka's logical types that transformations produce.
var (
	timestampSchema         = connect.TimestampBuilder().MustBuild()
	optionalTimestampSchema = connect.TimestampBuilder().Optional().MustBuild()
	dateSchema              = connect.DateBuilder().MustBuild()
	optionalDateSchema      = connect.DateBuilder().Optional().MustBuild()
	timeSchema              = connect.TimeBuilder().MustBuild()
	optionalTimeSchema      = connect.TimeBuilder().Optional().MustBuild()
)

// toJavaDate is t as a java.util.Date holds it: milliseconds, in UTC.
func toJavaDate(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }
