package cli

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSplitKeyValue(t *testing.T) {
	tests := []struct {
		line, sep string
		wantKey   *string // nil: a null key
		wantValue string
		wantErr   bool
	}{
		{"plain value", "", nil, "plain value", false},
		{"k:v", ":", ptr("k"), "v", false},
		{"k:v:w", ":", ptr("k"), "v:w", false},
		{":v", ":", ptr(""), "v", false},
		{"k:", ":", ptr("k"), "", false},
		{"key=>value", "=>", ptr("key"), "value", false},
		{"no separator", ":", nil, "", true},
		{"", "", nil, "", false},
	}
	for _, tt := range tests {
		key, value, err := splitKeyValue([]byte(tt.line), tt.sep)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitKeyValue(%q, %q) err = %v, wantErr %v", tt.line, tt.sep, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		switch {
		case tt.wantKey == nil && key != nil:
			t.Errorf("splitKeyValue(%q, %q) key = %q, want null", tt.line, tt.sep, key)
		case tt.wantKey != nil && (key == nil || string(key) != *tt.wantKey):
			t.Errorf("splitKeyValue(%q, %q) key = %q, want %q", tt.line, tt.sep, key, *tt.wantKey)
		}
		if string(value) != tt.wantValue {
			t.Errorf("splitKeyValue(%q, %q) value = %q, want %q", tt.line, tt.sep, value, tt.wantValue)
		}
	}
}

func ptr(s string) *string { return &s }

func TestBuildRecordCopiesLine(t *testing.T) {
	line := []byte("k|v")
	opts := produceOptions{keySeparator: "|", partition: 2, headers: []kgo.RecordHeader{{Key: "h", Value: []byte("1")}}}
	r, err := buildRecord(line, 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	copy(line, "XXX")
	if string(r.Key) != "k" || string(r.Value) != "v" || r.Partition != 2 || len(r.Headers) != 1 {
		t.Errorf("record = key %q value %q partition %d headers %v", r.Key, r.Value, r.Partition, r.Headers)
	}
	if _, err := buildRecord([]byte("nokey"), 7, opts); err == nil || err.Error() != `line 7: no key separator "|" found` {
		t.Errorf("err = %v", err)
	}
}

func TestParseHeaders(t *testing.T) {
	got, err := parseHeaders([]string{"trace=abc", "empty=", "trace=def", "eq=a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "empty", Value: []byte{}}, {Key: "trace", Value: []byte("def")}, {Key: "eq", Value: []byte("a=b")}}
	if len(got) != len(want) {
		t.Fatalf("got %d headers, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Value) != string(want[i].Value) {
			t.Errorf("header %d = %s=%s, want %s=%s", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
	for _, bad := range [][]string{{"novalue"}, {"=v"}, make([]string, maxHeaders+1)} {
		if _, err := parseHeaders(bad); err == nil {
			t.Errorf("parseHeaders(%d items) succeeded, want an error", len(bad))
		}
	}
}

func TestParseAcksAndCompression(t *testing.T) {
	acksTests := []struct {
		in             string
		want           kgo.Acks
		wantIdempotent bool
		wantErr        bool
	}{
		{"all", kgo.AllISRAcks(), true, false},
		{"-1", kgo.AllISRAcks(), true, false},
		{"1", kgo.LeaderAck(), false, false},
		{"0", kgo.NoAck(), false, false},
		{"2", kgo.Acks{}, false, true},
		{"", kgo.Acks{}, false, true},
	}
	for _, tt := range acksTests {
		got, idem, err := ParseAcks(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want || idem != tt.wantIdempotent {
			t.Errorf("ParseAcks(%q) = %v, %v, %v", tt.in, got, idem, err)
		}
	}
	for _, ok := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		if _, err := ParseCompression(ok); err != nil {
			t.Errorf("ParseCompression(%q): %v", ok, err)
		}
	}
	if _, err := ParseCompression("brotli"); err == nil {
		t.Error("ParseCompression(brotli) succeeded")
	}
}
