package console

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzViewRecord feeds arbitrary record bytes, which anyone who can
// produce controls, to what the page is sent: no panic, valid JSON, text
// that is UTF-8 and bounded.
func FuzzViewRecord(f *testing.F) {
	f.Add([]byte("k"), []byte(`{"a":1}`), "h", []byte("v"))
	f.Add([]byte{0xff, 0xfe}, []byte{0, 1, 2}, "", []byte{0xc3})
	f.Add([]byte(nil), []byte(`[1, {"x": "\u00e9"}]`), "\xff", []byte(nil))
	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hvalue []byte) {
		rec := &kgo.Record{Key: key, Value: value, Headers: []kgo.RecordHeader{{Key: hkey, Value: hvalue}}}
		m := viewRecord(rec)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !json.Valid(out) {
			t.Fatal("invalid JSON")
		}
		for _, s := range []*string{m.Key, m.Value} {
			if s != nil && (len(*s) > maxShownBytes*4/3+4 || !utf8.ValidString(*s)) {
				t.Fatalf("shown text of %d bytes, valid UTF-8 %v", len(*s), utf8.ValidString(*s))
			}
		}
		if (key == nil) != (m.Key == nil) {
			t.Fatal("null key not kept apart from empty")
		}
	})
}

// FuzzBrowseQuery checks that any query string is refused or yields a
// query within the limits.
func FuzzBrowseQuery(f *testing.F) {
	f.Add("orders", "partition=1&mode=offset&offset=5&count=10")
	f.Add("orders", "count=100000")
	f.Add("..", "mode=timestamp&timestamp=-1")
	f.Add("t", "key=%ff&partition=2147483648")
	f.Fuzz(func(t *testing.T, topic, rawQuery string) {
		r := httptest.NewRequest("GET", "/x", nil)
		r.URL.RawQuery = rawQuery
		r.SetPathValue("topic", topic)
		q, err := parseBrowseQuery(r)
		if err != nil {
			return
		}
		if q.count < 1 || q.count > maxBrowseRecords || q.partition < -1 || q.offset < 0 || q.timestamp < 0 {
			t.Fatalf("accepted out-of-range query %+v from %q", q, rawQuery)
		}
		if validTopic(q.topic) != nil || len(q.key) > maxFilterBytes || len(q.value) > maxFilterBytes {
			t.Fatalf("accepted bad topic or filter %+v", q)
		}
		_ = url.QueryEscape(q.key)
	})
}
