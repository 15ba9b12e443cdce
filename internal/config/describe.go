package config

import (
	"errors"
	"fmt"
	"strings"
)

// Synonym is one place a config is set, as in DescribeConfigs v1+.
type Synonym struct {
	Name   string
	Value  string
	Source Source
}

// Entry is one config as DescribeConfigs reports it.
type Entry struct {
	Name      string
	Value     string
	Null      bool
	Source    Source
	ReadOnly  bool
	Sensitive bool
	Type      Type
	Doc       string
	Synonyms  []Synonym // highest precedence first, the entry's own source included
}

// DescribeTopic lists every topic config, sorted by name, with its effective
// value, source and synonyms. brokerProps are the static properties,
// dynamicBroker the broker-level dynamic values that apply (per-broker and
// cluster default merged by the caller; use DescribeTopicLayers to keep them
// apart). Invalid stored values are skipped as ResolveTopic skips them.
func DescribeTopic(brokerProps, dynamicBroker, topicOverrides map[string]string) []Entry {
	return DescribeTopicLayers(BrokerLayers{DynamicBroker: dynamicBroker, Static: brokerProps}, topicOverrides)
}

// DescribeTopicLayers is DescribeTopic with the three broker layers apart.
func DescribeTopicLayers(broker BrokerLayers, topicOverrides map[string]string) []Entry {
	brokerDefs := index(BrokerDefs())
	defs := TopicDefs()
	out := make([]Entry, 0, len(defs))
	for _, d := range defs {
		r, _ := resolveTopicDef(d, broker, topicOverrides, brokerDefs)
		out = append(out, entry(d, r))
	}
	return out
}

// DescribeBroker lists every broker config, sorted by name, with static
// properties overridden by dynamic ones. Sensitive values are null.
func DescribeBroker(staticProps, dynamicProps map[string]string) []Entry {
	return DescribeBrokerLayers(BrokerLayers{DynamicBroker: dynamicProps, Static: staticProps})
}

// DescribeBrokerLayers is DescribeBroker with the three layers apart.
func DescribeBrokerLayers(broker BrokerLayers) []Entry {
	defs := BrokerDefs()
	out := make([]Entry, 0, len(defs))
	for _, d := range defs {
		var r resolved
		for _, l := range broker.ordered() {
			if v, ok := l.values[d.Name]; ok && d.Check(v) == nil {
				r.synonyms = append(r.synonyms, Synonym{Name: d.Name, Value: strings.TrimSpace(v), Source: l.source})
			}
		}
		if d.HasDefault {
			r.synonyms = append(r.synonyms, Synonym{Name: d.Name, Value: d.Default, Source: SourceDefault})
		}
		if len(r.synonyms) == 0 {
			r.null, r.source = true, SourceDefault
		} else {
			r.value, r.source = r.synonyms[0].Value, r.synonyms[0].Source
		}
		out = append(out, entry(d, r))
	}
	return out
}

func entry(d Def, r resolved) Entry {
	e := Entry{Name: d.Name, Value: r.value, Null: r.null, Source: r.source, ReadOnly: d.ReadOnly,
		Sensitive: d.Sensitive, Type: d.Type, Doc: d.Doc, Synonyms: r.synonyms}
	if d.Sensitive {
		e.Value, e.Null = "", true
		for i := range e.Synonyms {
			e.Synonyms[i].Value = ""
		}
	}
	return e
}

// ValidateTopicConfig checks a topic config name and value as CreateTopics
// and AlterConfigs must. The error wraps ErrInvalidConfig (kerr.InvalidConfig).
func ValidateTopicConfig(name, value string) error {
	d, ok := LookupTopic(name)
	if !ok {
		return &invalidError{msg: fmt.Sprintf("unknown topic config %q", name)}
	}
	return d.Check(value)
}

// ErrReadOnlyConfig is wrapped, together with ErrInvalidConfig, when a
// broker config that is not dynamically updatable is altered.
var ErrReadOnlyConfig = errors.New("config cannot be updated dynamically")

// ValidateBrokerConfig checks a broker config name and value. With dynamic
// set (AlterConfigs on a broker resource) only dynamically updatable configs
// are accepted, as in Kafka.
func ValidateBrokerConfig(name, value string, dynamic bool) error {
	d, ok := LookupBroker(name)
	if !ok {
		return &invalidError{msg: fmt.Sprintf("unknown broker config %q", name)}
	}
	if dynamic && d.ReadOnly {
		return &invalidError{msg: fmt.Sprintf("%s: %v", name, ErrReadOnlyConfig), extra: ErrReadOnlyConfig}
	}
	return d.Check(value)
}
