package connect

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalidConfig is wrapped by the errors of ConfigDef.Parse.
var ErrInvalidConfig = errors.New("connect: invalid configuration")

// ConfigType is the type of a configuration key (Kafka's ConfigDef.Type).
// Each has the Go type that Parse gives its values:
//
//	ConfigBoolean   bool
//	ConfigString    string (trimmed)
//	ConfigInt       int32
//	ConfigShort     int16
//	ConfigLong      int64
//	ConfigDouble    float64
//	ConfigList      []string (split at commas, trimmed)
//	ConfigClass     string, a plugin class name or alias
//	ConfigPassword  Password
type ConfigType int8

// The configuration types. The zero ConfigType is invalid, so that a
// forgotten type is caught by Define.
const (
	ConfigBoolean ConfigType = iota + 1
	ConfigString
	ConfigInt
	ConfigShort
	ConfigLong
	ConfigDouble
	ConfigList
	ConfigClass
	ConfigPassword
)

var configTypeNames = [...]string{
	ConfigBoolean: "BOOLEAN", ConfigString: "STRING", ConfigInt: "INT", ConfigShort: "SHORT",
	ConfigLong: "LONG", ConfigDouble: "DOUBLE", ConfigList: "LIST", ConfigClass: "CLASS",
	ConfigPassword: "PASSWORD",
}

// String returns Kafka's name of the type, as the REST API shows it: "INT".
func (t ConfigType) String() string {
	if t >= ConfigBoolean && t <= ConfigPassword {
		return configTypeNames[t]
	}
	return fmt.Sprintf("ConfigType(%d)", int8(t))
}

// Importance says how much a user should care about a key.
type Importance int8

// The importances. The zero Importance is invalid.
const (
	High Importance = iota + 1
	Medium
	Low
)

// String returns Kafka's name: "HIGH", "MEDIUM" or "LOW".
func (i Importance) String() string {
	switch i {
	case High:
		return "HIGH"
	case Medium:
		return "MEDIUM"
	case Low:
		return "LOW"
	}
	return fmt.Sprintf("Importance(%d)", int8(i))
}

// Width is the width a UI gives a key's input field.
type Width int8

// The widths; the zero Width is WidthNone.
const (
	WidthNone Width = iota
	WidthShort
	WidthMedium
	WidthLong
)

// String returns Kafka's name: "NONE", "SHORT", "MEDIUM" or "LONG".
func (w Width) String() string {
	switch w {
	case WidthNone:
		return "NONE"
	case WidthShort:
		return "SHORT"
	case WidthMedium:
		return "MEDIUM"
	case WidthLong:
		return "LONG"
	}
	return fmt.Sprintf("Width(%d)", int8(w))
}

// ConfigKey defines one configuration key (Kafka's ConfigDef.ConfigKey).
type ConfigKey struct {
	Name string
	Type ConfigType
	// Default is the value of the key when it is not set, either in its Go
	// type (see ConfigType; plain Go ints are accepted for the integer
	// types) or as a string to parse. nil means the key has no value unless
	// set (Kafka's null default).
	Default any
	// Required means the key has no default and must be set (Kafka's
	// NO_DEFAULT_VALUE); Default must then be nil.
	Required bool
	// Validator checks the value, set or default; nil accepts any.
	Validator     Validator
	Importance    Importance
	Documentation string
	// Group, OrderInGroup (counted from 1; 0 means none and shows as -1),
	// Width and DisplayName (the name if empty) lay the key out in a UI.
	Group        string
	OrderInGroup int
	Width        Width
	DisplayName  string
	// Dependents are keys whose validity or recommended values depend on
	// this one: Validate parses this key first.
	Dependents []string
	// Recommender suggests values and visibility in Validate; nil has no
	// suggestions and keeps the key visible.
	Recommender Recommender
}

// ConfigDef defines a configuration: its keys in order, with types,
// defaults and validators (Kafka's ConfigDef). Build it with Define, then
// share it: Parse and Validate are safe for concurrent use, Define is not.
type ConfigDef struct {
	keys   []ConfigKey
	index  map[string]int
	groups []string
}

// NewConfigDef returns an empty definition (as the zero ConfigDef is).
func NewConfigDef() *ConfigDef { return &ConfigDef{index: map[string]int{}} }

// Define adds a key and returns d, so definitions chain. A key that cannot
// be defined (no name, a name defined twice, no type or importance, a
// default of the wrong type or refused by the validator, Required with a
// default) panics: definitions are written in code, and such a mistake is
// a bug the connector's first test finds, as Kafka throws from define.
func (d *ConfigDef) Define(key ConfigKey) *ConfigDef {
	if err := d.define(key); err != nil {
		panic(err)
	}
	return d
}

