package transforms

import (
	"strings"

	"github.com/fjordhq/fjord/connect"
)

// RegexRouter is Kafka's RegexRouter: when the whole topic matches regex,
// the topic becomes the first match replaced with replacement, in which
// $1 or ${name} stand for groups (Java's Matcher.replaceFirst).
type RegexRouter struct {
	versioned
	pattern     *javaPattern
	replacement javaReplacement
}

// NewRegexRouter returns an unconfigured RegexRouter.
func NewRegexRouter() *RegexRouter { return &RegexRouter{} }

// Config defines regex and replacement.
func (t *RegexRouter) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "regex", Type: connect.ConfigString, Required: true, Validator: regexValidator(),
			Importance: connect.High, Documentation: "Regular expression to use for matching."}).
		Define(connect.ConfigKey{Name: "replacement", Type: connect.ConfigString, Required: true,
			Importance: connect.High, Documentation: "Replacement string."})
}

// Configure compiles the regex and checks the replacement against it.
func (t *RegexRouter) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	if t.pattern, err = compileJavaPattern(cfg.GetString("regex")); err != nil {
		return configError("Invalid value %s for configuration regex: Invalid regex: %v", cfg.GetString("regex"), err)
	}
	replacement := cfg.GetString("replacement")
	t.replacement, err = parseJavaReplacement(replacement, t.pattern.find.NumSubexp(), t.pattern.find.SubexpNames())
	if err != nil {
		return configError("Invalid value %s for configuration replacement: %v", replacement, err)
	}
	return nil
}

// Apply reroutes a record whose topic matches.
func (t *RegexRouter) Apply(r connect.Record) (connect.Record, bool, error) {
	if t.pattern.whole.MatchString(r.Topic) {
		r.Topic = t.pattern.replaceFirst(r.Topic, t.replacement)
	}
	return r, true, nil
}

// Close does nothing.
func (t *RegexRouter) Close() error { return nil }

// TimestampRouter is Kafka's TimestampRouter: the topic becomes
// topic.format with ${topic} replaced by the topic and ${timestamp} by the
// record's timestamp in timestamp.format (a SimpleDateFormat pattern, UTC).
// A record without a timestamp is an error.
type TimestampRouter struct {
	versioned
	topicFormat     string
	timestampFormat *javaDateFormat
}

// NewTimestampRouter returns an unconfigured TimestampRouter.
func NewTimestampRouter() *TimestampRouter { return &TimestampRouter{} }

// Config defines topic.format and timestamp.format. Unlike Kafka, which
// finds a bad pattern on the first record, the pattern is checked when
// the configuration is validated.
func (t *TimestampRouter) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "topic.format", Type: connect.ConfigString, Default: "${topic}-${timestamp}",
			Importance: connect.High,
			Documentation: "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders " +
				"for the topic and timestamp, respectively."}).
		Define(connect.ConfigKey{Name: "timestamp.format", Type: connect.ConfigString, Default: "yyyyMMdd",
			Validator: datePatternValidator(), Importance: connect.High,
			Documentation: "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>."})
}

// Configure reads the configuration and compiles the pattern.
func (t *TimestampRouter) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.topicFormat = cfg.GetString("topic.format")
	if t.timestampFormat, err = compileJavaDateFormat(cfg.GetString("timestamp.format")); err != nil {
		return configError("Invalid value %s for configuration timestamp.format: %v", cfg.GetString("timestamp.format"), err)
	}
	return nil
}

// Apply reroutes the record.
func (t *TimestampRouter) Apply(r connect.Record) (connect.Record, bool, error) {
	if r.Timestamp.IsZero() {
		return r, false, dataError("Timestamp missing on record: topic %s", r.Topic)
	}
	topic := strings.ReplaceAll(t.topicFormat, "${topic}", r.Topic)
	r.Topic = strings.ReplaceAll(topic, "${timestamp}", t.timestampFormat.format(r.Timestamp))
	return r, true, nil
}

// Close does nothing.
func (t *TimestampRouter) Close() error { return nil }
