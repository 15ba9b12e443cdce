package connect

import (
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidSchema is wrapped by the errors of SchemaBuilder.Build (Kafka's
// SchemaBuilderException).
var ErrInvalidSchema = errors.New("connect: invalid schema")

// SchemaBuilder builds a Schema step by step, as Kafka's SchemaBuilder:
//
//	s, err := connect.NewSchemaBuilder(connect.TypeStruct).Name("com.example.User").
//		Field("id", connect.Int64Schema).
//		Field("email", connect.OptionalStringSchema).
//		Build()
//
// Mistakes (a field on a non-struct type, a duplicate field, a default that
// does not fit) are kept and returned by Build, so calls chain. A builder
// is not safe for concurrent use; the schemas it builds are.
type SchemaBuilder struct {
	s   Schema
	err error
}

// NewSchemaBuilder starts a schema of type t, required and without default.
// Use ArrayOf and MapOf for arrays and maps.
func NewSchemaBuilder(t Type) *SchemaBuilder {
	b := &SchemaBuilder{s: Schema{typ: t}}
	switch {
	case !t.valid():
		b.fail("unknown type %d", int8(t))
	case t == TypeArray || t == TypeMap:
		b.fail("%s schemas are started with ArrayOf or MapOf", t)
	}
	return b
}

// ArrayOf starts an array schema whose elements have schema valueSchema.
func ArrayOf(valueSchema *Schema) *SchemaBuilder {
	b := &SchemaBuilder{s: Schema{typ: TypeArray, valueSchema: valueSchema}}
	if valueSchema == nil {
		b.fail("array value schema is nil")
	}
	return b
}

// MapOf starts a map schema with the given key and value schemas.
func MapOf(keySchema, valueSchema *Schema) *SchemaBuilder {
	b := &SchemaBuilder{s: Schema{typ: TypeMap, keySchema: keySchema, valueSchema: valueSchema}}
	if keySchema == nil || valueSchema == nil {
		b.fail("map key and value schemas must not be nil")
	}
	return b
}

func (b *SchemaBuilder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("%w: %s", ErrInvalidSchema, fmt.Sprintf(format, args...))
	}
}

// Optional lets values of the schema be null (nil).
func (b *SchemaBuilder) Optional() *SchemaBuilder {
	b.s.optional = true
	return b
}

// Default sets the value used in place of null (see Struct.Get). It must be
// a valid value of the schema (see ValidateValue); struct schemas take no
// default, as in Kafka, where a struct default can never match its schema:
// give their fields defaults instead.
func (b *SchemaBuilder) Default(value any) *SchemaBuilder {
	b.s.defaultValue = value
	return b
}

// Name sets the schema's name, such as a record name or a logical type.
func (b *SchemaBuilder) Name(name string) *SchemaBuilder {
	b.s.name = name
	return b
}

// Version sets the schema's version.
func (b *SchemaBuilder) Version(version int32) *SchemaBuilder {
	b.s.version, b.s.hasVersion = version, true
	return b
}

// Doc sets the schema's documentation.
func (b *SchemaBuilder) Doc(doc string) *SchemaBuilder {
	b.s.doc = doc
	return b
}

// Parameter sets a parameter. Setting a key again replaces its value and
// keeps its place.
func (b *SchemaBuilder) Parameter(key, value string) *SchemaBuilder {
	for i, p := range b.s.params {
		if p.Key == key {
			b.s.params[i].Value = value
			return b
		}
	}
	b.s.params = append(b.s.params, Parameter{Key: key, Value: value})
	return b
}

// Field appends a field to a struct schema.
func (b *SchemaBuilder) Field(name string, schema *Schema) *SchemaBuilder {
	switch {
	case b.s.typ != TypeStruct:
		b.fail("cannot create fields on type %s", b.s.typ)
	case name == "":
		b.fail("field name is empty")
	case schema == nil:
		b.fail("schema of field %q is nil", name)
	case b.hasField(name):
		b.fail("duplicate field %q", name)
	default:
		if b.s.fieldIndex == nil {
			b.s.fieldIndex = map[string]int{}
		}
		b.s.fieldIndex[name] = len(b.s.fields)
		b.s.fields = append(b.s.fields, Field{Name: name, Index: len(b.s.fields), Schema: schema})
	}
	return b
}

func (b *SchemaBuilder) hasField(name string) bool {
	_, ok := b.s.fieldIndex[name]
	return ok
}

// Build returns the schema, or the first mistake made while building it.
// The builder may be reused; schemas already built do not change.
func (b *SchemaBuilder) Build() (*Schema, error) {
	if b.err != nil {
		return nil, b.err
	}
	s := b.s
	s.params = slices.Clone(s.params)
	s.fields = slices.Clone(s.fields)
	if s.fields != nil {
		s.fieldIndex = make(map[string]int, len(s.fields))
		for i, f := range s.fields {
			s.fieldIndex[f.Name] = i
		}
	}
	if s.defaultValue == nil {
		return &s, nil
	}
	if s.typ == TypeStruct {
		return nil, fmt.Errorf("%w: struct schema %s cannot have a default value", ErrInvalidSchema, s.String())
	}
	plain := s
	plain.defaultValue = nil
	if err := validateValue(&plain, s.defaultValue, 0); err != nil {
		return nil, fmt.Errorf("%w: invalid default value: %w", ErrInvalidSchema, err)
	}
	return &s, nil
}

// MustBuild is Build for schemas written in code, whose mistakes are
// programming errors: it panics where Build returns an error.
func (b *SchemaBuilder) MustBuild() *Schema {
	s, err := b.Build()
	if err != nil {
		panic(err)
	}
	return s
}
