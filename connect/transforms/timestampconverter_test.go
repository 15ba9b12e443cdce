package transforms_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/transforms"
)

// The instants of Kafka's TimestampConverterTest.
var (
	tcEpoch       = time.UnixMilli(0).UTC()
	tcTime        = time.UnixMilli(1234).UTC()
	tcDate        = time.UnixMilli(86400000).UTC()
	tcDatePlus    = time.UnixMilli(86400000 + 1234).UTC()
	tcDatePlusMs  = int64(86400000 + 1234)
	tcFormat      = "yyyy MM dd HH mm ss SSS z"
	tcFormatted   = "1970 01 02 00 00 01 234 UTC"
	timestampSch  = connect.TimestampBuilder().MustBuild()
	optTimestamp  = connect.TimestampBuilder().Optional().MustBuild()
	dateSch       = connect.DateBuilder().MustBuild()
	timeSch       = connect.TimeBuilder().MustBuild()
	tcUnixMicros  = tcDatePlusMs*1000 + 123
	tcUnixNanos   = tcUnixMicros*1000 + 456
	tcUnixSeconds = tcDatePlusMs / 1000
)

func TestTimestampConverterWholeValue(t *testing.T) {
	for _, tc := range []struct {
		name       string
		config     []string
		schema     *connect.Schema
		in         any
		wantSchema *connect.Schema
		want       any
	}{
		{"schemaless to Timestamp", []string{"target.type", "Timestamp"}, nil, tcDatePlus, nil, tcDatePlus},
		{"schemaless to Date", []string{"target.type", "Date"}, nil, tcDatePlus, nil, tcDate},
		{"schemaless to Time", []string{"target.type", "Time"}, nil, tcDatePlus, nil, tcTime},
		{"schemaless to unix", []string{"target.type", "unix"}, nil, tcDatePlus, nil, tcDatePlusMs},
		{"schemaless to string", []string{"target.type", "string", "format", tcFormat}, nil, tcDatePlus, nil, tcFormatted},
		{"schemaless Date to Date", []string{"target.type", "Date"}, nil, tcDate, nil, tcDate},
		{"schemaless unix to Timestamp", []string{"target.type", "Timestamp"}, nil, tcDatePlusMs, nil, tcDatePlus},
		{"schemaless string to Timestamp", []string{"target.type", "Timestamp", "format", tcFormat}, nil, tcFormatted, nil, tcDatePlus},
		{"unix seconds", []string{"target.type", "Timestamp", "unix.precision", "seconds"}, nil, tcUnixSeconds, nil,
			time.UnixMilli(tcUnixSeconds * 1000).UTC()},
		{"unix micros", []string{"target.type", "Timestamp", "unix.precision", "microseconds"}, nil, tcUnixMicros, nil, tcDatePlus},
		{"unix nanos", []string{"target.type", "Timestamp", "unix.precision", "nanoseconds"}, nil, tcUnixNanos, nil, tcDatePlus},
		{"to unix micros", []string{"target.type", "unix", "unix.precision", "microseconds"}, nil, tcDatePlus, nil, tcDatePlusMs * 1000},
		{"to unix nanos", []string{"target.type", "unix", "unix.precision", "nanoseconds"}, nil, tcDatePlus, nil, tcDatePlusMs * 1000000},
		{"to unix seconds", []string{"target.type", "unix", "unix.precision", "seconds"}, nil, tcDatePlus, nil, tcUnixSeconds},
		{"Timestamp to Timestamp", []string{"target.type", "Timestamp"}, timestampSch, tcDatePlus, timestampSch, tcDatePlus},
		{"Timestamp to Date", []string{"target.type", "Date"}, timestampSch, tcDatePlus, dateSch, tcDate},
		{"Timestamp to Time", []string{"target.type", "Time"}, timestampSch, tcDatePlus, timeSch, tcTime},
		{"Timestamp to unix", []string{"target.type", "unix"}, timestampSch, tcDatePlus, connect.Int64Schema, tcDatePlusMs},
		{"Timestamp to string", []string{"target.type", "string", "format", tcFormat}, timestampSch, tcDatePlus,
			connect.StringSchema, tcFormatted},
		{"Date to Timestamp", []string{"target.type", "Timestamp"}, dateSch, tcDate, timestampSch, tcDate},
		{"Time to Timestamp", []string{"target.type", "Timestamp"}, timeSch, tcTime, timestampSch, tcTime},
		{"int64 to Timestamp", []string{"target.type", "Timestamp"}, connect.Int64Schema, tcDatePlusMs, timestampSch, tcDatePlus},
		{"string to Timestamp", []string{"target.type", "Timestamp", "format", tcFormat}, connect.StringSchema, tcFormatted,
			timestampSch, tcDatePlus},
		{"null keeps optional", []string{"target.type", "Timestamp"}, connect.OptionalInt64Schema, nil, optTimestamp, nil},
		{"negative to Date", []string{"target.type", "Date"}, nil, time.UnixMilli(-1).UTC(), nil, time.UnixMilli(-86400000).UTC()},
	} {
		tr := configured(t, transforms.NewTimestampConverter(transforms.Value), tc.config...)
		out := apply(t, tr, connect.Record{ValueSchema: tc.schema, Value: tc.in})
		if !same(out.Value, tc.want) || !out.ValueSchema.Equal(tc.wantSchema) {
			t.Errorf("%s: %#v (%v), want %#v (%v)", tc.name, out.Value, out.ValueSchema, tc.want, tc.wantSchema)
		}
	}
}

