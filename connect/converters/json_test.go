package converters_test

import (
	"errors"
	"math"
	"math/big"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// configured returns a JSON converter with the given properties.
func configured(t *testing.T, props map[string]string) *converters.JSONConverter {
	t.Helper()
	c := &converters.JSONConverter{}
	if err := c.Configure(props, false); err != nil {
		t.Fatal(err)
	}
	return c
}

// userSchema is a struct with optional fields and every logical type, the
// shape of a CDC record.
func userSchema(t *testing.T) *connect.Schema {
	t.Helper()
	s, err := connect.NewSchemaBuilder(connect.TypeStruct).Name("com.example.User").Version(2).
		Field("id", connect.Int64Schema).
		Field("email", connect.OptionalStringSchema).
		Field("balance", connect.DecimalBuilder(2).MustBuild()).
		Field("born", connect.DateBuilder().Optional().MustBuild()).
		Field("wakes", connect.TimeSchema).
		Field("seen", connect.TimestampSchema).
		Field("tags", connect.ArrayOf(connect.StringSchema).Optional().MustBuild()).
		Field("score", connect.NewSchemaBuilder(connect.TypeFloat64).Default(1.5).MustBuild()).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func user(t *testing.T, s *connect.Schema) *connect.Struct {
	t.Helper()
	u := connect.NewStruct(s)
	for name, v := range map[string]any{
		"id":      int64(42),
		"balance": connect.Decimal{Unscaled: big.NewInt(156), Scale: 2},
		"wakes":   time.UnixMilli(14400000).UTC(),
		"seen":    time.UnixMilli(4000000000).UTC(),
		"tags":    []any{"a", "b"},
	} {
		if err := u.Put(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// The bytes Kafka 4's JsonConverter writes for this struct: schema members
// in its order ("field" last in each field), optional always written,
// decimal as base64 of its two's complement, Date/Time/Timestamp as
// numbers, nulls as null, the default where the value is null.
const kafkaUserJSON = `{"schema":{"type":"struct","fields":[` +
	`{"type":"int64","optional":false,"field":"id"},` +
	`{"type":"string","optional":true,"field":"email"},` +
	`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"balance"},` +
	`{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"born"},` +
	`{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"wakes"},` +
	`{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"seen"},` +
	`{"type":"array","items":{"type":"string","optional":false},"optional":true,"field":"tags"},` +
	`{"type":"double","optional":false,"default":1.5,"field":"score"}],` +
	`"optional":false,"name":"com.example.User","version":2},` +
	`"payload":{"id":42,"email":null,"balance":"AJw=","born":null,"wakes":14400000,"seen":4000000000,"tags":["a","b"],"score":1.5}}`

func TestJSONConverterWritesKafkasEnvelope(t *testing.T) {
	s := userSchema(t)
	c := &converters.JSONConverter{}
	got, err := c.FromConnectData("users", &connect.RecordHeaders{}, s, user(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != kafkaUserJSON {
		t.Fatalf("got\n%s\nwant\n%s", got, kafkaUserJSON)
	}
	back, err := c.ToConnectData("users", nil, got)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Schema.Equal(s) {
		t.Fatalf("schema %v does not round trip", back.Schema)
	}
	want := user(t, s)
	if err := want.Put("score", 1.5); err != nil { // read back as the default it was written as
		t.Fatal(err)
	}
	if st := back.Value.(*connect.Struct); !st.Equal(want) {
		t.Fatalf("value %v, want %v", st, want)
	}
}

func TestJSONConverterNumericDecimals(t *testing.T) {
	c := configured(t, map[string]string{converters.DecimalFormatConfig: "numeric"})
	s := connect.DecimalBuilder(2).MustBuild()
	got, err := c.FromConnectData("t", nil, s, connect.Decimal{Unscaled: big.NewInt(-156), Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":-1.56}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// Kafka's test inputs: a number at the schema's scale, a number at a
	// smaller scale (rescaled exactly), base64 (read whatever the format).
	for _, tc := range []struct{ payload, want string }{
		{"1.56", "1.56"}, {"1.5600", "1.5600"}, {`"AJw="`, "1.56"}, {"2", "2.00"},
	} {
		scale := "2"
		if tc.want == "1.5600" {
			scale = "4"
		}
		msg := `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"` +
			scale + `"}},"payload":` + tc.payload + `}`
		sv, err := c.ToConnectData("t", nil, []byte(msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.payload, err)
		}
		if got := sv.Value.(connect.Decimal).String(); got != tc.want {
			t.Errorf("%s read as %s, want %s", tc.payload, got, tc.want)
		}
	}
	_, err = c.ToConnectData("t", nil, []byte(`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"1"}},"payload":1.56}`))
	if !errors.Is(err, connect.ErrInvalidData) {
		t.Fatalf("1.56 at scale 1 needs rounding, got %v", err)
	}
}

// kafkaInputs are envelopes from Kafka's JsonConverterTest, with the values
// Kafka reads from them.
var kafkaInputs = []struct {
	json string
	want any
}{
	{`{ "schema": { "type": "boolean" }, "payload": true }`, true},
	{`{ "schema": { "type": "boolean", "optional": true }, "payload": null }`, nil},
	{`{ "schema": { "type": "boolean", "default": true }, "payload": null }`, true},
	{`{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }`, true},
	{`{ "schema": { "type": "int8" }, "payload": 12 }`, int8(12)},
	{`{ "schema": { "type": "int16" }, "payload": 12 }`, int16(12)},
	{`{ "schema": { "type": "int32" }, "payload": 12 }`, int32(12)},
	{`{ "schema": { "type": "int64" }, "payload": 4398046511104 }`, int64(4398046511104)},
	{`{ "schema": { "type": "int8" }, "payload": 0012 }`, int8(12)},
	{`{ "schema": { "type": "int64" }, "payload": 00000123456789 }`, int64(123456789)},
	{`{ "schema": { "type": "float" }, "payload": 12.34 }`, float32(12.34)},
	{`{ "schema": { "type": "double" }, "payload": 12.34 }`, 12.34},
	{`{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }`, []byte("test-string")},
	{`{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }`, "foo-bar-baz"},
	{`{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }`, []any{int32(1), int32(2), int32(3)}},
	{`{ "schema": { "type": "map", "keys": { "type" : "string" }, "values": { "type" : "int32" } }, "payload": { "key1": 12, "key2": 15} }`,
		map[any]any{"key1": int32(12), "key2": int32(15)}},
	{`{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }`,
		map[any]any{int32(1): int32(12), int32(2): int32(15)}},
	{`{ "schema": null, "payload": null }`, nil},
	{`{ "schema": null, "payload": 12 }`, int64(12)},
	{`{ "schema": null, "payload": 12.24 }`, 12.24},
	{`{ "schema": null, "payload": [1, "2", 3] }`, []any{int64(1), "2", int64(3)}},
	{`{ "schema": null, "payload": { "field1": 1, "field2": 2} }`, map[any]any{"field1": int64(1), "field2": int64(2)}},
	{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }`,
		time.Date(1997, 5, 19, 0, 0, 0, 0, time.UTC)},
	{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "default": 0 }, "payload": null }`,
		time.Unix(0, 0).UTC()},
	{`{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }`,
		time.Date(1970, 1, 1, 4, 0, 0, 0, time.UTC)},
	{`{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1, "optional": true, "default": 42 }, "payload": null }`,
		time.UnixMilli(42).UTC()},
	{`{ "schema": { "type": "double" }, "payload": "NaN" }`, math.NaN()},
}

func TestJSONConverterReadsKafkaInputs(t *testing.T) {
	c := &converters.JSONConverter{}
	for _, tc := range kafkaInputs {
		sv, err := c.ToConnectData("t", nil, []byte(tc.json))
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if !deepEqual(sv.Value, tc.want) {
			t.Errorf("%s: read %#v, want %#v", tc.json, sv.Value, tc.want)
		}
	}
}

func TestJSONConverterStructWithOptionalField(t *testing.T) {
	c := &converters.JSONConverter{}
	sv, err := c.ToConnectData("t", nil, []byte(`{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sv.Value.(*connect.Struct).String(); got != "Struct{required=required}" {
		t.Fatalf("got %s", got)
	}
}

func TestJSONConverterNulls(t *testing.T) {
	c := &converters.JSONConverter{}
	if b, err := c.FromConnectData("t", nil, nil, nil); b != nil || err != nil {
		t.Fatalf("null without schema: %q, %v; want a tombstone", b, err)
	}
	b, err := c.FromConnectData("t", nil, connect.OptionalStringSchema, nil)
	if want := `{"schema":{"type":"string","optional":true},"payload":null}`; string(b) != want || err != nil {
		t.Fatalf("null with schema: %s, %v; want %s", b, err, want)
	}
	if sv, err := c.ToConnectData("t", nil, nil); sv.Schema != nil || sv.Value != nil || err != nil {
		t.Fatalf("nil data: %v, %v", sv, err)
	}
	if _, err := c.FromConnectData("t", nil, connect.StringSchema, nil); !errors.Is(err, connect.ErrInvalidData) {
		t.Fatalf("null for a required schema: %v", err)
	}
	plain := configured(t, map[string]string{converters.SchemasEnableConfig: "false"})
	b, err = plain.FromConnectData("t", nil, connect.OptionalStringSchema, nil)
	if string(b) != "null" || err != nil {
		t.Fatalf("schemaless null with a schema: %q, %v; Kafka writes null", b, err)
	}
	if sv, err := plain.ToConnectData("t", nil, []byte{}); sv.Value != nil || err != nil {
		t.Fatalf("empty schemaless data: %v, %v", sv, err)
	}
	if _, err := c.ToConnectData("t", nil, []byte{}); !errors.Is(err, connect.ErrInvalidData) {
		t.Fatalf("empty data with schemas: %v", err)
	}
}

func TestJSONConverterReplaceNullWithDefault(t *testing.T) {
	s := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("field1", connect.NewSchemaBuilder(connect.TypeString).Optional().Default("default").MustBuild()).MustBuild()
	v := connect.NewStruct(s)
	for _, tc := range []struct {
		replace string
		want    string
	}{
		{"true", `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":"default"}}`},
		{"false", `{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}`},
	} {
		c := configured(t, map[string]string{converters.ReplaceNullWithDefaultConfig: tc.replace})
		got, err := c.FromConnectData("t", nil, s, v)
		if err != nil || string(got) != tc.want {
			t.Errorf("replace=%s: %s, %v; want %s", tc.replace, got, err, tc.want)
		}
		back, err := c.ToConnectData("t", nil, got)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := back.Value.(*connect.Struct).GetWithoutDefault("field1") == nil, tc.replace == "false"; got != want {
			t.Errorf("replace=%s: read null %v", tc.replace, got)
		}
	}
}

func TestJSONConverterSchemaless(t *testing.T) {
	c := configured(t, map[string]string{converters.SchemasEnableConfig: "false"})
	value := map[any]any{"b": []any{int64(1), 2.5, "x", nil, true}, "a": map[any]any{int32(1): "one"}, "c": []byte("hi")}
	got, err := c.FromConnectData("t", nil, nil, value)
	const want = `{"a":[[1,"one"]],"b":[1,2.5,"x",null,true],"c":"aGk="}`
	if err != nil || string(got) != want {
		t.Fatalf("got %s, %v; want %s", got, err, want)
	}
	back, err := c.ToConnectData("t", nil, got)
	if err != nil {
		t.Fatal(err)
	}
	if b := back.Value.(map[any]any)["b"].([]any); b[0] != int64(1) || b[1] != 2.5 {
		t.Fatalf("numbers read back as %#v", b)
	}
	for _, bad := range []any{time.Unix(0, 0), connect.Decimal{}, struct{}{}, map[string]any{}} {
		if _, err := c.FromConnectData("t", nil, nil, bad); !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("%T without schema: %v", bad, err)
		}
	}
}

func TestJSONConverterEscapesAsJackson(t *testing.T) {
	c := configured(t, map[string]string{converters.SchemasEnableConfig: "false"})
	got, err := c.FromConnectData("t", nil, connect.StringSchema, "q\"b\\s/\x01\t\n<é>\u2028")
	if want := `"q\"b\\s/\u0001\t\n<é>` + "\u2028" + `"`; string(got) != want || err != nil {
		t.Fatalf("got %s, %v; want %s", got, err, want)
	}
	floats := []any{float32(1), 1e7, 0.001, 1e-4, math.Inf(-1)}
	got, err = c.FromConnectData("t", nil, nil, floats)
	if want := `[1.0,1.0E7,0.001,1.0E-4,"-Infinity"]`; string(got) != want || err != nil {
		t.Fatalf("got %s, %v; want %s", got, err, want)
	}
}

func TestJSONConverterRefusesWhatKafkaBends(t *testing.T) {
	c := &converters.JSONConverter{}
	for _, msg := range []string{
		`{"schema":{"type":"int8"},"payload":300}`,
		`{"schema":{"type":"int32"},"payload":1.5}`,
		`{"schema":{"type":"int32"},"payload":"12"}`,
		`{"schema":{"type":"boolean"},"payload":1}`,
		`{"schema":{"type":"string"},"payload":null}`,
		`{"schema":{"type":"bytes"},"payload":"not base64!"}`,
		`{"schema":{"type":"array","items":{"type":"int32"}},"payload":{"a":1}}`,
		`{"schema":{"type":"map","keys":{"type":"bytes"},"values":{"type":"int32"}},"payload":[["AA==",1]]}`,
		`{"schema":{"type":"struct","fields":[{"field":"a","type":"int32"},{"field":"a","type":"int32"}]},"payload":{}}`,
		`{"schema":{"type":"struct","fields":[{"type":"int32"}]},"payload":{}}`,
		`{"schema":{"type":"array"},"payload":[]}`,
		`{"schema":{"type":"uint8"},"payload":1}`,
		`{"schema":{"type":"string","parameters":{"a":1}},"payload":"x"}`,
		`{"schema":{"type":"int32","name":"org.apache.kafka.connect.data.Time"},"payload":86400001}`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal"},"payload":"AA=="}`,
		`{"schema":{"type":"string"},"payload":"x","extra":1}`,
		`{"schema":{"type":"string"}}`,
		`{"schema":{"type":"string"},"payload":"x"} trailing`,
		`{"schema":{"type":"string"},"payload":"\ud800"`,
		"{\"schema\":{\"type\":\"string\"},\"payload\":\"\xff\"}",
		`[1,2]`,
		strings.Repeat("[", 1001) + strings.Repeat("]", 1001),
	} {
		if sv, err := c.ToConnectData("t", nil, []byte(msg)); !errors.Is(err, connect.ErrInvalidData) {
			t.Errorf("%.80s: read %v, %v; want ErrInvalidData", msg, sv.Value, err)
		}
	}
}

func TestJSONConverterConfig(t *testing.T) {
	c := &converters.JSONConverter{}
	if err := c.Configure(map[string]string{converters.DecimalFormatConfig: "HEX"}, true); !errors.Is(err, connect.ErrInvalidConfig) {
		t.Fatalf("decimal.format=HEX: %v", err)
	}
	if err := c.Configure(map[string]string{converters.SchemasEnableConfig: "maybe"}, true); err == nil {
		t.Fatal("schemas.enable=maybe accepted")
	}
	keys := c.Config().Keys()
	if len(keys) != 4 || keys[0].Name != "schemas.enable" || keys[0].Default != true {
		t.Fatalf("config keys %v", keys)
	}
}

// TestJSONConverterBoundsHostileInput feeds small records whose numbers ask
// for huge values: each must cost little memory, whether it is read or
// refused.
func TestJSONConverterBoundsHostileInput(t *testing.T) {
	decimal := func(scale, payload string) string {
		return `{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"` +
			scale + `"}},"payload":` + payload + `}`
	}
	c := configured(t, map[string]string{converters.DecimalFormatConfig: "NUMERIC"})
	for _, tc := range []struct {
		msg string
		ok  bool
	}{
		{decimal("2147483647", "1"), false},
		{decimal("0", "1e2147483647"), false},
		{decimal("0", "1e-2147483648"), false},
		{decimal("-2147483648", `"AQ=="`), true}, // writes back as 1E+2147483648
		{decimal("2147483647", `"AQ=="`), true},  // writes back as 1E-2147483647
		{decimal("200000", "1"), true},           // 200001 digits: within bounds
		{`{"schema":{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp"},"payload":9223372036854775807}`, true},
		{`{"schema":null,"payload":` + strings.Repeat("[", 999) + strings.Repeat("]", 999) + "}", true},
		{`{"schema":null,"payload":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "}", false},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		sv, err := c.ToConnectData("t", nil, []byte(tc.msg))
		if err == nil {
			_, err = c.FromConnectData("t", nil, sv.Schema, sv.Value)
		}
		runtime.ReadMemStats(&after)
		if (err == nil) != tc.ok {
			t.Errorf("%.60s: %v, want ok %v", tc.msg, err, tc.ok)
		}
		if used := after.TotalAlloc - before.TotalAlloc; used > 4<<20 {
			t.Errorf("%.60s: allocated %d bytes", tc.msg, used)
		}
	}
}
