package converters_test

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// asText marks a header that reads as a string holding all of its text.
type asText struct{}

// headerRead is a header's text and what it reads as: schema and value,
// nil schema for schemaless (or, with a nil value, null), or asText{}.
type headerRead struct {
	in     string
	schema *connect.Schema
	value  any
}

func checkHeaderReads(t *testing.T, cases []headerRead) {
	t.Helper()
	c := converters.SimpleHeaderConverter{}
	for _, tc := range cases {
		got, err := c.ToConnectHeader("topic", "header", []byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		want := connect.SchemaAndValue{Schema: tc.schema, Value: tc.value}
		if _, ok := tc.value.(asText); ok {
			want = connect.SchemaAndValue{Schema: connect.StringSchema, Value: tc.in}
		}
		if !sameSchema(got.Schema, want.Schema) || !sameHeaderValue(got.Value, want.Value) {
			t.Errorf("%q read as %v %#v, want %v %#v", tc.in, got.Schema, got.Value, want.Schema, want.Value)
		}
		if err := connect.ValidateValue(got.Schema, got.Value); err != nil {
			t.Errorf("%q read as an invalid value: %v", tc.in, err)
		}
	}
}

func arrayOf(s *connect.Schema) *connect.Schema { return connect.ArrayOf(s).MustBuild() }

func mapOf(k, v *connect.Schema) *connect.Schema { return connect.MapOf(k, v).MustBuild() }

func decimalOf(scale int32) *connect.Schema { return connect.DecimalBuilder(scale).MustBuild() }

func dec(s string) connect.Decimal {
	d, err := connect.ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func utcDay(year int, month time.Month, day int) time.Time {
	return time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
}

func millis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// The instants of Kafka's tests.
var (
	kafkaTimestamp = time.Date(2019, 8, 23, 14, 34, 54, 346e6, time.UTC)
	kafkaDate      = utcDay(2019, 8, 23)
	kafkaTime      = time.Date(1970, 1, 1, 14, 34, 54, 346e6, time.UTC)
)

// Kafka's ValuesTest and SimpleHeaderConverterTest inputs. Where Kafka's
// schema has no element schema, fjord's is nil (schemaless).
func TestSimpleHeaderConverterReadsKafkaExamples(t *testing.T) {
	const ws = "\n \t \t\n"
	short := mapOf(connect.StringSchema, connect.Int16Schema)
	ints := mapOf(connect.StringSchema, connect.Int32Schema)
	strs := mapOf(connect.StringSchema, connect.StringSchema)
	checkHeaderReads(t, []headerRead{
		{"{foo: 3}", nil, asText{}},
		{"{3: foo}", nil, asText{}},
		{"[foo]", nil, asText{}},
		{"null=", nil, asText{}},
		{"true}", nil, asText{}},
		{"false]", nil, asText{}},
		{ws + "true" + ws, connect.BooleanSchema, true},
		{ws + "false" + ws, connect.BooleanSchema, false},
		{ws + "null" + ws, nil, nil},
		{"null", nil, nil},
		{"[true, false]", arrayOf(connect.BooleanSchema), []any{true, false}},
		{"{true: false, false: true}", mapOf(connect.BooleanSchema, connect.BooleanSchema), map[any]any{true: false, false: true}},
		{"{6:9 4:20}", nil, asText{}},
		{"[0 1 2]", nil, asText{}},
		{"{}", nil, map[any]any{}},
		{"[]", nil, []any{}},
		{"{null: 3}", nil, asText{}},
		{"{3: null}", nil, map[any]any{int8(3): nil}},
		{"[null]", nil, []any{nil}},
		{"[1, 2, 3,,,]", nil, asText{}},
		{"[1, null]", nil, asText{}},
		{"[null, 1]", nil, asText{}},
		{"2019-08-23T14:34:54.346Z", connect.TimestampSchema, kafkaTimestamp},
		{"2019-08-23", connect.DateSchema, kafkaDate},
		{"14:34:54.346Z", connect.TimeSchema, kafkaTime},
		{`2019-08-23T14\:34\:54.346Z`, connect.TimestampSchema, kafkaTimestamp},
		{`14\:34\:54.346Z`, connect.TimeSchema, kafkaTime},
		{"[2019-08-23]", arrayOf(connect.DateSchema), []any{kafkaDate}},
		{"[14:34:54.346Z]", arrayOf(connect.TimeSchema), []any{kafkaTime}},
		{"[2019-08-23T14:34:54.346Z]", arrayOf(connect.TimestampSchema), []any{kafkaTimestamp}},
		{"[2019-08-23T14:34:54.346Z,2019-01-23T15:12:34.567Z,   2019-04-23T19:12:34.567Z]", arrayOf(connect.TimestampSchema), []any{
			kafkaTimestamp, time.Date(2019, 1, 23, 15, 12, 34, 567e6, time.UTC), time.Date(2019, 4, 23, 19, 12, 34, 567e6, time.UTC)}},
		{`{"k1":"14:34:54.346Z"}`, mapOf(connect.StringSchema, connect.TimeSchema), map[any]any{"k1": kafkaTime}},
		{`{"k1":14:34:54.346Z}`, mapOf(connect.StringSchema, connect.TimeSchema), map[any]any{"k1": kafkaTime}},
		{"[1, 2, 32768]", arrayOf(connect.Int32Schema), []any{int32(1), int32(2), int32(32768)}},
		{"[1, 2, 3.4028235E38]", arrayOf(connect.Float32Schema), []any{float32(1), float32(2), float32(math.MaxFloat32)}},
		{"[1, 2, 1.7976931348623157E308]", arrayOf(connect.Float64Schema), []any{1.0, 2.0, math.MaxFloat64}},
		{`[1, 2, 300, "four"]`, nil, []any{int8(1), int8(2), int16(300), "four"}},
		{`["four", 1, 2, 300]`, nil, []any{"four", int8(1), int8(2), int16(300)}},
		{`{1:1, 2:1, 300:300, "four":1}`, nil, map[any]any{int8(1): int8(1), int8(2): int8(1), int16(300): int16(300), "four": int8(1)}},
		{`{"four":1, 1:1, 2:1, 300:300}`, nil, map[any]any{int8(1): int8(1), int8(2): int8(1), int16(300): int16(300), "four": int8(1)}},
		// The keys share a schema, so Kafka converts them; the values do not.
		{`{1:1, 2:1, 300:300, 4:"four"}`, nil, map[any]any{int16(1): int8(1), int16(2): int8(1), int16(300): int16(300), int16(4): "four"}},
		{`{4:"four", 1:1, 2:1, 300:300}`, nil, map[any]any{int16(1): int8(1), int16(2): int8(1), int16(300): int16(300), int16(4): "four"}},
		{"[[]]", nil, []any{[]any{}}},
		{"[{}]", nil, []any{map[any]any{}}},
		{`{"a":{}}`, nil, map[any]any{"a": map[any]any{}}},
		{`{"a":[]}`, nil, map[any]any{"a": []any{}}},
		{"[9223372036854775808, -9223372036854775809]", arrayOf(decimalOf(0)), []any{dec("9223372036854775808"), dec("-9223372036854775809")}},
		{"\xef\xbf\xbf", connect.StringSchema, "\uffff"}, // KAFKA-10574
		{`{"foo":"123","bar":"baz"}`, strs, map[any]any{"foo": "123", "bar": "baz"}},
		{"{ \"foo\" : \"123\", \n\"bar\" : \"baz\" } ", strs, map[any]any{"foo": "123", "bar": "baz"}},
		{`{"foo":12345,"bar":0,"baz":-4321}`, short, map[any]any{"foo": int16(12345), "bar": int16(0), "baz": int16(-4321)}},
		{` { "foo" :  12345 , "bar" : 0,  "baz" : -4321 }  `, short, map[any]any{"foo": int16(12345), "bar": int16(0), "baz": int16(-4321)}},
		{`{"foo":1234567890,"bar":0,"baz":-987654321}`, ints, map[any]any{"foo": int32(1234567890), "bar": int32(0), "baz": int32(-987654321)}},
		{` { "foo" :  1234567890 ,, "bar" : 0,  "baz" : -987654321 }  `, nil, asText{}},
		{` { "foo" :  1234567890 , "a", "bar" : 0,  "baz" : -987654321 }  `, nil, asText{}},
		{" { ,,  , , }  ", nil, asText{}},
		{"  ", connect.StringSchema, "  "},
	})
	for _, s := range []string{"simple", "simple string", "simple \n\t\bstring", "'simple' string", `si\mple`, `si\\mple`,
		`si\"mple`, `si\{mple`, `si\}mple`, `si\]mple`, `si\[mple`, `si\:mple`, `si\,mple`, `three"blind\"mice`,
		"string with delimiters: <>?,./\\=+-!@#$%^&*(){}[]|;':", `"quoted"`, "a{b", "}b", ":", ",", `"`} {
		checkHeaderReads(t, []headerRead{{s, nil, asText{}}})
	}
}

func TestSimpleHeaderConverterReadsNumbers(t *testing.T) {
	negativeZero := float32(math.Copysign(0, -1))
	checkHeaderReads(t, []headerRead{
		{"0", connect.Int8Schema, int8(0)},
		{"-0.0", connect.Int8Schema, int8(0)},
		{"0.000e5", connect.Int8Schema, int8(0)},
		{"127", connect.Int8Schema, int8(127)},
		{"-128", connect.Int8Schema, int8(-128)},
		{"128", connect.Int16Schema, int16(128)},
		{"-129", connect.Int16Schema, int16(-129)},
		{"32767", connect.Int16Schema, int16(32767)},
		{"-32768", connect.Int16Schema, int16(-32768)},
		{"32768", connect.Int32Schema, int32(32768)},
		{"-32769", connect.Int32Schema, int32(-32769)},
		{"2147483647", connect.Int32Schema, int32(math.MaxInt32)},
		{"-2147483648", connect.Int32Schema, int32(math.MinInt32)},
		{"2147483648", connect.Int64Schema, int64(2147483648)},
		{"-2147483649", connect.Int64Schema, int64(-2147483649)},
		{"9223372036854775807", connect.Int64Schema, int64(math.MaxInt64)},
		{"-9223372036854775808", connect.Int64Schema, int64(math.MinInt64)},
		{"9223372036854775808", decimalOf(0), dec("9223372036854775808")},
		{"-9223372036854775809", decimalOf(0), dec("-9223372036854775809")},
		{"1.0", connect.Int8Schema, int8(1)},
		{"1.1", connect.Float32Schema, float32(1.1)},
		{"300.0", connect.Int16Schema, int16(300)},
		{"300.01", connect.Float32Schema, float32(300.01)},
		{"66000.0", connect.Int32Schema, int32(66000)},
		{"66000.0008", connect.Float32Schema, float32(66000.0008)},
		{"3.141592653589793", connect.Float32Schema, float32(3.141592653589793)}, // float32 even so
		{"3.4028235E38", connect.Float32Schema, float32(math.MaxFloat32)},
		{"-3.4028235E38", connect.Float32Schema, float32(-math.MaxFloat32)},
		{"1.7976931348623157E308", connect.Float64Schema, math.MaxFloat64},
		{"-1.7976931348623157E308", connect.Float64Schema, -math.MaxFloat64},
		{"+5", connect.Int8Schema, int8(5)},
		{"1e2", connect.Int8Schema, int8(100)},
		{"1E+2", connect.Int8Schema, int8(100)},
		{"1.", connect.Int8Schema, int8(1)},
		{"-.5", connect.Float32Schema, float32(-0.5)},
		{".5", nil, asText{}}, // Kafka tries numbers only after a digit or a sign
		{"1e20", connect.Float32Schema, float32(1e20)},
		{"100000000000000000000", decimalOf(0), dec("100000000000000000000")},
		{"100000000000000000000.0", connect.Float32Schema, float32(1e20)},
		{"1e39", connect.Float64Schema, 1e39},
		{"1e400", decimalOf(-400), dec("1e400")},
		{"-1.5e400", decimalOf(-399), dec("-1.5e400")},
		{"1e2147483647", decimalOf(-2147483647), dec("1e2147483647")},
		{"1e-2147483647", connect.Float32Schema, float32(0)},
		{"0e-2147483648", nil, asText{}}, // the scale overflows int32, as in Java
		{"1e-50", connect.Float32Schema, float32(0)},
		{"-1e-50", connect.Float32Schema, negativeZero},
		{"١٢٣", connect.Int8Schema, int8(123)}, // Java reads digits of any script
		{"１２e１", connect.Int8Schema, int8(120)},
		{"-٣.٥", connect.Float32Schema, float32(-3.5)},
		{"\U0001D7D9", nil, asText{}}, // outside the BMP: two chars to Java, no digit
		{"  42\t", connect.Int8Schema, int8(42)},
		{"\x0042\x01", connect.Int8Schema, int8(42)}, // Java's trim drops controls
		{"12:34", connect.Int8Schema, int8(12)},      // Kafka ignores what follows a value
		{"1,2,3", connect.Int8Schema, int8(1)},
		{"14:34:54.346", connect.Int8Schema, int8(14)},
		{"24:00:00.001Z", connect.Int8Schema, int8(24)},
		{"12 34", nil, asText{}},
		{"0x10", nil, asText{}},
		{"1_000", nil, asText{}},
		{"1e", nil, asText{}},
		{"1e+", nil, asText{}},
		{"1.2.3", nil, asText{}},
		{"--1", nil, asText{}},
		{"NaN", nil, asText{}},
		{"Infinity", nil, asText{}},
		{"-Infinity", nil, asText{}},
		{strings.Repeat("9", 300000), nil, asText{}}, // more digits than a connect.Decimal holds
	})
}

func TestSimpleHeaderConverterReadsDatesAndTimes(t *testing.T) {
	endOfDay := millis(24 * 60 * 60 * 1000)
	checkHeaderReads(t, []headerRead{
		{"0000-01-01", connect.DateSchema, utcDay(0, 1, 1)},
		{"9999-12-31", connect.DateSchema, utcDay(9999, 12, 31)},
		{"2020-02-29", connect.DateSchema, utcDay(2020, 2, 29)},
		{"1969-07-20", connect.DateSchema, utcDay(1969, 7, 20)},
		{"00:00:00.000Z", connect.TimeSchema, millis(0)},
		{"23:59:59.999Z", connect.TimeSchema, millis(86399999)},
		{"24:00:00.000Z", connect.TimeSchema, endOfDay},
		{"1969-07-20T20:17:40.000Z", connect.TimestampSchema, time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"2019-08-23,x", connect.DateSchema, kafkaDate},
		{"  2019-08-23 ", connect.DateSchema, kafkaDate},
		{`["2019-08-23", "14\:34\:54.346Z"]`, nil, asText{}}, // a date and a time have no common schema
		{`["2019-08-23"]`, arrayOf(connect.DateSchema), []any{kafkaDate}},
		{`{"at":"2019-08-23T14:34:54.346Z"}`, mapOf(connect.StringSchema, connect.TimestampSchema), map[any]any{"at": kafkaTimestamp}},
		{"{2019-08-23:14:34:54.346Z}", mapOf(connect.DateSchema, connect.TimeSchema), map[any]any{kafkaDate: kafkaTime}},
		{`"2019-08-23"`, nil, asText{}}, // quotes mean nothing at top level
		{"2019-8-23", nil, asText{}},
		{"2019-08-23T14:34:54Z", nil, asText{}},
		{"2019-08-23 14:34:54.346Z", nil, asText{}},
		{"2019-08-23T14:34:54.346+02:00", nil, asText{}},
	})
}

// Elements take Kafka's common schema: the wider number, or the later of
// two schemas of one type, to which each element is converted.
func TestSimpleHeaderConverterMergesAsKafka(t *testing.T) {
	ts := connect.TimestampSchema
	checkHeaderReads(t, []headerRead{
		{"[1, 300]", arrayOf(connect.Int16Schema), []any{int16(1), int16(300)}},
		{"[1, 1.5]", arrayOf(connect.Float32Schema), []any{float32(1), float32(1.5)}},
		{"[1.5, 9223372036854775807]", arrayOf(connect.Float32Schema), []any{float32(1.5), float32(math.MaxInt64)}},
		{"[1e39, 1.5]", arrayOf(connect.Float64Schema), []any{1e39, 1.5}},
		{"[1, 2019-08-23]", arrayOf(connect.DateSchema), []any{utcDay(1970, 1, 2), kafkaDate}},
		{"[66000, 2019-08-23]", arrayOf(connect.DateSchema), []any{millis(66000 * 24 * 60 * 60 * 1000), kafkaDate}},
		{"[2019-08-23, 66000]", nil, asText{}}, // a plain int32 schema refuses a date
		{"[5, 2019-08-23T14:34:54.346Z]", arrayOf(ts), []any{millis(5), kafkaTimestamp}},
		{"[2019-08-23T14:34:54.346Z, 2019-08-23]", arrayOf(ts), []any{kafkaTimestamp, kafkaDate}},
		{"[14:34:54.346Z, 5]", arrayOf(connect.TimeSchema), []any{kafkaTime, millis(5)}},
		{"[14:34:54.346Z, 100000000]", nil, asText{}}, // beyond a day: Kafka's Time refuses it
		{"[1.5, 2019-08-23]", nil, asText{}},
		{"[true, 1]", nil, []any{true, int8(1)}},
		{"[[1], [2]]", arrayOf(arrayOf(connect.Int8Schema)), []any{[]any{int8(1)}, []any{int8(2)}}},
		{`{"a": 1, "b": 1.5}`, mapOf(connect.StringSchema, connect.Float32Schema), map[any]any{"a": float32(1), "b": float32(1.5)}},
		{`{1: "a", 1.0: "b"}`, mapOf(connect.Int8Schema, connect.StringSchema), map[any]any{int8(1): "b"}},
		// Kafka keeps int8 1 and float32 1.0 apart until they are both
		// converted to float32; a repeated key keeps its first place.
		{`{1: "a", 1.00000001: "b", 1: "c"}`, mapOf(connect.Float32Schema, connect.StringSchema), map[any]any{float32(1): "b"}},
		{`{"a": 1, "b": null}`, nil, asText{}}, // null under a required common schema
		{`{"a": null, "b": null}`, nil, map[any]any{"a": nil, "b": nil}},
		{`{"a":"x""b":"y"}`, mapOf(connect.StringSchema, connect.StringSchema), map[any]any{"a": "x", "b": "y"}},
		{"[1,]", arrayOf(connect.Int8Schema), []any{int8(1)}},
		{"[1] and more", arrayOf(connect.Int8Schema), []any{int8(1)}},
		{"[,]", nil, asText{}},
		{"[1", nil, asText{}},
		{`["a`, nil, asText{}},
		{`{"a"}`, nil, asText{}},
		{`{"a":1 "b":2}`, mapOf(connect.StringSchema, connect.Int8Schema), map[any]any{"a": int8(1), "b": int8(2)}},
		{`{6:9 4:20}`, nil, asText{}}, // "9 4" is one token, no number
	})
}

// The number parser reads digits of any script by their distance from the
// start of their range in unicode.Nd, which assumes each BMP range holds
// whole runs of 0 to 9. Unicode promises that; this checks Go's tables.
func TestSimpleHeaderConverterReadsEveryBMPDigit(t *testing.T) {
	for _, r := range unicode.Nd.R16 {
		if r.Stride != 1 || (r.Hi-r.Lo+1)%10 != 0 {
			t.Fatalf("digit range %U-%U is not whole runs of ten", r.Lo, r.Hi)
		}
		for c := rune(r.Lo); c <= rune(r.Hi); c++ {
			want := int8((c - rune(r.Lo)) % 10)
			checkHeaderReads(t, []headerRead{{string(c), connect.Int8Schema, want}})
		}
	}
}
