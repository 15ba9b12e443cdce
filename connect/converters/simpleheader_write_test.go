package converters_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

func writeHeader(t *testing.T, schema *connect.Schema, value any) []byte {
	t.Helper()
	b, err := converters.SimpleHeaderConverter{}.FromConnectHeader("topic", "header", schema, value)
	if err != nil {
		t.Fatalf("write %v %#v: %v", schema, value, err)
	}
	return b
}

func testStruct(t *testing.T) *connect.Struct {
	t.Helper()
	level := connect.NewSchemaBuilder(connect.TypeInt8).Optional().Default(int8(7)).MustBuild()
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Name("com.example.User").
		Field("name", connect.StringSchema).Field("age", connect.Int32Schema).
		Field("nick", connect.OptionalStringSchema).Field("level", level).
		Field("born", connect.DateSchema).Field("tags", arrayOf(connect.StringSchema)).MustBuild()
	s := connect.NewStruct(schema)
	for name, v := range map[string]any{"name": `Ann "A"`, "age": int32(5), "born": utcDay(1970, 1, 1), "tags": []any{"x"}} {
		if err := s.Put(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// Values are written in Kafka's forms (Values.convertToString), but for
// the dates and times noted.
func TestSimpleHeaderConverterWritesKafkaForms(t *testing.T) {
	moonWalk := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	cases := []struct {
		schema *connect.Schema
		value  any
		want   string
	}{
		{connect.StringSchema, "simple", "simple"},
		{connect.StringSchema, `three"blind\"mice`, `three"blind\"mice`},
		{connect.Int8Schema, int8(-128), "-128"},
		{connect.Int16Schema, int16(12345), "12345"},
		{connect.Int32Schema, int32(-987654321), "-987654321"},
		{connect.Int64Schema, int64(math.MaxInt64), "9223372036854775807"},
		{connect.Float32Schema, float32(1.5), "1.5"},
		{connect.Float32Schema, float32(1e10), "1.0E10"},
		{connect.Float32Schema, float32(0.1), "0.1"},
		{connect.Float64Schema, 1e39, "1.0E39"},
		{connect.Float64Schema, 1e-4, "1.0E-4"},
		{connect.Float64Schema, math.NaN(), "NaN"},
		{connect.BooleanSchema, true, "true"},
		{connect.BytesSchema, []byte{1, 2, 3}, "AQID"},
		{decimalOf(2), dec("1.50"), "1.50"},
		{decimalOf(-400), dec("1e400"), "1E+400"},
		{decimalOf(9), dec("0.000000001"), "1E-9"},
		{connect.DateSchema, kafkaDate, "2019-08-23"},
		{connect.TimeSchema, kafkaTime, "14:34:54.346Z"},
		{connect.TimestampSchema, kafkaTimestamp, "2019-08-23T14:34:54.346Z"},
		{connect.TimestampSchema, kafkaTimestamp.Add(999 * time.Microsecond), "2019-08-23T14:34:54.346Z"},
		{connect.TimestampSchema, kafkaTimestamp.In(time.FixedZone("CEST", 7200)), "2019-08-23T14:34:54.346Z"},
		// In the form of the schema; Kafka writes 00:00:00.000Z, 2019-08-23
		// and 20:17:40.000Z.
		{connect.DateSchema, utcDay(1970, 1, 1), "1970-01-01"},
		{connect.TimestampSchema, kafkaDate, "2019-08-23T00:00:00.000Z"},
		{connect.TimestampSchema, moonWalk, "1969-07-20T20:17:40.000Z"},
		{connect.TimeSchema, millis(24 * 60 * 60 * 1000), "24:00:00.000Z"},
		// Without a logical schema, Kafka's rule by instant (but in full
		// before 1970).
		{nil, millis(5), "00:00:00.005Z"},
		{nil, kafkaDate, "2019-08-23"},
		{nil, kafkaTimestamp, "2019-08-23T14:34:54.346Z"},
		{nil, moonWalk, "1969-07-20T20:17:40.000Z"},
		{nil, utcDay(1969, 7, 20), "1969-07-20"},
		{connect.DateSchema, utcDay(12345, 1, 1), "12345-01-01"},
		{connect.DateSchema, utcDay(0, 1, 1), "0000-01-01"},
		{connect.DateSchema, utcDay(-1, 1, 1), "-0001-01-01"},
		{arrayOf(connect.StringSchema), []any{`three"blind\"mice`, "x"}, `["three\"blind\\\"mice","x"]`},
		{arrayOf(connect.Int32Schema), []any{int32(1), int32(-2)}, "[1,-2]"},
		{arrayOf(connect.DateSchema), []any{utcDay(1970, 1, 1)}, "[1970-01-01]"},
		{nil, []any{"a", int8(1), nil, true, []byte{1}, []any{}}, `["a",1,null,true,"AQ==",[]]`},
		{mapOf(connect.StringSchema, connect.Int16Schema), map[any]any{"foo": int16(12345), "bar": int16(0), "baz": int16(-4321)},
			`{"bar":0,"baz":-4321,"foo":12345}`},
		{mapOf(connect.DateSchema, connect.StringSchema), map[any]any{kafkaDate: "x"}, `{2019-08-23:"x"}`},
		{nil, map[any]any{"k": map[any]any{int8(1): []any{nil}}}, `{"k":{1:[null]}}`},
		{testStruct(t).Schema(), testStruct(t), `{"name":"Ann \"A\"","age":5,"nick":null,"level":7,"born":1970-01-01,"tags":["x"]}`},
		{nil, []any{(*connect.Struct)(nil)}, "[null]"},
	}
	for _, tc := range cases {
		if got := writeHeader(t, tc.schema, tc.value); string(got) != tc.want {
			t.Errorf("%v %#v wrote %q, want %q", tc.schema, tc.value, got, tc.want)
		}
	}
}

// Writing and reading back gives Kafka's reading of Kafka's text, which
// keeps some schemas (and Kafka's assertRoundTrip cases) and not others.
func TestSimpleHeaderConverterRoundTripsEveryType(t *testing.T) {
	mixedMap := map[any]any{"foo": "bar", "baz": int16(3456)}
	user := connect.NewStruct(connect.NewSchemaBuilder(connect.TypeStruct).Field("name", connect.StringSchema).
		Field("age", connect.Int32Schema).Field("nick", connect.OptionalStringSchema).
		Field("tags", arrayOf(connect.StringSchema)).MustBuild())
	for name, v := range map[string]any{"name": "Ann", "age": int32(5), "tags": []any{"x"}} {
		if err := user.Put(name, v); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		schema     *connect.Schema
		value      any
		backSchema *connect.Schema
		back       any
	}{
		{connect.Int8Schema, int8(-5), connect.Int8Schema, int8(-5)},
		{connect.Int16Schema, int16(300), connect.Int16Schema, int16(300)},
		{connect.Int16Schema, int16(5), connect.Int8Schema, int8(5)}, // the smallest type that holds it
		{connect.Int32Schema, int32(70000), connect.Int32Schema, int32(70000)},
		{connect.Int64Schema, int64(1 << 40), connect.Int64Schema, int64(1 << 40)},
		{connect.Float32Schema, float32(1.5), connect.Float32Schema, float32(1.5)},
		{connect.Float32Schema, float32(2), connect.Int8Schema, int8(2)},
		{connect.Float64Schema, 0.1, connect.Float32Schema, float32(0.1)},
		{connect.Float64Schema, 1e39, connect.Float64Schema, 1e39},
		{connect.BooleanSchema, false, connect.BooleanSchema, false},
		{connect.StringSchema, "simple", connect.StringSchema, "simple"},
		{connect.StringSchema, "", connect.StringSchema, ""},
		{connect.StringSchema, `three"blind\"mice`, connect.StringSchema, `three"blind\"mice`},
		{connect.StringSchema, "string with delimiters: <>?,./\\=+-!@#$%^&*(){}[]|;':", connect.StringSchema, "string with delimiters: <>?,./\\=+-!@#$%^&*(){}[]|;':"},
		{connect.StringSchema, "42", connect.Int8Schema, int8(42)},
		{connect.StringSchema, "null", nil, nil},
		{connect.BytesSchema, []byte("hi"), connect.StringSchema, "aGk="},
		{decimalOf(2), dec("1.50"), connect.Float32Schema, float32(1.5)},
		{decimalOf(0), dec("9223372036854775808"), decimalOf(0), dec("9223372036854775808")},
		{decimalOf(-400), dec("1e400"), decimalOf(-400), dec("1e400")},
		{connect.DateSchema, kafkaDate, connect.DateSchema, kafkaDate},
		{connect.DateSchema, utcDay(1970, 1, 1), connect.DateSchema, utcDay(1970, 1, 1)},
		{connect.TimeSchema, kafkaTime, connect.TimeSchema, kafkaTime},
		{connect.TimeSchema, millis(24 * 60 * 60 * 1000), connect.TimeSchema, millis(24 * 60 * 60 * 1000)},
		{connect.TimestampSchema, kafkaTimestamp, connect.TimestampSchema, kafkaTimestamp},
		{connect.TimestampSchema, kafkaDate, connect.TimestampSchema, kafkaDate},
		{arrayOf(connect.StringSchema), []any{"foo", "bar"}, arrayOf(connect.StringSchema), []any{"foo", "bar"}},
		{arrayOf(connect.Int32Schema), []any{int32(1234567890), int32(-987654321)}, arrayOf(connect.Int32Schema), []any{int32(1234567890), int32(-987654321)}},
		{arrayOf(connect.Int64Schema), []any{int64(1), int64(2)}, arrayOf(connect.Int8Schema), []any{int8(1), int8(2)}},
		{arrayOf(connect.Float64Schema), []any{0.5, 2.0}, arrayOf(connect.Float32Schema), []any{float32(0.5), float32(2)}},
		{mapOf(connect.StringSchema, connect.StringSchema), map[any]any{"foo": "123", "bar": "baz"},
			mapOf(connect.StringSchema, connect.StringSchema), map[any]any{"foo": "123", "bar": "baz"}},
		{mapOf(connect.StringSchema, connect.Int32Schema), map[any]any{"foo": int32(1234567890), "bar": int32(0), "baz": int32(-987654321)},
			mapOf(connect.StringSchema, connect.Int32Schema), map[any]any{"foo": int32(1234567890), "bar": int32(0), "baz": int32(-987654321)}},
		{mapOf(connect.Int32Schema, arrayOf(connect.BooleanSchema)), map[any]any{int32(7): []any{true}},
			mapOf(connect.Int8Schema, arrayOf(connect.BooleanSchema)), map[any]any{int8(7): []any{true}}},
		// A struct reads back as a map; this one's values are mixed.
		{user.Schema(), user, nil, map[any]any{"name": "Ann", "age": int8(5), "nick": nil, "tags": []any{"x"}}},
		{nil, mixedMap, nil, mixedMap},
		{nil, []any{"foo", int16(13344)}, nil, []any{"foo", int16(13344)}},
		{nil, map[any]any{}, nil, map[any]any{}},
		{nil, []any{}, nil, []any{}},
	}
	for _, tc := range cases {
		text := writeHeader(t, tc.schema, tc.value)
		got := readHeaderOrFail(t, converters.SimpleHeaderConverter{}, text)
		if !sameSchema(got.Schema, tc.backSchema) || !sameHeaderValue(got.Value, tc.back) {
			t.Errorf("%v %#v wrote %q, read back as %v %#v, want %v %#v", tc.schema, tc.value, text, got.Schema, got.Value, tc.backSchema, tc.back)
		}
	}
}

// Where fjord reads differently from Kafka on purpose (see
// SimpleHeaderConverter); each case notes Kafka's reading.
func TestSimpleHeaderConverterDiffersFromKafka(t *testing.T) {
	checkHeaderReads(t, []headerRead{
		// Kafka: a\"b, a\\b, "" and "a,,b" (escapes kept, blank runs dropped).
		{`["a\"b", "a\\b", " ", "a, ,b"]`, arrayOf(connect.StringSchema), []any{`a"b`, `a\b`, " ", "a, ,b"}},
		{`["a\nb", "a\:b"]`, arrayOf(connect.StringSchema), []any{`a\nb`, `a\:b`}}, // as Kafka: other escapes stay
		// Kafka: array and map schemas without element schemas.
		{`[1, "a"]`, nil, []any{int8(1), "a"}},
		// Kafka: array<array<int16>> holding an int8, as the later schema wins.
		{"[[1], [300]]", nil, []any{[]any{int8(1)}, []any{int16(300)}}},
		// Kafka: a list without element schema holding a BigDecimal.
		{`["1.0", 9223372036854775808]`, nil, asText{}},
		// Kafka: array<Time> holding a date.
		{"[2019-08-23, 14:34:54.346Z]", nil, asText{}},
		// Kafka: array<Decimal(-400)> holding a decimal of scale 0.
		{"[9223372036854775808, 1e400]", nil, asText{}},
		// Kafka: a map whose key is a list.
		{"{[1]: 2}", nil, asText{}},
		// Kafka (lenient SimpleDateFormat): 2019-03-02, 2019-08-24T01:00, Time 25:61:61.999.
		{"2019-02-30", nil, asText{}},
		{"2019-08-23T25:00:00.000Z", nil, asText{}},
		{"25:61:61.999Z", connect.Int8Schema, int8(25)},
		// Kafka: a Date in the year 5881580.
		{"[2147483647, 2019-08-23]", nil, asText{}},
		// Kafka: the string " ", the leading whitespace alone.
		{" [x", nil, asText{}},
		{" {foo: 3}", nil, asText{}},
		// Kafka: a Decimal it writes as 1.0E+2147483648 and cannot read.
		{"10e2147483647", nil, asText{}},
	})
}

func TestSimpleHeaderConverterNulls(t *testing.T) {
	c := converters.SimpleHeaderConverter{}
	for _, tc := range []struct {
		schema *connect.Schema
		value  any
	}{{nil, nil}, {connect.StringSchema, nil}, {connect.OptionalStringSchema, nil}, {nil, (*connect.Struct)(nil)}} {
		if b := writeHeader(t, tc.schema, tc.value); b != nil {
			t.Errorf("%v %#v wrote %q, want nil", tc.schema, tc.value, b)
		}
	}
	if sv, err := c.ToConnectHeader("t", "h", nil); err != nil || sv.Schema != nil || sv.Value != nil {
		t.Errorf("nil read as %v %#v, %v", sv.Schema, sv.Value, err)
	}
	if b := writeHeader(t, connect.StringSchema, ""); b == nil || len(b) != 0 {
		t.Errorf(`"" wrote %#v, want empty and not nil`, b)
	}
	if sv, err := c.ToConnectHeader("t", "h", []byte{}); err != nil || sv.Schema != connect.StringSchema || sv.Value != "" {
		t.Errorf("empty header read as %v %#v, %v", sv.Schema, sv.Value, err)
	}
}

func TestSimpleHeaderConverterRefusesNonConnectValues(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, v := range []any{5, uint8(5), map[string]any{"a": 1}, []string{"a"}, []any{struct{}{}}, map[any]any{"k": 1}, cyclic} {
		_, err := converters.SimpleHeaderConverter{}.FromConnectHeader("t", "h", nil, v)
		if !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("%T: error %v does not wrap ErrInvalidData", v, err)
		}
	}
}

// Hostile headers read in bounded work, as strings where they go too deep.
func TestSimpleHeaderConverterBoundsHostileInput(t *testing.T) {
	nested := func(depth int) string { return strings.Repeat("[", depth) + strings.Repeat("]", depth) }
	var deepest any = []any{}
	for range 63 {
		deepest = []any{deepest}
	}
	checkHeaderReads(t, []headerRead{
		{nested(64), nil, deepest},
		{nested(65), nil, asText{}},
		{strings.Repeat("[", 1<<20), nil, asText{}},
		{strings.Repeat(`{"a":`, 1<<16), nil, asText{}},
		{"[" + strings.Repeat("1e999999999,", 1000) + "1e999999999]", arrayOf(decimalOf(-999999999)), decimals(1001, "1e999999999")},
		{`["` + strings.Repeat(`\"`, 1<<16) + `"]`, arrayOf(connect.StringSchema), []any{strings.Repeat(`"`, 1<<16)}},
	})
}

func decimals(n int, s string) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = dec(s)
	}
	return out
}