func (d *ConfigDef) define(key ConfigKey) error {
	switch _, dup := d.index[key.Name]; {
	case key.Name == "":
		return errors.New("connect: config key without a name")
	case dup:
		return fmt.Errorf("connect: configuration %s is defined twice", key.Name)
	case key.Type < ConfigBoolean || key.Type > ConfigPassword:
		return fmt.Errorf("connect: configuration %s has no valid type", key.Name)
	case key.Importance < High || key.Importance > Low:
		return fmt.Errorf("connect: configuration %s has no valid importance", key.Name)
	case key.Width < WidthNone || key.Width > WidthLong:
		return fmt.Errorf("connect: configuration %s has no valid width", key.Name)
	case key.Required && key.Default != nil:
		return fmt.Errorf("connect: configuration %s is required and has a default", key.Name)
	}
	if key.Default != nil {
		v, err := normalizeDefault(key)
		if err != nil {
			return fmt.Errorf("connect: default of configuration %s: %w", key.Name, err)
		}
		key.Default = v
		if key.Validator != nil {
			if err := key.Validator.Validate(key.Name, v); err != nil {
				return fmt.Errorf("connect: default of configuration %s: %w", key.Name, err)
			}
		}
	}
	if d.index == nil {
		d.index = map[string]int{}
	}
	if key.DisplayName == "" {
		key.DisplayName = key.Name
	}
	key.Dependents = slices.Clone(key.Dependents)
	d.index[key.Name] = len(d.keys)
	d.keys = append(d.keys, key)
	if key.Group != "" && !slices.Contains(d.groups, key.Group) {
		d.groups = append(d.groups, key.Group)
	}
	return nil
}

// normalizeDefault turns a default into the Go type of its key's type.
func normalizeDefault(key ConfigKey) (any, error) {
	if s, ok := key.Default.(string); ok {
		v, err := parseType(key.Name, s, key.Type)
		if err != nil {
			return nil, err
		}
		return v, nil
	}
	bad := fmt.Errorf("a %T is not a %s value", key.Default, key.Type)
	switch key.Type {
	case ConfigBoolean:
		if _, ok := key.Default.(bool); ok {
			return key.Default, nil
		}
	case ConfigInt, ConfigShort, ConfigLong:
		return normalizeInteger(key.Default, key.Type, bad)
	case ConfigDouble:
		switch v := key.Default.(type) {
		case float64:
			return v, nil
		case float32:
			return float64(v), nil
		case int:
			return float64(v), nil
		}
	case ConfigList:
		if v, ok := key.Default.([]string); ok {
			return slices.Clone(v), nil
		}
	case ConfigPassword:
		if _, ok := key.Default.(Password); ok {
			return key.Default, nil
		}
	}
	return nil, bad
}

func normalizeInteger(value any, t ConfigType, bad error) (any, error) {
	var n int64
	switch v := value.(type) {
	case int:
		n = int64(v)
	case int16:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	default:
		return nil, bad
	}
	switch {
	case t == ConfigLong:
		return n, nil
	case t == ConfigInt && n >= math.MinInt32 && n <= math.MaxInt32:
		return int32(n), nil
	case t == ConfigShort && n >= math.MinInt16 && n <= math.MaxInt16:
		return int16(n), nil
	}
	return nil, fmt.Errorf("%d is out of range of %s", n, t)
}

// Keys returns the keys in the order they were defined.
func (d *ConfigDef) Keys() []ConfigKey { return slices.Clone(d.keys) }

// Key returns the key called name and whether it is defined.
func (d *ConfigDef) Key(name string) (ConfigKey, bool) {
	i, ok := d.index[name]
	if !ok {
		return ConfigKey{}, false
	}
	return d.keys[i], true
}

// Groups returns the keys' groups in the order they first appear.
func (d *ConfigDef) Groups() []string { return slices.Clone(d.groups) }

// parseType parses a key's string value as Kafka's ConfigDef.parseType
// does, after trimming white space.
func parseType(name, raw string, t ConfigType) (any, error) {
	s := strings.TrimSpace(raw)
	notNumber := func() error { return configError(name, raw, "Not a number of type "+t.String()) }
	switch t {
	case ConfigBoolean:
		switch {
		case strings.EqualFold(s, "true"):
			return true, nil
		case strings.EqualFold(s, "false"):
			return false, nil
		}
		return nil, configError(name, raw, "Expected value to be either true or false")
	case ConfigPassword:
		return NewPassword(s), nil
	case ConfigString, ConfigClass:
		return s, nil
	case ConfigInt:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, notNumber()
		}
		return int32(n), nil
	case ConfigShort:
		n, err := strconv.ParseInt(s, 10, 16)
		if err != nil {
			return nil, notNumber()
		}
		return int16(n), nil
	case ConfigLong:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, notNumber()
		}
		return n, nil
	case ConfigDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, notNumber()
		}
		return f, nil
	case ConfigList:
		if s == "" {
			return []string{}, nil
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		return parts, nil
	}
	return nil, fmt.Errorf("connect: unknown config type %d", int8(t))
}

// configError is Kafka's ConfigException(name, value, message): "Invalid
// value V for configuration N: message". Passwords print as [hidden].
func configError(name string, value any, message string) error {
	return fmt.Errorf("Invalid value %s for configuration %s: %s", configString(value), name, message)
}

// missingError is Kafka's message for a required key that is not set.
func missingError(name string) string {
	return fmt.Sprintf("Missing required configuration %q which has no default value.", name)
}
