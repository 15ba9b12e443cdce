package cli

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestJSONRecordOutput(t *testing.T) {
	f, err := parseFormat(FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	r := testRecord()
	r.Value = []byte("<b>\"quoted\"</b>")
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "bin", Value: []byte{0xff, 0x00}}, kgo.RecordHeader{Key: "null"})
	got := string(f.appendRecord([]byte("before|"), r))
	want := `before|{"topic":"orders","partition":3,"offset":42,"timestamp":1700000000123,"key":"k1","value":"<b>\"quoted\"</b>",` +
		`"headers":[{"key":"a","value":"1"},{"key":"b","value":""},{"key":"bin","value":"/wA=","value_encoding":"base64"},{"key":"null","value":null}]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	r = &kgo.Record{Topic: "t", Key: []byte{0xc3, 0x28}, Timestamp: time.UnixMilli(0)}
	got = string(f.appendRecord(nil, r))
	want = `{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":"wyg=","key_encoding":"base64","value":null,"headers":[]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestJSONRecordRoundTrip reads back what consume prints, so that consumed
// records can be produced again unchanged.
func TestJSONRecordRoundTrip(t *testing.T) {
	records := []*kgo.Record{
		testRecord(),
		{Topic: "t", Partition: 0, Key: []byte{}, Value: nil, Timestamp: time.UnixMilli(5)},
		{Topic: "t", Partition: 7, Key: []byte{0, 1, 0xfe}, Value: []byte("ü ✓ \n\t"), Timestamp: time.UnixMilli(1 << 40),
			Headers: []kgo.RecordHeader{{Key: "k", Value: []byte{0x80}}, {Key: "k", Value: []byte("again")}, {Key: string([]byte{0xff}), Value: nil}}},
	}
	for i, want := range records {
		line := appendJSONRecord(nil, want)
		got, partitionGiven, err := parseJSONRecord(bytes.TrimSuffix(line, []byte("\n")))
		if err != nil {
			t.Fatalf("record %d: %s: %v", i, line, err)
		}
		if !partitionGiven || got.Topic != want.Topic || got.Partition != want.Partition || !got.Timestamp.Equal(want.Timestamp) {
			t.Errorf("record %d: read %+v from %s", i, got, line)
		}
		if !bytesEqualNil(got.Key, want.Key) || !bytesEqualNil(got.Value, want.Value) {
			t.Errorf("record %d: key %q value %q, want %q %q", i, got.Key, got.Value, want.Key, want.Value)
		}
		if !slices.EqualFunc(got.Headers, want.Headers, func(a, b kgo.RecordHeader) bool {
			return a.Key == b.Key && bytesEqualNil(a.Value, b.Value)
		}) {
			t.Errorf("record %d: headers %q, want %q", i, got.Headers, want.Headers)
		}
	}
}

// bytesEqualNil is bytes.Equal that also tells null from empty.
func bytesEqualNil(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

func TestJSONRecordInput(t *testing.T) {
	r, partitionGiven, err := parseJSONRecord([]byte(`{"value":"v"}`))
	if err != nil || partitionGiven || r.Key != nil || string(r.Value) != "v" || !r.Timestamp.IsZero() || r.Topic != "" {
		t.Errorf("minimal line read as %+v, partition given %v, %v", r, partitionGiven, err)
	}
	r, partitionGiven, err = parseJSONRecord([]byte(` {"partition":0,"partition":null,"key":"","offset":9} `))
	if err != nil || partitionGiven || r.Key == nil || r.Value != nil {
		t.Errorf("null partition, empty key read as %+v, partition given %v, %v", r, partitionGiven, err)
	}
	bad := []struct{ line, wantErr string }{
		{`{"vaule":"x"}`, `unknown field "vaule"`},
		{`{"value":5}`, `field "value" must be a string or null`},
		{`{"partition":"1"}`, `field "partition" must be an integer`},
		{`{"partition":-1}`, "partition must be between 0"},
		{`{"timestamp":-5}`, "timestamp must not be negative"},
		{`{"headers":{"a":"b"}}`, `field "headers" must be an array`},
		{`{"headers":[{"value":"b"}]}`, "header 0 has no key"},
		{`{"value":"%%%","value_encoding":"base64"}`, "value is not valid base64"},
		{`{"value":"x","value_encoding":"hex"}`, `value_encoding "hex" is not "base64"`},
		{`{"headers":[{"key":"a","value":"!","value_encoding":"base64"}]}`, "header 0 value is not valid base64"},
		{`[1,2]`, "not a JSON object but a JSON array"},
		{`{"value":"x"} {}`, "more than one JSON object"},
		{`{"value":"x"`, "incomplete JSON object"},
		{`value`, "not a JSON object"},
	}
	for _, tt := range bad {
		if _, _, err := parseJSONRecord([]byte(tt.line)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: err = %v, want %q", tt.line, err, tt.wantErr)
		}
	}
	var tooMany strings.Builder
	tooMany.WriteString(`{"headers":[`)
	for i := range maxHeaders + 1 {
		if i > 0 {
			tooMany.WriteByte(',')
		}
		tooMany.WriteString(`{"key":"k"}`)
	}
	tooMany.WriteString(`]}`)
	if _, _, err := parseJSONRecord([]byte(tooMany.String())); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("%d headers: err = %v", maxHeaders+1, err)
	}
	if !json.Valid(appendJSONRecord(nil, testRecord())) {
		t.Error("output is not valid JSON")
	}
}

// FuzzParseJSONRecord checks that no input line panics, and that a line
// that parses prints as a record that parses to the same thing.
func FuzzParseJSONRecord(f *testing.F) {
	f.Add([]byte(`{"topic":"t","partition":1,"key":"k","value":"v","headers":[{"key":"h","value":"x"}],"timestamp":1}`))
	f.Add([]byte(`{"value":"/wA=","value_encoding":"base64"}`))
	f.Add([]byte(`{"key":null}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, _, err := parseJSONRecord(line)
		if err != nil {
			return
		}
		if r.Timestamp.IsZero() {
			r.Timestamp = time.UnixMilli(0) // a consumed record always has one
		}
		again, _, err := parseJSONRecord(bytes.TrimSuffix(appendJSONRecord(nil, r), []byte("\n")))
		if err != nil {
			t.Fatalf("%s printed as something that does not parse: %v", line, err)
		}
		if !bytesEqualNil(again.Key, r.Key) || !bytesEqualNil(again.Value, r.Value) || len(again.Headers) != len(r.Headers) {
			t.Fatalf("%s: %+v printed and read as %+v", line, r, again)
		}
	})
}
