package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrInvalidConfig is wrapped by every validation error. It is kerr.InvalidConfig
// itself, so handlers can put the Kafka error code straight into a response and
// errors.Is(err, kerr.InvalidConfig) holds.
var ErrInvalidConfig error = kerr.InvalidConfig

// Type is a config value's type, as Kafka's ConfigDef.Type and the
// DescribeConfigs config_type field (KIP-569) number them.
type Type int8

// The config types, numbered as in DescribeConfigs v3+.
const (
	Boolean  Type = 1
	String   Type = 2
	Int      Type = 3
	Short    Type = 4
	Long     Type = 5
	Double   Type = 6
	List     Type = 7
	Class    Type = 8
	Password Type = 9
)

// String returns Kafka's name for the type.
func (t Type) String() string {
	switch t {
	case Boolean:
		return "BOOLEAN"
	case String:
		return "STRING"
	case Int:
		return "INT"
	case Short:
		return "SHORT"
	case Long:
		return "LONG"
	case Double:
		return "DOUBLE"
	case List:
		return "LIST"
	case Class:
		return "CLASS"
	case Password:
		return "PASSWORD"
	}
	return "UNKNOWN"
}

// ScaledSynonym is a broker config that also sets a topic config, with the
// factor that converts its unit to the topic's (log.retention.hours -> ms is
// 3600000).
type ScaledSynonym struct {
	Name   string
	Factor int64
}

// Def defines one config.
type Def struct {
	Name string
	Type Type
	// Default is the default value as a string; it is meaningful only when
	// HasDefault is set. A config without a default is null until set.
	Default    string
	HasDefault bool
	Doc        string
	// Validate checks a value already known to parse as Type; nil accepts any.
	Validate func(string) error
	// BrokerSynonym is, for a topic config, the broker config whose value is
	// the topic's default (retention.ms <- log.retention.ms).
	BrokerSynonym string
	// MoreSynonyms are further broker synonyms of lower precedence, with unit
	// conversion (log.retention.minutes, log.retention.hours).
	MoreSynonyms []ScaledSynonym
	// ReadOnly marks a broker config that cannot be altered dynamically.
	ReadOnly bool
	// Sensitive values are never returned by DescribeConfigs nor logged.
	Sensitive bool
}

// synonyms returns the broker synonyms in precedence order, the first with
// factor 1.
func (d Def) synonyms() []ScaledSynonym {
	if d.BrokerSynonym == "" {
		return nil
	}
	out := make([]ScaledSynonym, 0, 1+len(d.MoreSynonyms))
	out = append(out, ScaledSynonym{Name: d.BrokerSynonym, Factor: 1})
	return append(out, d.MoreSynonyms...)
}

// Check parses value as the def's type and applies its validator. The error
// names the config and the value and wraps ErrInvalidConfig.
func (d Def) Check(value string) error {
	if err := checkType(d.Type, value); err != nil {
		return invalid(d, value, err)
	}
	if d.Validate != nil {
		if err := d.Validate(value); err != nil {
			return invalid(d, value, err)
		}
	}
	return nil
}

func invalid(d Def, value string, reason error) error {
	shown := value
	if d.Sensitive {
		shown = "[hidden]"
	}
	return &invalidError{msg: fmt.Sprintf("invalid value %q for configuration %s: %v", shown, d.Name, reason)}
}

// invalidError wraps ErrInvalidConfig (and possibly a more precise sentinel)
// with a message fit for a response's error_message field: it does not repeat
// the Kafka code's own text.
type invalidError struct {
	msg   string
	extra error
}

func (e *invalidError) Error() string { return e.msg }

func (e *invalidError) Unwrap() []error {
	if e.extra == nil {
		return []error{ErrInvalidConfig}
	}
	return []error{ErrInvalidConfig, e.extra}
}

func checkType(t Type, value string) error {
	var err error
	switch t {
	case Boolean:
		_, err = parseBool(value)
	case Int:
		_, err = strconv.ParseInt(strings.TrimSpace(value), 10, 32)
	case Short:
		_, err = strconv.ParseInt(strings.TrimSpace(value), 10, 16)
	case Long:
		_, err = strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	case Double:
		_, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
	}
	if err != nil {
		return fmt.Errorf("expected a value of type %s", t)
	}
	return nil
}

// parseBool accepts true and false in any case, as Java's ConfigDef does.
func parseBool(value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", value)
}

// splitList splits a List value on commas, trimming spaces and dropping empty
// items as Kafka does.
func splitList(value string) []string {
	var out []string
	for _, item := range strings.Split(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func index(defs []Def) map[string]Def {
	m := make(map[string]Def, len(defs))
	for _, d := range defs {
		m[d.Name] = d
	}
	return m
}

func sortedDefs(defs []Def) []Def {
	sort.Slice(defs, func(i, j int) bool { return defs[i].Name < defs[j].Name })
	return defs
}

// LookupTopic returns the definition of a topic config.
func LookupTopic(name string) (Def, bool) {
	d, ok := index(TopicDefs())[name]
	return d, ok
}

// LookupBroker returns the definition of a broker config.
func LookupBroker(name string) (Def, bool) {
	d, ok := index(BrokerDefs())[name]
	return d, ok
}
