package transforms

import (
	"github.com/fjordhq/fjord/connect"
)

// ValueToKey is Kafka's ValueToKey: it replaces the record's key with a
// struct or map of the listed fields of the value. A null value passes
// unchanged.
type ValueToKey struct {
	versioned
	fields                 []string
	replaceNullWithDefault bool
	cache                  schemaCache
}

// NewValueToKey returns an unconfigured ValueToKey.
func NewValueToKey() *ValueToKey { return &ValueToKey{} }

const valueToKeyPurpose = "copying fields from value to key"

// Config defines fields and replace.null.with.default.
func (t *ValueToKey) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "fields", Type: connect.ConfigList, Required: true, Validator: nonEmptyList(),
			Importance: connect.High, Documentation: "Field names on the record value to extract as the record key."}).
		Define(replaceNullWithDefaultKey())
}

// Configure reads the configuration.
func (t *ValueToKey) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.fields = cfg.GetList("fields")
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	t.cache = nil
	return nil
}

// Apply builds the key.
func (t *ValueToKey) Apply(r connect.Record) (connect.Record, bool, error) {
	if r.Value == nil {
		return r, true, nil
	}
	if r.ValueSchema == nil {
		m, err := requireMap(r.Value, valueToKeyPurpose)
		if err != nil {
			return r, false, err
		}
		key := make(map[any]any, len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		r.KeySchema, r.Key = nil, key
		return r, true, nil
	}
	s, err := requireStruct(r.Value, valueToKeyPurpose)
	if err != nil {
		return r, false, err
	}
	keySchema := t.cache.get(s.Schema())
	if keySchema == nil {
		b := connect.NewSchemaBuilder(connect.TypeStruct)
		for _, name := range t.fields {
			f, ok := s.Schema().Field(name)
			if !ok {
				return r, false, dataError("Field does not exist: %s", name)
			}
			b.Field(name, f.Schema)
		}
		if keySchema, err = build(b); err != nil {
			return r, false, err
		}
		t.cache.put(s.Schema(), keySchema)
	}
	values := make(map[string]any, len(t.fields))
	for _, name := range t.fields {
		values[name] = fieldValue(s, name, t.replaceNullWithDefault)
	}
	key, err := putAll(keySchema, values)
	if err != nil {
		return r, false, err
	}
	r.KeySchema, r.Key = keySchema, key
	return r, true, nil
}

// Close does nothing.
func (t *ValueToKey) Close() error {
	t.cache = nil
	return nil
}