func TestTimestampConverterField(t *testing.T) {
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Name("r").
		Field("ts", timestampSch).Field("other", connect.StringSchema).MustBuild()
	value := structOf(t, schema, "ts", tcDatePlus, "other", "test")
	tr := configured(t, transforms.NewTimestampConverter(transforms.Key), "target.type", "Date", "field", "ts")
	out := apply(t, tr, connect.Record{KeySchema: schema, Key: value, Value: "v"})
	if f, _ := out.KeySchema.Field("ts"); !f.Schema.Equal(dateSch) || out.KeySchema.Name() != "r" {
		t.Errorf("schema %v", f.Schema)
	}
	got := out.Key.(*connect.Struct)
	if !same(got.Get("ts"), tcDate) || got.Get("other") != "test" || out.Value != "v" {
		t.Errorf("value %v", got)
	}
	out = apply(t, tr, connect.Record{Key: object("ts", tcDatePlus, "other", "test")})
	if !same(out.Key, object("ts", tcDate, "other", "test")) {
		t.Errorf("schemaless %v", out.Key)
	}
	if out := apply(t, tr, connect.Record{KeySchema: schema}); out.Key != nil {
		t.Errorf("null struct: %v", out.Key)
	}
}

func TestTimestampConverterErrors(t *testing.T) {
	for _, config := range []map[string]string{
		{},
		{"target.type": "invalid"},
		{"target.type": "string"},
		{"target.type": "string", "format": "bad-format"},
		{"target.type": "unix", "unix.precision": "minutes"},
		{"target.type": "string", "format": "'unterminated"},
		{"target.type": "string", "format": "YYYY-ww"},
	} {
		if err := transforms.NewTimestampConverter(transforms.Value).Configure(config); !errors.Is(err, connect.ErrInvalidConfig) {
			t.Errorf("Configure(%v): %v", config, err)
		}
	}
	for _, tc := range []struct {
		config []string
		r      connect.Record
		want   string
	}{
		{[]string{"target.type", "Date"}, connect.Record{Value: int32(1)}, "TimestampConverter does not support class java.lang.Integer objects as timestamps"},
		{[]string{"target.type", "Date"}, connect.Record{ValueSchema: connect.BooleanSchema, Value: true},
			"Schema Schema{BOOLEAN} does not correspond to a known timestamp type format"},
		{[]string{"target.type", "Date", "format", "yyyy"}, connect.Record{Value: "nope"},
			"Could not parse timestamp: value (nope) does not match pattern (yyyy)"},
		{[]string{"target.type", "Date"}, connect.Record{Value: "2020"}, "no format is configured"},
		{[]string{"target.type", "Date"}, connect.Record{ValueSchema: timestampSch, Value: int64(1)},
			"Expected Timestamp to be a java.util.Date, but found class java.lang.Long"},
	} {
		tr := configured(t, transforms.NewTimestampConverter(transforms.Value), tc.config...)
		if _, _, err := tr.Apply(tc.r); !errors.Is(err, connect.ErrInvalidData) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.r, err, tc.want)
		}
	}
}
