package connect

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Type is the type of a Connect schema (Kafka's Schema.Type). The
// constants carry a Type prefix because Struct is also the type of struct
// values.
type Type int8

// The schema types. The zero Type is invalid, so that a forgotten type is
// caught when a schema is built.
const (
	TypeInt8 Type = iota + 1
	TypeInt16
	TypeInt32
	TypeInt64
	TypeFloat32
	TypeFloat64
	TypeBoolean
	TypeString
	TypeBytes
	TypeArray
	TypeMap
	TypeStruct
)

var typeNames = [...]string{
	TypeInt8: "int8", TypeInt16: "int16", TypeInt32: "int32", TypeInt64: "int64",
	TypeFloat32: "float32", TypeFloat64: "float64", TypeBoolean: "boolean", TypeString: "string",
	TypeBytes: "bytes", TypeArray: "array", TypeMap: "map", TypeStruct: "struct",
}

// String returns Kafka's name of the type: "int8", ..., "struct".
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int8(t))
}

func (t Type) valid() bool { return t >= TypeInt8 && t <= TypeStruct }

// primitive reports whether the type holds no other schemas.
func (t Type) primitive() bool { return t.valid() && t < TypeArray }

// javaName is the enum constant Kafka prints in messages: "INT32".
func (t Type) javaName() string { return strings.ToUpper(t.String()) }

// Schema describes a Connect value: its type, whether it may be null, a
// default, a name and version for named (and logical) types, documentation,
// parameters, the fields of a struct, the key and value schemas of a map and
// the element schema of an array (Kafka's ConnectSchema).
//
// A Schema is immutable once built (with SchemaBuilder), so one value is
// shared freely between records and goroutines. Its accessors return
// copies where they return slices.
type Schema struct {
	typ          Type
	optional     bool
	defaultValue any
	name         string
	version      int32
	hasVersion   bool
	doc          string
	params       []Parameter // in insertion order, keys unique
	fields       []Field
	fieldIndex   map[string]int
	keySchema    *Schema
	valueSchema  *Schema
}

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Index  int // position in the struct, from 0
	Schema *Schema
}

// Parameter is one schema parameter. Parameters keep the order in which
// they were set, as Kafka's do, so that converters write them in that order.
type Parameter struct {
	Key, Value string
}

// Predefined schemas of the primitive types (Kafka's Schema.INT8_SCHEMA,
// Schema.OPTIONAL_INT8_SCHEMA, ...). They are immutable values.
var (
	Int8Schema    = &Schema{typ: TypeInt8}
	Int16Schema   = &Schema{typ: TypeInt16}
	Int32Schema   = &Schema{typ: TypeInt32}
	Int64Schema   = &Schema{typ: TypeInt64}
	Float32Schema = &Schema{typ: TypeFloat32}
	Float64Schema = &Schema{typ: TypeFloat64}
	BooleanSchema = &Schema{typ: TypeBoolean}
	StringSchema  = &Schema{typ: TypeString}
	BytesSchema   = &Schema{typ: TypeBytes}

	OptionalInt8Schema    = &Schema{typ: TypeInt8, optional: true}
	OptionalInt16Schema   = &Schema{typ: TypeInt16, optional: true}
	OptionalInt32Schema   = &Schema{typ: TypeInt32, optional: true}
	OptionalInt64Schema   = &Schema{typ: TypeInt64, optional: true}
	OptionalFloat32Schema = &Schema{typ: TypeFloat32, optional: true}
	OptionalFloat64Schema = &Schema{typ: TypeFloat64, optional: true}
	OptionalBooleanSchema = &Schema{typ: TypeBoolean, optional: true}
	OptionalStringSchema  = &Schema{typ: TypeString, optional: true}
	OptionalBytesSchema   = &Schema{typ: TypeBytes, optional: true}
)