// Strings inside arrays and maps read back as written, whatever they hold
// (but for what reads as a date or time, as in Kafka).
func TestSimpleHeaderConverterQuotedStringsRoundTrip(t *testing.T) {
	c := converters.SimpleHeaderConverter{}
	for _, s := range []string{"", " ", "\t\n", `"`, `\`, `\\`, `\"`, `"\`, `a\`, `\n`, `\:`, `a\:b`, "[1]", "{}", ",", ":",
		" , ", "a, ,b", "null", "true", "42", "é☃\U0001F600", "\x00", `}"]`, `\,`, `\, `, "2019-08-23x"} {
		for _, v := range []any{[]any{s, s}, map[any]any{s: s}} {
			text := writeHeader(t, nil, v)
			got := readHeaderOrFail(t, c, text)
			if !sameHeaderValue(got.Value, v) {
				t.Errorf("%#v wrote %q, read back as %#v", v, text, got.Value)
			}
		}
	}
}

func TestSimpleHeaderConverterConfig(t *testing.T) {
	c := converters.SimpleHeaderConverter{}
	if err := c.ConfigureHeaders(map[string]string{"converter.encoding": "UTF-16", "anything": "x"}); err != nil {
		t.Errorf("ConfigureHeaders: %v", err)
	}
	if keys := c.Config().Keys(); len(keys) != 0 {
		t.Errorf("config keys %v, want none", keys)
	}
	if converters.SimpleHeaderConverterClass != "org.apache.kafka.connect.storage.SimpleHeaderConverter" {
		t.Error(converters.SimpleHeaderConverterClass)
	}
}
