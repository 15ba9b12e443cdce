package transforms

import (
	"maps"
	"math"
	"strings"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// TimestampConverter is Kafka's TimestampConverter: it converts a
// timestamp, the whole key or value or one field of it, between strings
// (in a SimpleDateFormat pattern, UTC), Unix times (int64 in
// unix.precision) and Kafka's Date, Time and Timestamp types. The source
// form is read from the schema, or from the Go type of a schemaless value
// (time.Time is a Timestamp, int64 a Unix time, string a formatted one).
type TimestampConverter struct {
	versioned
	target                 Target
	field, to, precision   string
	format                 *javaDateFormat
	replaceNullWithDefault bool
	cache                  schemaCache
}

// NewTimestampConverter returns an unconfigured TimestampConverter$Key or
// $Value.
func NewTimestampConverter(target Target) *TimestampConverter {
	return &TimestampConverter{target: target}
}

// The target types, and the precisions of Unix times.
const (
	tsString    = "string"
	tsUnix      = "unix"
	tsDate      = "Date"
	tsTime      = "Time"
	tsTimestamp = "Timestamp"
)

// datePatternValidator refuses what compileJavaDateFormat refuses.
func datePatternValidator() connect.Validator {
	return connect.ValidatorFunc(func(_ string, value any) error {
		if s, ok := value.(string); ok && strings.TrimSpace(s) != "" {
			if _, err := compileJavaDateFormat(s); err != nil {
				return err
			}
		}
		return nil
	})
}

// Config defines field, target.type, format, unix.precision and
// replace.null.with.default.
func (t *TimestampConverter) Config() *connect.ConfigDef {
	return connect.NewConfigDef().
		Define(connect.ConfigKey{Name: "field", Type: connect.ConfigString, Default: "", Importance: connect.High,
			Documentation: "The field containing the timestamp, or empty if the entire value is a timestamp"}).
		Define(connect.ConfigKey{Name: "target.type", Type: connect.ConfigString, Required: true,
			Validator: connect.OneOf(tsString, tsUnix, tsDate, tsTime, tsTimestamp), Importance: connect.High,
			Documentation: "The desired timestamp representation: string, unix, Date, Time, or Timestamp"}).
		Define(connect.ConfigKey{Name: "format", Type: connect.ConfigString, Default: "", Validator: datePatternValidator(),
			Importance: connect.Medium,
			Documentation: "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string " +
				"or used to parse the input if the input is a string."}).
		Define(connect.ConfigKey{Name: "unix.precision", Type: connect.ConfigString, Default: "milliseconds",
			Validator:  connect.OneOf("nanoseconds", "microseconds", "milliseconds", "seconds"),
			Importance: connect.Low,
			Documentation: "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. " +
				"Used to generate the output when type=unix or used to parse the input if the input is a Long." +
				"Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."}).
		Define(replaceNullWithDefaultKey())
}

// Configure reads the configuration and compiles the format.
func (t *TimestampConverter) Configure(config map[string]string) error {
	cfg, err := t.Config().Parse(config)
	if err != nil {
		return err
	}
	t.field, t.to = cfg.GetString("field"), cfg.GetString("target.type")
	t.precision = cfg.GetString("unix.precision")
	t.replaceNullWithDefault = cfg.GetBoolean("replace.null.with.default")
	t.cache, t.format = nil, nil
	pattern := cfg.GetString("format")
	if t.to == tsString && strings.TrimSpace(pattern) == "" {
		return configError("TimestampConverter requires format option to be specified when using string timestamps")
	}
	if strings.TrimSpace(pattern) != "" {
		if t.format, err = compileJavaDateFormat(pattern); err != nil {
			return configError("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: %s: %v", pattern, err)
		}
	}
	return nil
}

// Apply converts the timestamp.
func (t *TimestampConverter) Apply(r connect.Record) (connect.Record, bool, error) {
	schema, value := t.target.get(r)
	if schema == nil {
		if value == nil || t.field == "" {
			v, err := t.convert(value, "")
			return t.target.with(r, nil, v), err == nil, err
		}
		m, err := requireMap(value, "converting timestamp formats")
		if err != nil {
			return r, false, err
		}
		out := maps.Clone(m)
		if out[t.field], err = t.convert(m[t.field], ""); err != nil {
			return r, false, err
		}
		return t.target.with(r, nil, out), true, nil
	}
	if t.field == "" {
		from, err := timestampTypeOf(schema)
		if err != nil {
			return r, false, err
		}
		v, err := t.convert(value, from)
		return t.target.with(r, t.typeSchema(schema.Optional()), v), err == nil, err
	}
	return t.applyToField(r, schema, value)
}

func (t *TimestampConverter) applyToField(r connect.Record, schema *connect.Schema, value any) (connect.Record, bool, error) {
	var s *connect.Struct
	if value != nil {
		var err error
		if s, err = requireStruct(value, "converting timestamp formats"); err != nil {
			return r, false, err
		}
	}
	updated := t.cache.get(schema)
	if updated == nil {
		b := copySchemaBasics(schema, connect.NewSchemaBuilder(connect.TypeStruct))
		for _, f := range schema.Fields() {
			if f.Name == t.field {
				b.Field(f.Name, t.typeSchema(f.Schema.Optional()))
			} else {
				b.Field(f.Name, f.Schema)
			}
		}
		if schema.Optional() {
			b.Optional()
		}
		var err error
		if updated, err = build(b); err != nil {
			return r, false, err
		}
		t.cache.put(schema, updated)
	}
	if s == nil {
		return t.target.with(r, updated, nil), true, nil
	}
	values := map[string]any{}
	for _, f := range s.Schema().Fields() {
		v := fieldValue(s, f.Name, t.replaceNullWithDefault)
		if f.Name == t.field {
			from, err := timestampTypeOf(f.Schema)
			if err == nil {
				v, err = t.convert(v, from)
			}
			if err != nil {
				return r, false, err
			}
		}
		values[f.Name] = v
	}
	out, err := putAll(updated, values)
	if err != nil {
		return r, false, err
	}
	return t.target.with(r, updated, out), true, nil
}

// timestampTypeOf is the form of timestamps of a schema: a logical type, a
// string or an int64 (Unix time).
func timestampTypeOf(schema *connect.Schema) (string, error) {
	switch {
	case schema.Name() == connect.TimestampName:
		return tsTimestamp, nil
	case schema.Name() == connect.DateName:
		return tsDate, nil
	case schema.Name() == connect.TimeName:
		return tsTime, nil
	case schema.Type() == connect.TypeString:
		return tsString, nil
	case schema.Type() == connect.TypeInt64:
		return tsUnix, nil
	}
	return "", dataError("Schema %s does not correspond to a known timestamp type format", schema)
}

// typeSchema is the schema of the target type.
func (t *TimestampConverter) typeSchema(optional bool) *connect.Schema {
	schemas := map[string][2]*connect.Schema{
		tsString:    {connect.StringSchema, connect.OptionalStringSchema},
		tsUnix:      {connect.Int64Schema, connect.OptionalInt64Schema},
		tsDate:      {dateSchema, optionalDateSchema},
		tsTime:      {timeSchema, optionalTimeSchema},
		tsTimestamp: {timestampSchema, optionalTimestampSchema},
	}[t.to]
	if optional {
		return schemas[1]
	}
	return schemas[0]
}

// convert turns a timestamp of form from ("" to infer it from the Go type)
// into the target form.
func (t *TimestampConverter) convert(v any, from string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if from == "" {
		switch v.(type) {
		case time.Time:
			from = tsTimestamp
		case int64:
			from = tsUnix
		case string:
			from = tsString
		default:
			return nil, dataError("TimestampConverter does not support class %s objects as timestamps", javaClass(v))
		}
	}
	raw, err := t.toRaw(v, from)
	if err != nil {
		return nil, err
	}
	return t.fromRaw(raw), nil
}

// toRaw reads a timestamp of form from as an instant.
func (t *TimestampConverter) toRaw(v any, from string) (time.Time, error) {
	switch from {
	case tsString:
		s, ok := v.(string)
		if !ok {
			return time.Time{}, dataError("Expected string timestamp to be a String, but found class %s", javaClass(v))
		}
		if t.format == nil {
			return time.Time{}, dataError("Could not parse timestamp: value (%s): no format is configured", s)
		}
		parsed, err := t.format.parse(s)
		if err != nil {
			return time.Time{}, dataError("Could not parse timestamp: value (%s) does not match pattern (%s)", s, t.format.pattern)
		}
		return parsed, nil
	case tsUnix:
		n, ok := v.(int64)
		if !ok {
			return time.Time{}, dataError("Expected Unix timestamp to be a Long, but found class %s", javaClass(v))
		}
		return time.UnixMilli(unixToMillis(n, t.precision)).UTC(), nil
	}
	tm, ok := v.(time.Time)
	if !ok {
		return time.Time{}, dataError("Expected %s to be a java.util.Date, but found class %s", from, javaClass(v))
	}
	return tm, nil
}

// fromRaw writes an instant in the target form.
func (t *TimestampConverter) fromRaw(raw time.Time) any {
	ms := raw.UnixMilli()
	switch t.to {
	case tsString:
		return t.format.format(raw)
	case tsUnix:
		return millisToUnix(ms, t.precision)
	case tsDate:
		return time.UnixMilli(floorDiv(ms, millisPerDay) * millisPerDay).UTC()
	case tsTime:
		return time.UnixMilli(ms - floorDiv(ms, millisPerDay)*millisPerDay).UTC()
	}
	return raw
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// unixToMillis and millisToUnix convert as Java's TimeUnit does: toward
// zero when dividing, saturating when multiplying.
func unixToMillis(n int64, precision string) int64 {
	switch precision {
	case "seconds":
		return saturatingMul(n, 1000)
	case "microseconds":
		return n / 1000
	case "nanoseconds":
		return n / 1_000_000
	}
	return n
}

func millisToUnix(ms int64, precision string) int64 {
	switch precision {
	case "seconds":
		return ms / 1000
	case "microseconds":
		return saturatingMul(ms, 1000)
	case "nanoseconds":
		return saturatingMul(ms, 1_000_000)
	}
	return ms
}

func saturatingMul(n, factor int64) int64 {
	switch {
	case n > math.MaxInt64/factor:
		return math.MaxInt64
	case n < math.MinInt64/factor:
		return math.MinInt64
	}
	return n * factor
}

// Close does nothing.
func (t *TimestampConverter) Close() error {
	t.cache = nil
	return nil
}
