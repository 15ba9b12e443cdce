package converters_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

// jsonSeeds are envelopes as Kafka writes and reads them: Kafka's own test
// inputs, a CDC-like struct with every logical type, and edge cases.
func jsonSeeds() []string {
	seeds := []string{
		kafkaUserJSON,
		`{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":-1.56}`,
		`{"schema":{"type":"struct","fields":[{"type":"string","optional":true,"default":"default","field":"field1"}],"optional":false},"payload":{"field1":null}}`,
		`{"schema":{"type":"map","keys":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"k"}],"optional":false},"values":{"type":"float","optional":true}},"payload":[[{"k":1},1.5],[{"k":2},null]]}`,
		`{"schema":{"type":"array","items":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"optional":false,"default":[0,1]},"payload":null}`,
		`{"schema":{"type":"double","optional":false},"payload":"Infinity"}`,
		`{"schema":null,"payload":{"a":[1,2.5,"x",null,true,{"b":{}}]}}`,
		`{"schema":{"type":"string","optional":false,"doc":"\u00e9\ud83d\ude00\n"},"payload":"\u0001"}`,
		`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-3"}},"payload":1E+5}`,
	}
	for _, in := range kafkaInputs {
		seeds = append(seeds, in.json)
	}
	return seeds
}

// checkRoundTrip asserts what a decoder owes: failures are ErrInvalidData,
// and what it reads writes back to bytes that read and write the same
// again.
func checkRoundTrip(t *testing.T, c connect.Converter, data []byte) {
	t.Helper()
	sv, err := c.ToConnectData("t", nil, data)
	if err != nil {
		if !errors.Is(err, connect.ErrInvalidData) {
			t.Fatalf("error does not wrap ErrInvalidData: %v", err)
		}
		return
	}
	once, err := c.FromConnectData("t", &connect.RecordHeaders{}, sv.Schema, sv.Value)
	if err != nil {
		t.Fatalf("read %q but cannot write it back: %v", data, err)
	}
	sv2, err := c.ToConnectData("t", nil, once)
	if err != nil {
		t.Fatalf("cannot read back %q (from %q): %v", once, data, err)
	}
	if sv.Schema != nil && !sv.Schema.Equal(sv2.Schema) {
		t.Fatalf("schema of %q changed through %q", data, once)
	}
	twice, err := c.FromConnectData("t", &connect.RecordHeaders{}, sv2.Schema, sv2.Value)
	if err != nil || !bytes.Equal(once, twice) {
		t.Fatalf("%q wrote %q, then %q (%v)", data, once, twice, err)
	}
}

func FuzzJSONConverterToConnectData(f *testing.F) {
	for _, s := range jsonSeeds() {
		f.Add([]byte(s), false, true)
	}
	f.Add([]byte(jsonSeeds()[1]), true, false)
	f.Fuzz(func(t *testing.T, data []byte, numeric, keepNulls bool) {
		c := &converters.JSONConverter{}
		props := map[string]string{converters.DecimalFormatConfig: "BASE64", converters.ReplaceNullWithDefaultConfig: "true"}
		if numeric {
			props[converters.DecimalFormatConfig] = "NUMERIC"
		}
		if keepNulls {
			props[converters.ReplaceNullWithDefaultConfig] = "false"
		}
		if err := c.Configure(props, false); err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, c, data)
	})
}

func FuzzJSONConverterSchemaless(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true,{"b":{}}]}`, `0012`, `-0.0`, `1e400`, `"\ud800"`, `[]`, ``, `  `, `null`} {
		f.Add([]byte(s))
	}
	for _, s := range jsonSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &converters.JSONConverter{}
		if err := c.Configure(map[string]string{converters.SchemasEnableConfig: "false"}, true); err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, c, data)
	})
}

func FuzzStringConverterToConnectData(f *testing.F) {
	for _, s := range []string{"", "hello", "\xff\xfe", "é"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, converters.StringConverter{}, data)
	})
}

func FuzzByteArrayConverterToConnectData(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := converters.ByteArrayConverter{}
		sv, err := c.ToConnectData("t", nil, data)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.FromConnectData("t", nil, sv.Schema, sv.Value)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%q came back as %q (%v)", data, back, err)
		}
	})
}
