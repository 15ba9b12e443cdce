package transforms

import (
	"errors"
	"slices"

	"github.com/fjordhq/fjord/connect"
)

// ReplaceField is Kafka's ReplaceField: it keeps the fields of a struct or
// map that "include" lists (all when empty) and "exclude" does not, and
// renames fields ("renames", old:new pairs). The names Kafka 2.6 to 3.9
// accepted, "whitelist" and "blacklist", still work where "include" and
// "exclude" are not set. Null keys or values pass unchanged.
type ReplaceField struct {
	versioned
	target                 Target
	include, exclude       []string
	renames, reverse       map[string]string
	replaceNullWithDefault bool
	cache                  schemaCache
}

// NewReplaceField returns an unconfigured ReplaceField$Key or $Value.
func NewReplaceField(target Target) *ReplaceField { return &ReplaceField{target: target} }

const replacePurpose = "field replacement"

// parseRenames reads "old:new" pairs (Kafka's parseRenameMappings).
func parseRenames(mappings []string) (map[string]string, error) {
	m := make(map[string]string, len(mappings))
	for _, mapping := range mappings {
		parts := javaSplit(mapping, ":")
		if len(parts) != 2 {
			return nil, errors.New("Invalid rename mapping: " + mapping)
		}
		m[parts[0]] = parts[1]
	}
	return m, nil
}

// Config defines exclude, include, renames, replace.null.with.default and
// the deprecated blacklist and whitelist.
func (t *ReplaceField) Config() *connect.ConfigDef {
	renames := connect.ValidatorFunc(func(_ string, value any) error {
		list, _ := value.([]string)
		_, err := parseRenames(list)
		return err
	})
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "exclude", Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium,
			Documentation: "Fields to exclude. This takes precedence over the fields to include."}).
		Define(connect.ConfigKey{Name: "include", Type: connect.ConfigList, Default: []string{}, Importance: connect.Medium,
			Documentation: "Fields to include. If specified, only these fields will be used."}).
		Define(connect.ConfigKey{Name: "renames", Type: connect.ConfigList, Default: []string{}, Validator: renames,
			Importance: connect.Medium, Documentation: "Field rename mappings."}).
		Define(replaceNullWithDefaultKey()).
		Define(connect.ConfigKey{Name: "blacklist", Type: connect.ConfigList, Importance: connect.Low,
			Documentation: "Deprecated. Use exclude instead."}).
		Define(connect.ConfigKey{Name: "whitelist", Type: connect.ConfigList, Importance: connect.Low,
			Documentation: "Deprecated. Use include instead."})
}

// Configure reads the configuration.
func (t *ReplaceField) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.include, t.exclude = cfg.GetList("include"), cfg.GetList("exclude")
	if _, set := config["include"]; !set && cfg.Get("whitelist") != nil {
		t.include = cfg.GetList("whitelist")
	}
	if _, set := config["exclude"]; !set && cfg.Get("blacklist") != nil {
		t.exclude = cfg.GetList("blacklist")
	}
	if t.renames, err = parseRenames(cfg.GetList("renames")); err != nil {
		return configError("Invalid value %s for configuration renames: %v", config["renames"], err)
	}
	t.reverse = make(map[string]string, len(t.renames))
	for from, to := range t.renames {
		t.reverse[to] = from
	}
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	t.cache = nil
	return nil
}

func (t *ReplaceField) keep(name string) bool {
	return !slices.Contains(t.exclude, name) && (len(t.include) == 0 || slices.Contains(t.include, name))
}

func (t *ReplaceField) renamed(name string) string {
	if to, ok := t.renames[name]; ok {
		return to
	}
	return name
}

func (t *ReplaceField) reverseRenamed(name string) string {
	if from, ok := t.reverse[name]; ok {
		return from
	}
	return name
}

// Apply filters and renames the fields.
func (t *ReplaceField) Apply(r connect.Record) (connect.Record, bool, error) {
	schema, value := t.target.get(r)
	switch {
	case value == nil:
		return r, true, nil
	case schema == nil:
		return t.applySchemaless(r, value)
	}
	return t.applyWithSchema(r, value)
}

func (t *ReplaceField) applySchemaless(r connect.Record, value any) (connect.Record, bool, error) {
	m, err := requireMap(value, replacePurpose)
	if err != nil {
		return r, false, err
	}
	out := make(map[any]any, len(m))
	for k, v := range m {
		name, ok := k.(string)
		if !ok {
			return r, false, dataError("field names must be strings for [%s], found: %s", replacePurpose, javaClass(k))
		}
		if t.keep(name) {
			out[t.renamed(name)] = v
		}
	}
	return t.target.with(r, nil, out), true, nil
}

func (t *ReplaceField) applyWithSchema(r connect.Record, value any) (connect.Record, bool, error) {
	s, err := requireStruct(value, replacePurpose)
	if err != nil {
		return r, false, err
	}
	updated := t.cache.get(s.Schema())
	if updated == nil {
		b := copySchemaBasics(s.Schema(), connect.NewSchemaBuilder(connect.TypeStruct))
		for _, f := range s.Schema().Fields() {
			if t.keep(f.Name) {
				b.Field(t.renamed(f.Name), f.Schema)
			}
		}
		if updated, err = build(b); err != nil {
			return r, false, err
		}
		t.cache.put(s.Schema(), updated)
	}
	values := map[string]any{}
	for _, f := range updated.Fields() {
		values[f.Name] = fieldValue(s, t.reverseRenamed(f.Name), t.replaceNullWithDefault)
	}
	out, err := putAll(updated, values)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, updated, out), true, nil
}

// Close does nothing.
func (t *ReplaceField) Close() error {
	t.cache = nil
	return nil
}
