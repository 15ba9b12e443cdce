package connect

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/fjordhq/fjord/connect/internal/javafmt"
)

// Password is the value of a ConfigPassword key (Kafka's Password). It
// prints as [hidden] in every format, in JSON and inside other values, so
// that a secret never reaches a log or an error message; Value returns it.
type Password struct {
	// value is a pointer so that even fmt's printing of an unexported field
	// that holds a Password shows an address, never the secret.
	value *string
}

// NewPassword wraps a secret.
func NewPassword(secret string) Password { return Password{value: &secret} }

// Value returns the secret ("" for the zero Password).
func (p Password) Value() string {
	if p.value == nil {
		return ""
	}
	return *p.value
}

const hidden = "[hidden]"

// String returns "[hidden]".
func (p Password) String() string { return hidden }

// GoString returns "[hidden]", for %#v.
func (p Password) GoString() string { return hidden }

// Format prints "[hidden]" for every verb.
func (p Password) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(hidden)) }

// MarshalJSON writes "[hidden]".
func (p Password) MarshalJSON() ([]byte, error) { return []byte(`"` + hidden + `"`), nil }

// Config is a parsed configuration: every defined key with its value, set
// or default (Kafka's AbstractConfig). Its getters are for the key's type
// (see ConfigType); calling one for an undefined key or a key of another
// type panics, as a failed type assertion does: it is a bug in the
// connector, not in the user's configuration, which Parse already checked.
// A Config is immutable and safe for concurrent use; copies share their
// contents. It prints (with any
// verb of fmt) with passwords hidden.
type Config struct {
	def       *ConfigDef
	values    map[string]any
	originals map[string]string
}

// Parse checks props against the definition and returns the values of all
// keys, set or default. Keys that are not defined are kept in Originals
// only. The error wraps ErrInvalidConfig and lists every problem, one a
// line, in Kafka's words.
func (d *ConfigDef) Parse(props map[string]string) (Config, error) {
	var problems []string
	for _, name := range d.undefinedDependents() {
		problems = append(problems, name+" is referred in the dependents, but not defined.")
	}
	values := make(map[string]any, len(d.keys))
	for _, k := range d.keys {
		raw, set := props[k.Name]
		var v any
		switch {
		case set:
			parsed, err := parseType(k.Name, raw, k.Type)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			v = parsed
		case k.Required:
			problems = append(problems, missingError(k.Name))
			continue
		default:
			v = k.Default
		}
		if k.Validator != nil {
			if err := k.Validator.Validate(k.Name, v); err != nil {
				problems = append(problems, configError(k.Name, v, err.Error()).Error())
				continue
			}
		}
		values[k.Name] = v
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "\n"))
	}
	return Config{def: d, values: values, originals: maps.Clone(props)}, nil
}

// undefinedDependents lists, sorted, the dependents that are not defined.
func (d *ConfigDef) undefinedDependents() []string {
	var names []string
	for _, k := range d.keys {
		for _, dep := range k.Dependents {
			if _, ok := d.index[dep]; !ok && !slices.Contains(names, dep) {
				names = append(names, dep)
			}
		}
	}
	slices.Sort(names)
	return names
}

func (c Config) get(name string, t ConfigType) any {
	k, ok := c.def.Key(name)
	if !ok {
		panic(fmt.Sprintf("connect: configuration %s is not defined", name))
	}
	if k.Type != t {
		panic(fmt.Sprintf("connect: configuration %s is %s, not %s", name, k.Type, t))
	}
	return c.values[name]
}

// Get returns a key's value in its Go type, nil if it has none.
func (c Config) Get(name string) any { return c.values[name] }

// GetString returns a ConfigString key's value ("" for none).
func (c Config) GetString(name string) string { s, _ := c.get(name, ConfigString).(string); return s }

// GetClass returns a ConfigClass key's value, a class name or alias.
func (c Config) GetClass(name string) string { s, _ := c.get(name, ConfigClass).(string); return s }

// GetBoolean returns a ConfigBoolean key's value.
func (c Config) GetBoolean(name string) bool { b, _ := c.get(name, ConfigBoolean).(bool); return b }

// GetInt returns a ConfigInt key's value.
func (c Config) GetInt(name string) int32 { n, _ := c.get(name, ConfigInt).(int32); return n }

// GetShort returns a ConfigShort key's value.
func (c Config) GetShort(name string) int16 { n, _ := c.get(name, ConfigShort).(int16); return n }

// GetLong returns a ConfigLong key's value.
func (c Config) GetLong(name string) int64 { n, _ := c.get(name, ConfigLong).(int64); return n }

// GetDouble returns a ConfigDouble key's value.
func (c Config) GetDouble(name string) float64 {
	f, _ := c.get(name, ConfigDouble).(float64)
	return f
}

// GetList returns a copy of a ConfigList key's value.
func (c Config) GetList(name string) []string {
	l, _ := c.get(name, ConfigList).([]string)
	return slices.Clone(l)
}

// GetPassword returns a ConfigPassword key's value.
func (c Config) GetPassword(name string) Password {
	p, _ := c.get(name, ConfigPassword).(Password)
	return p
}

// Originals returns a copy of the properties as given to Parse, defined or
// not (connectors often hand them on to their tasks).
func (c Config) Originals() map[string]string { return maps.Clone(c.originals) }

// String lists the defined keys and values, sorted, passwords hidden:
// {batch.size=100, password=[hidden], topic=events}.
func (c Config) String() string {
	names := slices.Sorted(maps.Keys(c.values))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + configString(c.values[n])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// GoString is String, so that %#v hides passwords too.
func (c Config) GoString() string { return c.String() }

// configString writes a config value as Java's toString does in Kafka's
// messages: null, lists as [a, b], doubles as 1.0, passwords as [hidden].
func configString(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case []string:
		return "[" + strings.Join(v, ", ") + "]"
	case float64:
		return javafmt.Double(v)
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}
