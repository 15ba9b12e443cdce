package connect

import (
	"fmt"
	"strings"
)

// Struct is a value of a struct schema: one value per field, checked
// against the field's schema when put (Kafka's Struct).
//
//	user := connect.NewStruct(userSchema)
//	if err := user.Put("id", int64(42)); err != nil { ... }
//	id := user.Get("id").(int64)
//
// A Struct is not safe for concurrent writes; once in a record, treat it as
// immutable.
type Struct struct {
	schema *Schema
	values []any
}

// NewStruct returns a struct of the given schema with every field null. A
// schema that is not of TypeStruct gives a Struct that every Put and
// Validate refuses.
func NewStruct(schema *Schema) *Struct {
	s := &Struct{schema: schema}
	if schema != nil {
		s.values = make([]any, len(schema.fields))
	}
	return s
}

// Schema returns the struct's schema.
func (s *Struct) Schema() *Schema { return s.schema }

func (s *Struct) field(name string) (Field, error) {
	if s.schema == nil || s.schema.typ != TypeStruct {
		return Field{}, fmt.Errorf("%w: not a struct schema: %s", ErrInvalidData, s.schema)
	}
	f, ok := s.schema.Field(name)
	if !ok {
		return Field{}, fmt.Errorf("%w: %s is not a valid field name", ErrInvalidData, name)
	}
	return f, nil
}

// Put sets a field after checking the value against the field's schema
// (see ValidateValue). nil clears an optional field; Get then returns its
// default, if it has one.
func (s *Struct) Put(name string, value any) error {
	f, err := s.field(name)
	if err != nil {
		return err
	}
	if err := validateValue(f.Schema, value, 0); err != nil {
		return fmt.Errorf("%w: field %q: %w", ErrInvalidData, name, err)
	}
	s.values[f.Index] = value
	return nil
}

// Get returns a field's value, or its schema's default where the value is
// null. It returns nil for a name that is not a field: use
// Schema().Field to tell.
func (s *Struct) Get(name string) any {
	v := s.GetWithoutDefault(name)
	if v == nil {
		if f, err := s.field(name); err == nil {
			return f.Schema.defaultValue
		}
	}
	return v
}

// GetWithoutDefault returns a field's value as put, nil when unset, without
// falling back to the default (converters use it to write nulls as nulls).
func (s *Struct) GetWithoutDefault(name string) any {
	f, err := s.field(name)
	if err != nil {
		return nil
	}
	return s.values[f.Index]
}

// Validate checks that every field holds a valid value: required fields
// without a default must be set.
func (s *Struct) Validate() error {
	if err := s.validate(0); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return nil
}

func (s *Struct) validate(depth int) error {
	if s.schema == nil || s.schema.typ != TypeStruct {
		return fmt.Errorf("not a struct schema: %s", s.schema)
	}
	for _, f := range s.schema.fields {
		v := s.values[f.Index]
		if v == nil && (f.Schema.optional || f.Schema.defaultValue != nil) {
			continue
		}
		if err := validateValue(f.Schema, v, depth); err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return nil
}

// Equal reports whether two structs have equal schemas and field values.
func (s *Struct) Equal(o *Struct) bool {
	if s == o {
		return true
	}
	if s == nil || o == nil || !s.schema.Equal(o.schema) || len(s.values) != len(o.values) {
		return false
	}
	for i, v := range s.values {
		if !valuesEqual(v, o.values[i]) {
			return false
		}
	}
	return true
}

// String formats the struct as Kafka does, leaving out null fields:
// Struct{id=42,email=a@example.com}.
func (s *Struct) String() string {
	var b strings.Builder
	b.WriteString("Struct{")
	first := true
	for i, v := range s.values {
		if v == nil {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(s.schema.fields[i].Name)
		b.WriteByte('=')
		b.WriteString(formatValue(v))
	}
	b.WriteByte('}')
	return b.String()
}
