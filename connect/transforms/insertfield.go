package transforms

import (
	"maps"
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// InsertField is Kafka's InsertField: it adds fields from the record's
// metadata (topic, partition, offset of a sink record, timestamp) or a
// static string to a struct or map. A field name ending in "!" makes the
// field required in the schema, "?" (or nothing) optional. Null keys or
// values pass unchanged.
type InsertField struct {
	versioned
	target                                      Target
	topic, partition, offset, timestamp, static *insertion
	staticValue                                 string
	replaceNullWithDefault                      bool
	cache                                       schemaCache
}

// insertion is a field to insert and whether its schema is optional.
type insertion struct {
	name     string
	optional bool
}

func parseInsertion(spec any) *insertion {
	s, ok := spec.(string)
	if !ok {
		return nil
	}
	if name, cut := strings.CutSuffix(s, "?"); cut {
		return &insertion{name: name, optional: true}
	}
	if name, cut := strings.CutSuffix(s, "!"); cut {
		return &insertion{name: name}
	}
	return &insertion{name: s, optional: true}
}

// NewInsertField returns an unconfigured InsertField$Key or $Value.
func NewInsertField(target Target) *InsertField { return &InsertField{target: target} }

const insertPurpose = "field insertion"

// Config defines topic.field, partition.field, offset.field,
// timestamp.field, static.field, static.value and
// replace.null.with.default.
func (t *InsertField) Config() *connect.ConfigDef {
	const optionality = " Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default)."
	field := func(name, doc string) connect.ConfigKey {
		return connect.ConfigKey{Name: name, Type: connect.ConfigString, Importance: connect.Medium, Documentation: doc + optionality}
	}
	return connect.NewConfigDef().
		Define(field("topic.field", "Field name for Kafka topic.")).
		Define(field("partition.field", "Field name for Kafka partition.")).
		Define(field("offset.field", "Field name for Kafka offset - only applicable to sink connectors.<br/>")).
		Define(field("timestamp.field", "Field name for record timestamp.")).
		Define(field("static.field", "Field name for static data field.")).
		Define(connect.ConfigKey{Name: "static.value", Type: connect.ConfigString, Importance: connect.Medium,
			Documentation: "Static field value, if field name configured."}).
		Define(replaceNullWithDefaultKey())
}

// Configure reads the configuration; at least one field must be set.
func (t *InsertField) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.topic = parseInsertion(cfg.Get("topic.field"))
	t.partition = parseInsertion(cfg.Get("partition.field"))
	t.offset = parseInsertion(cfg.Get("offset.field"))
	t.timestamp = parseInsertion(cfg.Get("timestamp.field"))
	t.static = parseInsertion(cfg.Get("static.field"))
	value, hasValue := cfg.Get("static.value").(string)
	t.staticValue = value
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	t.cache = nil
	if t.topic == nil && t.partition == nil && t.offset == nil && t.timestamp == nil && t.static == nil {
		return configError("No field insertion configured")
	}
	if t.static != nil && !hasValue {
		return configError("Invalid value null for configuration static.value: No value specified for static field: %s", t.static.name)
	}
	return nil
}

// Apply inserts the fields.
func (t *InsertField) Apply(r connect.Record) (connect.Record, bool, error) {
	schema, value := t.target.get(r)
	switch {
	case value == nil:
		return r, true, nil
	case schema == nil:
		return t.applySchemaless(r, value)
	}
	return t.applyWithSchema(r, value)
}

func (t *InsertField) applySchemaless(r connect.Record, value any) (connect.Record, bool, error) {
	m, err := requireMap(value, insertPurpose)
	if err != nil {
		return r, false, err
	}
	out := maps.Clone(m)
	if t.topic != nil {
		out[t.topic.name] = r.Topic
	}
	if t.partition != nil && r.Partition != nil {
		out[t.partition.name] = *r.Partition
	}
	if t.offset != nil {
		offset, err := requireSinkOffset(r, insertPurpose)
		if err != nil {
			return r, false, err
		}
		out[t.offset.name] = offset
	}
	if t.timestamp != nil && !r.Timestamp.IsZero() {
		out[t.timestamp.name] = r.Timestamp.UnixMilli()
	}
	if t.static != nil {
		out[t.static.name] = t.staticValue
	}
	return t.target.with(r, nil, out), true, nil
}

func (t *InsertField) applyWithSchema(r connect.Record, value any) (connect.Record, bool, error) {
	s, err := requireStruct(value, insertPurpose)
	if err != nil {
		return r, false, err
	}
	updated := t.cache.get(s.Schema())
	if updated == nil {
		if updated, err = t.updatedSchema(s.Schema()); err != nil {
			return r, false, err
		}
		t.cache.put(s.Schema(), updated)
	}
	values := map[string]any{}
	for _, f := range s.Schema().Fields() {
		values[f.Name] = fieldValue(s, f.Name, t.replaceNullWithDefault)
	}
	if t.topic != nil {
		values[t.topic.name] = r.Topic
	}
	if t.partition != nil && r.Partition != nil {
		values[t.partition.name] = *r.Partition
	}
	if t.offset != nil {
		if values[t.offset.name], err = requireSinkOffset(r, insertPurpose); err != nil {
			return r, false, err
		}
	}
	if t.timestamp != nil && !r.Timestamp.IsZero() {
		values[t.timestamp.name] = toJavaDate(r.Timestamp)
	}
	if t.static != nil {
		values[t.static.name] = t.staticValue
	}
	out, err := putAll(updated, values)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, updated, out), true, nil
}

func (t *InsertField) updatedSchema(schema *connect.Schema) (*connect.Schema, error) {
	b := copySchemaBasics(schema, connect.NewSchemaBuilder(connect.TypeStruct))
	for _, f := range schema.Fields() {
		b.Field(f.Name, f.Schema)
	}
	add := func(ins *insertion, optional, required *connect.Schema) {
		if ins == nil {
			return
		}
		if ins.optional {
			b.Field(ins.name, optional)
		} else {
			b.Field(ins.name, required)
		}
	}
	add(t.topic, connect.OptionalStringSchema, connect.StringSchema)
	add(t.partition, connect.OptionalInt32Schema, connect.Int32Schema)
	add(t.offset, connect.OptionalInt64Schema, connect.Int64Schema)
	add(t.timestamp, optionalTimestampSchema, timestampSchema)
	add(t.static, connect.OptionalStringSchema, connect.StringSchema)
	return build(b)
}

// Close does nothing.
func (t *InsertField) Close() error {
	t.cache = nil
	return nil
}