// InferType is the schema type of a schemaless value, as Kafka's
// ConnectSchema.schemaType finds it from the value's class; 0 for a Go
// type Connect data does not use.
func InferType(v any) Type {
	switch v.(type) {
	case int8:
		return TypeInt8
	case int16:
		return TypeInt16
	case int32:
		return TypeInt32
	case int64:
		return TypeInt64
	case float32:
		return TypeFloat32
	case float64:
		return TypeFloat64
	case bool:
		return TypeBoolean
	case string:
		return TypeString
	case []byte:
		return TypeBytes
	case []any:
		return TypeArray
	case map[any]any:
		return TypeMap
	case *Struct:
		return TypeStruct
	}
	return 0
}

// Type returns the schema's type.
func (s *Schema) Type() Type { return s.typ }

// Optional reports whether a value of this schema may be null (nil).
func (s *Schema) Optional() bool { return s.optional }

// Default returns the default value, or nil if there is none.
func (s *Schema) Default() any { return s.defaultValue }

// Name returns the schema's name ("" if none), for example a record name or
// a logical type such as DecimalName.
func (s *Schema) Name() string { return s.name }

// Version returns the schema's version and whether it has one.
func (s *Schema) Version() (int32, bool) { return s.version, s.hasVersion }

// Doc returns the schema's documentation ("" if none).
func (s *Schema) Doc() string { return s.doc }

// Parameters returns a copy of the parameters in the order they were set.
func (s *Schema) Parameters() []Parameter { return slices.Clone(s.params) }

// Parameter returns the value of the parameter key and whether it is set.
func (s *Schema) Parameter(key string) (string, bool) {
	for _, p := range s.params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Fields returns a copy of a struct schema's fields in order (nil for
// other types).
func (s *Schema) Fields() []Field { return slices.Clone(s.fields) }

// Field returns the struct field called name and whether there is one.
func (s *Schema) Field(name string) (Field, bool) {
	i, ok := s.fieldIndex[name]
	if !ok {
		return Field{}, false
	}
	return s.fields[i], true
}

// KeySchema returns the schema of a map's keys (nil for other types).
func (s *Schema) KeySchema() *Schema { return s.keySchema }

// ValueSchema returns the schema of a map's values or an array's elements
// (nil for other types).
func (s *Schema) ValueSchema() *Schema { return s.valueSchema }

// String returns Kafka's short form: Schema{INT32} or Schema{name:STRUCT}.
func (s *Schema) String() string {
	if s == nil {
		return "Schema{null}"
	}
	if s.name != "" {
		return "Schema{" + s.name + ":" + s.typ.javaName() + "}"
	}
	return "Schema{" + s.typ.javaName() + "}"
}

// Equal reports whether two schemas describe the same thing: same type,
// optionality, default, name, version, doc, parameters (in any order),
// fields, key and value schemas, as Kafka's ConnectSchema.equals.
func (s *Schema) Equal(o *Schema) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil {
		return false
	}
	if s.typ != o.typ || s.optional != o.optional || s.name != o.name || s.doc != o.doc ||
		s.hasVersion != o.hasVersion || s.version != o.version || len(s.fields) != len(o.fields) {
		return false
	}
	if !maps.Equal(paramMap(s.params), paramMap(o.params)) {
		return false
	}
	for i, f := range s.fields {
		if f.Name != o.fields[i].Name || !f.Schema.Equal(o.fields[i].Schema) {
			return false
		}
	}
	return s.keySchema.Equal(o.keySchema) && s.valueSchema.Equal(o.valueSchema) &&
		valuesEqual(s.defaultValue, o.defaultValue)
}

func paramMap(params []Parameter) map[string]string {
	m := make(map[string]string, len(params))
	for _, p := range params {
		m[p.Key] = p.Value
	}
	return m
}

// SchemaAndValue is a value with its schema, as converters return them. A
// nil Schema means the value has none (schemaless data); both nil is
// Kafka's null, for example a tombstone.
type SchemaAndValue struct {
	Schema *Schema
	Value  any
}
