package transforms

import (
	"github.com/fjordhq/fjord/connect"
)

// Filter is Kafka's Filter: it drops every record. Give it a predicate to
// drop the records that match (or, negated, those that do not).
type Filter struct{ versioned }

// NewFilter returns a Filter.
func NewFilter() *Filter { return &Filter{} }

// Config defines no keys.
func (*Filter) Config() *connect.ConfigDef { return connect.NewConfigDef() }

// Configure does nothing.
func (*Filter) Configure(map[string]string) error { return nil }

// Apply drops the record.
func (*Filter) Apply(connect.Record) (connect.Record, bool, error) {
	return connect.Record{}, false, nil
}

// Close does nothing.
func (*Filter) Close() error { return nil }

// HasHeaderKey is Kafka's HasHeaderKey predicate: true for records with at
// least one header with the configured name.
type HasHeaderKey struct {
	versioned
	name string
}

// NewHasHeaderKey returns an unconfigured HasHeaderKey.
func NewHasHeaderKey() *HasHeaderKey { return &HasHeaderKey{} }

// Config defines name.
func (*HasHeaderKey) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "name", Type: connect.ConfigString, Required: true,
			Validator: connect.NonEmptyString(), Importance: connect.Medium, Documentation: "The header name."})
}

// Configure reads the header name.
func (p *HasHeaderKey) Configure(config map[string]string) error {
	cfg, err := p.Config().Parse(config)
	if err != nil {
		return err
	}
	p.name = cfg.GetString("name")
	return nil
}

// Test reports whether the record has a header of the name.
func (p *HasHeaderKey) Test(r connect.Record) bool {
	_, ok := r.Headers.Last(p.name)
	return ok
}

// Close does nothing.
func (*HasHeaderKey) Close() error { return nil }

// TopicNameMatches is Kafka's TopicNameMatches predicate: true for records
// whose whole topic matches the configured regular expression.
type TopicNameMatches struct {
	versioned
	pattern *javaPattern
}

// NewTopicNameMatches returns an unconfigured TopicNameMatches.
func NewTopicNameMatches() *TopicNameMatches { return &TopicNameMatches{} }

// Config defines pattern.
func (*TopicNameMatches) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "pattern", Type: connect.ConfigString, Required: true,
			Validator: connect.AllOf(connect.NonEmptyString(), regexValidator()), Importance: connect.Medium,
			Documentation: "A Java regular expression for matching against the name of a record's topic."})
}

// Configure compiles the pattern.
func (p *TopicNameMatches) Configure(config map[string]string) error {
	cfg, err := p.Config().Parse(config)
	if err != nil {
		return err
	}
	pattern := cfg.GetString("pattern")
	if p.pattern, err = compileJavaPattern(pattern); err != nil {
		return configError("Invalid value %s for configuration pattern: entry must be a Java-compatible regular expression: %v", pattern, err)
	}
	return nil
}

// Test reports whether the whole topic matches.
func (p *TopicNameMatches) Test(r connect.Record) bool { return p.pattern.whole.MatchString(r.Topic) }

// Close does nothing.
func (*TopicNameMatches) Close() error { return nil }

// RecordIsTombstone is Kafka's RecordIsTombstone predicate: true for
// records whose value is null.
type RecordIsTombstone struct{ versioned }

// NewRecordIsTombstone returns a RecordIsTombstone.
func NewRecordIsTombstone() *RecordIsTombstone { return &RecordIsTombstone{} }

// Config defines no keys.
func (*RecordIsTombstone) Config() *connect.ConfigDef { return connect.NewConfigDef() }

// Configure does nothing.
func (*RecordIsTombstone) Configure(map[string]string) error { return nil }

// Test reports whether the value is null.
func (*RecordIsTombstone) Test(r connect.Record) bool { return r.Value == nil }

// Close does nothing.
func (*RecordIsTombstone) Close() error { return nil }
