package transforms

import (
	"errors"
	"maps"
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// Cast is Kafka's Cast: it casts fields of a struct or map, or the whole
// key or value, to another primitive type. The spec lists field:type pairs
// ("age:int64,price:float64"), or a single type for the whole value.
// Integers, floats, booleans and strings cast to each other; bytes cast to
// strings (base64); a Decimal casts as a number; a Date, Time or Timestamp
// casts as its encoded number, or to a string in ISO 8601. Null keys or
// values pass unchanged.
type Cast struct {
	versioned
	target                 Target
	spec                   castSpec
	replaceNullWithDefault bool
	cache                  schemaCache
}

// NewCast returns an unconfigured Cast$Key or $Value.
func NewCast(target Target) *Cast { return &Cast{target: target} }

const castPurpose = "cast types"

// castSpec is a parsed spec: a type for the whole value, or per field.
type castSpec struct {
	whole  connect.Type // 0 unless the whole value is cast
	fields map[string]connect.Type
}

// The types a cast reads and writes, in Kafka's order for its messages.
var (
	castInputTypes = []connect.Type{connect.TypeInt8, connect.TypeInt16, connect.TypeInt32, connect.TypeInt64,
		connect.TypeFloat32, connect.TypeFloat64, connect.TypeBoolean, connect.TypeString, connect.TypeBytes}
	castOutputTypes = castInputTypes[:len(castInputTypes)-1]
)

// javaTypeNames lists types as Java prints an EnumSet: [INT8, INT16].
func javaTypeNames(types []connect.Type) string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = strings.ToUpper(t.String())
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// parseCastType reads a type name in any case, as Schema.Type.valueOf of
// its upper case, and checks that a cast can produce it.
func parseCastType(name string) (connect.Type, error) {
	name = strings.TrimSpace(name)
	for t := connect.TypeInt8; t <= connect.TypeStruct; t++ {
		if strings.EqualFold(t.String(), name) {
			for _, ok := range castOutputTypes {
				if t == ok {
					return t, nil
				}
			}
			return 0, errors.New("Cast transformation does not support casting to " +
				strings.ToUpper(t.String()) + "; supported types are " + javaTypeNames(castOutputTypes))
		}
	}
	return 0, errors.New("Invalid type found in casting spec: " + name)
}

// parseCastSpec reads the spec list (Kafka's parseFieldTypes).
func parseCastSpec(mappings []string) (castSpec, error) {
	if len(mappings) == 0 {
		return castSpec{}, errors.New("Must specify at least one field to cast.")
	}
	spec := castSpec{fields: map[string]connect.Type{}}
	for _, mapping := range mappings {
		parts := javaSplit(mapping, ":")
		switch len(parts) {
		case 1:
			t, err := parseCastType(parts[0])
			if err != nil {
				return castSpec{}, err
			}
			spec.whole = t
		case 2:
			t, err := parseCastType(parts[1])
			if err != nil {
				return castSpec{}, err
			}
			spec.fields[strings.TrimSpace(parts[0])] = t
		default:
			return castSpec{}, errors.New("Invalid cast mapping: " + mapping)
		}
	}
	if spec.whole != 0 && len(mappings) > 1 {
		return castSpec{}, errors.New("Cast transformations that specify a type to cast the entire value to " +
			"may only specify a single cast in their spec")
	}
	return spec, nil
}

// Config defines spec and replace.null.with.default.
func (t *Cast) Config() *connect.ConfigDef {
	spec := connect.ValidatorFunc(func(_ string, value any) error {
		list, _ := value.([]string)
		_, err := parseCastSpec(list)
		return err
	})
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "spec", Type: connect.ConfigList, Required: true, Validator: spec,
			Importance: connect.High,
			Documentation: "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of " +
				"Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, " +
				"int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string."}).
		Define(replaceNullWithDefaultKey())
}

// Configure reads the configuration.
func (t *Cast) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	if t.spec, err = parseCastSpec(cfg.GetList("spec")); err != nil {
		return configError("%v", err)
	}
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	t.cache = nil
	return nil
}

