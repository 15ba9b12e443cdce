package transforms

import (
	"github.com/fjordhq/fjord/connect"
)

// ExtractField is Kafka's ExtractField: it replaces a struct or map with
// the value of one of its fields, and the schema with the field's. With
// field.syntax.version=V2 the field is a dotted path into nested structs or
// maps. Null keys or values stay null (with the field's schema).
type ExtractField struct {
	versioned
	target                 Target
	original               string
	path                   fieldPath
	replaceNullWithDefault bool
}

// NewExtractField returns an unconfigured ExtractField$Key or $Value.
func NewExtractField(target Target) *ExtractField { return &ExtractField{target: target} }

// Config defines field, replace.null.with.default and
// field.syntax.version.
func (t *ExtractField) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "field", Type: connect.ConfigString, Required: true, Importance: connect.Medium,
			Documentation: "Field name to extract."}).
		Define(replaceNullWithDefaultKey()).
		Define(fieldSyntaxVersionKey())
}

// Configure reads the configuration and parses the path.
func (t *ExtractField) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.original = cfg.GetString("field")
	if t.path, err = parseFieldPath(t.original, cfg.GetString("field.syntax.version")); err != nil {
		return err
	}
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	return nil
}

// Apply extracts the field.
func (t *ExtractField) Apply(r connect.Record) (connect.Record, bool, error) {
	const purpose = "field extraction"
	schema, value := t.target.get(r)
	if schema == nil {
		if value == nil {
			return t.target.with(r, nil, nil), true, nil
		}
		m, err := requireMap(value, purpose)
		if err != nil {
			return r, false, err
		}
		v, err := t.path.mapValue(m)
		if err != nil {
			return r, false, err
		}
		return t.target.with(r, nil, v), true, nil
	}
	var s *connect.Struct
	if value != nil {
		var err error
		if s, err = requireStruct(value, purpose); err != nil {
			return r, false, err
		}
	}
	field, ok := t.path.field(schema)
	if !ok {
		return r, false, dataError("Unknown field: %s", t.original)
	}
	if s == nil {
		return t.target.with(r, field.Schema, nil), true, nil
	}
	v, err := t.path.structValue(s, t.replaceNullWithDefault)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, field.Schema, v), true, nil
}

// Close does nothing.
func (t *ExtractField) Close() error { return nil }
