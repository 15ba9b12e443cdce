package config

import (
	"math"
	"strconv"
	"strings"
)

// Source is where a config value comes from, numbered as Kafka's
// DescribeConfigs config_source.
type Source int8

// The config sources, in DescribeConfigs numbering.
const (
	SourceUnknown              Source = 0
	SourceDynamicTopic         Source = 1
	SourceDynamicBroker        Source = 2
	SourceDynamicDefaultBroker Source = 3
	SourceStaticBroker         Source = 4
	SourceDefault              Source = 5
)

// BrokerLayers are the three places a broker-level value can be set, highest
// precedence first in resolution: per-broker dynamic (AlterConfigs on a broker
// id), cluster-wide dynamic (AlterConfigs on the empty broker name), and the
// static properties file.
type BrokerLayers struct {
	DynamicBroker  map[string]string
	DynamicDefault map[string]string
	Static         map[string]string
}

func (l BrokerLayers) ordered() []layer {
	return []layer{
		{values: l.DynamicBroker, source: SourceDynamicBroker},
		{values: l.DynamicDefault, source: SourceDynamicDefaultBroker},
		{values: l.Static, source: SourceStaticBroker},
	}
}

type layer struct {
	values map[string]string
	source Source
}

// resolved is one config's effective value with where it came from, and every
// place it is set, highest precedence first (Kafka's synonyms).
type resolved struct {
	value    string
	null     bool
	source   Source
	synonyms []Synonym
}

// resolveTopicDef finds a topic config's effective value. Invalid broker-level
// values are skipped (the broker refuses them when loading or altering, so
// one reaching here is stale) and reported through invalid.
func resolveTopicDef(d Def, broker BrokerLayers, overrides map[string]string, brokerDefs map[string]Def) (resolved, []error) {
	var r resolved
	var errs []error
	if v, ok := overrides[d.Name]; ok {
		if err := d.Check(v); err != nil {
			errs = append(errs, err)
		} else {
			r.synonyms = append(r.synonyms, Synonym{Name: d.Name, Value: strings.TrimSpace(v), Source: SourceDynamicTopic})
		}
	}
	var values []string // effective value of each synonym entry, in topic units
	if len(r.synonyms) == 1 {
		values = append(values, r.synonyms[0].Value)
	}
	for _, s := range d.synonyms() {
		bd := brokerDefs[s.Name]
		for _, l := range broker.ordered() {
			v, ok := l.values[s.Name]
			if !ok {
				continue
			}
			if err := bd.Check(v); err != nil {
				errs = append(errs, err)
				continue
			}
			v = strings.TrimSpace(v)
			r.synonyms = append(r.synonyms, Synonym{Name: s.Name, Value: v, Source: l.source})
			values = append(values, scale(v, s.Factor))
		}
	}
	r.synonyms, values = appendDefault(d, r.synonyms, values, brokerDefs)
	if len(r.synonyms) == 0 {
		r.null, r.source = true, SourceDefault
		return r, errs
	}
	r.value, r.source = values[0], r.synonyms[0].Source
	return r, errs
}

// appendDefault adds the built-in default as the last synonym. As in Kafka, it
// is named after the broker synonym that carries the default
// (log.retention.hours=168 for retention.ms), or after the topic config.
func appendDefault(d Def, syn []Synonym, values []string, brokerDefs map[string]Def) ([]Synonym, []string) {
	for _, s := range d.synonyms() {
		if bd := brokerDefs[s.Name]; bd.HasDefault {
			return append(syn, Synonym{Name: s.Name, Value: bd.Default, Source: SourceDefault}),
				append(values, scale(bd.Default, s.Factor))
		}
	}
	if d.HasDefault {
		return append(syn, Synonym{Name: d.Name, Value: d.Default, Source: SourceDefault}), append(values, d.Default)
	}
	return syn, values
}

// scale converts a validated integer value by factor, saturating at Long's
// range and keeping negative sentinels (-1 = unlimited) as they are.
func scale(v string, factor int64) string {
	if factor == 1 {
		return v
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return v
	}
	if n > math.MaxInt64/factor {
		return maxLong
	}
	return strconv.FormatInt(n*factor, 10)
}