// Apply casts.
func (t *Cast) Apply(r connect.Record) (connect.Record, bool, error) {
	schema, value := t.target.get(r)
	switch {
	case value == nil:
		return r, true, nil
	case schema == nil:
		return t.applySchemaless(r, value)
	}
	return t.applyWithSchema(r, schema, value)
}

func (t *Cast) applySchemaless(r connect.Record, value any) (connect.Record, bool, error) {
	if t.spec.whole != 0 {
		v, err := castValue(nil, value, t.spec.whole)
		if err != nil {
			return r, false, err
		}
		return t.target.with(r, nil, v), true, nil
	}
	m, err := requireMap(value, castPurpose)
	if err != nil {
		return r, false, err
	}
	out := maps.Clone(m)
	for field, to := range t.spec.fields {
		// As Kafka, a field the map lacks is added as null.
		if out[field], err = castValue(nil, m[field], to); err != nil {
			return r, false, err
		}
	}
	return t.target.with(r, nil, out), true, nil
}

func (t *Cast) applyWithSchema(r connect.Record, schema *connect.Schema, value any) (connect.Record, bool, error) {
	updated := t.cache.get(schema)
	if updated == nil {
		var err error
		if updated, err = t.updatedSchema(schema); err != nil {
			return r, false, err
		}
		t.cache.put(schema, updated)
	}
	if t.spec.whole != 0 {
		v, err := castValue(schema, value, t.spec.whole)
		if err != nil {
			return r, false, err
		}
		return t.target.with(r, updated, v), true, nil
	}
	s, err := requireStruct(value, castPurpose)
	if err != nil {
		return r, false, err
	}
	values := map[string]any{}
	for _, f := range s.Schema().Fields() {
		v := fieldValue(s, f.Name, t.replaceNullWithDefault)
		if to, ok := t.spec.fields[f.Name]; ok {
			if v, err = castValue(f.Schema, v, to); err != nil {
				return r, false, err
			}
		}
		values[f.Name] = v
	}
	out, err := putAll(updated, values)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, updated, out), true, nil
}

// updatedSchema is the schema of the cast value: per-field casts keep each
// cast field's optionality and cast its default, but not its name.
func (t *Cast) updatedSchema(schema *connect.Schema) (*connect.Schema, error) {
	var b *connect.SchemaBuilder
	if t.spec.whole != 0 {
		b = connect.NewSchemaBuilder(t.spec.whole)
		// A logical type cast to its underlying type would still be
		// logical by name, with a number for a value: drop the name.
		if !isLogicalOf(schema, t.spec.whole) {
			copySchemaBasics(schema, b)
		}
	} else {
		if schema.Type() != connect.TypeStruct {
			return nil, dataError("Only Struct objects supported for [%s], found schema: %s", castPurpose, schema)
		}
		b = copySchemaBasics(schema, connect.NewSchemaBuilder(connect.TypeStruct))
		for _, f := range schema.Fields() {
			fs, err := castFieldSchema(f, t.spec.fields)
			if err != nil {
				return nil, err
			}
			b.Field(f.Name, fs)
		}
	}
	if schema.Optional() {
		b.Optional()
	}
	if d := schema.Default(); d != nil {
		v, err := castValue(schema, d, t.spec.whole)
		if err != nil {
			return nil, err
		}
		b.Default(v)
	}
	return build(b)
}

// isLogicalOf reports whether schema is a Date, Time or Timestamp whose
// underlying type is t.
func isLogicalOf(schema *connect.Schema, t connect.Type) bool {
	switch schema.Name() {
	case connect.DateName, connect.TimeName, connect.TimestampName:
		return schema.Type() == t
	}
	return false
}

func castFieldSchema(f connect.Field, casts map[string]connect.Type) (*connect.Schema, error) {
	to, ok := casts[f.Name]
	if !ok {
		return f.Schema, nil
	}
	b := connect.NewSchemaBuilder(to)
	if f.Schema.Optional() {
		b.Optional()
	}
	if d := f.Schema.Default(); d != nil {
		v, err := castValue(f.Schema, d, to)
		if err != nil {
			return nil, err
		}
		b.Default(v)
	}
	return build(b)
}

// Close does nothing.
func (t *Cast) Close() error {
	t.cache = nil
	return nil
}
