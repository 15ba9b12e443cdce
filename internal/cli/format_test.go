package cli

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic:     "orders",
		Partition: 3,
		Offset:    42,
		Key:       []byte("k1"),
		Value:     []byte("hello"),
		Timestamp: time.UnixMilli(1700000000123),
		Headers:   []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("")}},
	}
}

func TestFormatRecord(t *testing.T) {
	tests := []struct {
		template string
		want     string
	}{
		{DefaultFormat, "hello\n"},
		{"%t/%p@%o %k=%v %T [%h]\\n", "orders/3@42 k1=hello 1700000000123 [a=1,b=]\n"},
		{"100%% %v\\t|\\r\\\\", "100% hello\t|\r\\"},
		{"", ""},
		{"plain", "plain"},
		{"%k%k", "k1k1"},
	}
	for _, tt := range tests {
		f, err := parseFormat(tt.template)
		if err != nil {
			t.Errorf("parseFormat(%q): %v", tt.template, err)
			continue
		}
		if got := string(f.appendRecord(nil, testRecord())); got != tt.want {
			t.Errorf("format %q = %q, want %q", tt.template, got, tt.want)
		}
	}
}

func TestFormatNullKeyAndNoHeaders(t *testing.T) {
	f, err := parseFormat("[%k][%h][%v]")
	if err != nil {
		t.Fatal(err)
	}
	got := string(f.appendRecord(nil, &kgo.Record{Value: []byte("v")}))
	if got != "[][][v]" {
		t.Errorf("got %q", got)
	}
}

func TestParseFormatErrors(t *testing.T) {
	for _, bad := range []string{"%", "\\", "%x", "%v\\q", string(make([]byte, maxFormatBytes+1))} {
		if _, err := parseFormat(bad); err == nil {
			t.Errorf("parseFormat(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, seed := range []string{DefaultFormat, "%t %p %o %k %v %T %h\\n", "%%\\\\", "%", "\\z"} {
		f.Add(seed)
	}
	r := testRecord()
	f.Fuzz(func(t *testing.T, template string) {
		rf, err := parseFormat(template)
		if err != nil {
			return
		}
		_ = rf.appendRecord(nil, r)
	})
}

func BenchmarkFormatRecord(b *testing.B) {
	f, err := parseFormat("%t %p %o %k %v %T %h\\n")
	if err != nil {
		b.Fatal(err)
	}
	r := testRecord()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = f.appendRecord(buf[:0], r)
	}
}
