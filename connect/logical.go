package connect

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Kafka's logical types: a named schema over a primitive type, with its own
// Go value. Their names, parameters and encodings are Kafka's, so that data
// written by fjord's workers is read by Kafka's and the other way round.
const (
	// DecimalName names a bytes schema whose values are Decimal, encoded
	// as the two's complement of the unscaled value (Kafka's Decimal).
	DecimalName = "org.apache.kafka.connect.data.Decimal"
	// DecimalScaleParameter is the parameter holding a Decimal's scale.
	DecimalScaleParameter = "scale"
	// DateName names an int32 schema of days since the Unix epoch, whose
	// values are time.Time at midnight UTC.
	DateName = "org.apache.kafka.connect.data.Date"
	// TimeName names an int32 schema of milliseconds since midnight, whose
	// values are time.Time on 1970-01-01 UTC.
	TimeName = "org.apache.kafka.connect.data.Time"
	// TimestampName names an int64 schema of milliseconds since the Unix
	// epoch, whose values are time.Time.
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
)

const millisPerDay = 24 * 60 * 60 * 1000

// DecimalBuilder starts a Decimal schema of the given scale (Kafka's
// Decimal.builder): bytes, named DecimalName, version 1.
func DecimalBuilder(scale int32) *SchemaBuilder {
	return NewSchemaBuilder(TypeBytes).Name(DecimalName).
		Parameter(DecimalScaleParameter, strconv.FormatInt(int64(scale), 10)).Version(1)
}

// DateBuilder starts a Date schema (Kafka's Date.builder).
func DateBuilder() *SchemaBuilder { return NewSchemaBuilder(TypeInt32).Name(DateName).Version(1) }

// TimeBuilder starts a Time schema (Kafka's Time.builder).
func TimeBuilder() *SchemaBuilder { return NewSchemaBuilder(TypeInt32).Name(TimeName).Version(1) }

// TimestampBuilder starts a Timestamp schema (Kafka's Timestamp.builder).
func TimestampBuilder() *SchemaBuilder {
	return NewSchemaBuilder(TypeInt64).Name(TimestampName).Version(1)
}

// Required schemas of the time logical types (Kafka's Date.SCHEMA,
// Time.SCHEMA, Timestamp.SCHEMA). They are immutable values.
var (
	DateSchema      = DateBuilder().MustBuild()
	TimeSchema      = TimeBuilder().MustBuild()
	TimestampSchema = TimestampBuilder().MustBuild()
)

// logical is the logical type of a schema, or "" when it has none. A
// schema is logical when both its name and its type are those of a Kafka
// logical type.
func logical(s *Schema) string {
	if s == nil {
		return ""
	}
	switch {
	case s.name == DecimalName && s.typ == TypeBytes,
		s.name == DateName && s.typ == TypeInt32,
		s.name == TimeName && s.typ == TypeInt32,
		s.name == TimestampName && s.typ == TypeInt64:
		return s.name
	}
	return ""
}

// DecimalScale returns the scale parameter of a Decimal schema.
func DecimalScale(schema *Schema) (int32, error) {
	scale, err := decimalScale(schema)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return scale, nil
}

func decimalScale(schema *Schema) (int32, error) {
	text, ok := schema.Parameter(DecimalScaleParameter)
	if !ok {
		return 0, fmt.Errorf("Decimal schema has no %q parameter", DecimalScaleParameter)
	}
	scale, err := strconv.ParseInt(text, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("Decimal schema has an invalid scale %q", text)
	}
	return int32(scale), nil
}

// EncodeLogical turns the Go value of a logical type into the value of its
// underlying type, as converters write it: a Decimal into []byte (the
// big-endian two's complement of the unscaled value, whose scale must be
// the schema's), a Date into int32 days, a Time into int32 milliseconds, a
// Timestamp into int64 milliseconds (finer digits of a time.Time are
// dropped, as Java's Date has none). A nil value, or a schema that is not
// logical, gives value back unchanged.
func EncodeLogical(schema *Schema, value any) (any, error) {
	kind := logical(schema)
	if kind == "" || value == nil {
		return value, nil
	}
	v, err := encodeLogical(kind, schema, value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return v, nil
}

func encodeLogical(kind string, schema *Schema, value any) (any, error) {
	if kind == DecimalName {
		d, ok := value.(Decimal)
		if !ok {
			return nil, fmt.Errorf("Decimal value must be connect.Decimal, not %T", value)
		}
		scale, err := decimalScale(schema)
		if err != nil {
			return nil, err
		}
		if d.Scale != scale {
			return nil, fmt.Errorf("Decimal value %s has scale %d, its schema scale %d", d, d.Scale, scale)
		}
		return decimalBytes(d.unscaled()), nil
	}
	t, ok := value.(time.Time)
	if !ok {
		return nil, fmt.Errorf("%s value must be time.Time, not %T", shortName(kind), value)
	}
	ms := t.UnixMilli()
	switch kind {
	case DateName:
		if ms%millisPerDay != 0 || t.Nanosecond()%int(time.Millisecond) != 0 {
			return nil, fmt.Errorf("Date value %s is not midnight UTC", t.Format(time.RFC3339Nano))
		}
		days := ms / millisPerDay
		if days < math.MinInt32 || days > math.MaxInt32 {
			return nil, fmt.Errorf("Date value %s is out of range", t.Format(time.RFC3339))
		}
		return int32(days), nil
	case TimeName:
		if ms < 0 || ms > millisPerDay {
			return nil, fmt.Errorf("Time value %s is not on 1970-01-01 UTC", t.Format(time.RFC3339Nano))
		}
		return int32(ms), nil
	}
	return ms, nil
}

// DecodeLogical is the inverse of EncodeLogical: it turns the value of a
// logical type's underlying type into its Go value, with times in UTC.
func DecodeLogical(schema *Schema, value any) (any, error) {
	kind := logical(schema)
	if kind == "" || value == nil {
		return value, nil
	}
	v, err := decodeLogical(kind, schema, value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidData, err)
	}
	return v, nil
}

func decodeLogical(kind string, schema *Schema, value any) (any, error) {
	switch kind {
	case DecimalName:
		b, ok := value.([]byte)
		if !ok {
			return nil, fmt.Errorf("encoded Decimal must be []byte, not %T", value)
		}
		scale, err := decimalScale(schema)
		if err != nil {
			return nil, err
		}
		return decimalFromBytes(b, scale)
	case TimestampName:
		ms, ok := value.(int64)
		if !ok {
			return nil, fmt.Errorf("encoded Timestamp must be int64, not %T", value)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	n, ok := value.(int32)
	if !ok {
		return nil, fmt.Errorf("encoded %s must be int32, not %T", shortName(kind), value)
	}
	if kind == DateName {
		return time.UnixMilli(int64(n) * millisPerDay).UTC(), nil
	}
	if n < 0 || n > millisPerDay {
		return nil, fmt.Errorf("Time value %d is not a millisecond of a day", n)
	}
	return time.UnixMilli(int64(n)).UTC(), nil
}

// shortName is a logical type's name without its package.
func shortName(logicalName string) string {
	return logicalName[len("org.apache.kafka.connect.data."):]
}
