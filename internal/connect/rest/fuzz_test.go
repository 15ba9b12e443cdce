package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT"}

// FuzzHandler feeds random methods, paths and bodies to the handler: it
// must never panic, and must always answer a status code with a JSON
// body (none for 202 and 204).
func FuzzHandler(f *testing.F) {
	seeds := []struct {
		method uint8
		path   string
		body   string
	}{
		{1, "/connectors", `{"name":"x","config":{"connector.class":"FileStreamSource","tasks.max":1}}`},
		{2, "/connectors/src/config", `{"connector.class":"FileStreamSource","tasks.max":"3"}`},
		{3, "/connectors/src/config", `{"tasks.max":null,"a":true}`},
		{3, "/connectors/snk/offsets", `{"offsets":[{"partition":{"f":"a"},"offset":{"p":1e400}}]}`},
		{0, "/connectors?expand=status&expand=info", ""},
		{1, "/connectors/src/restart?includeTasks=true&onlyFailed=true", ""},
		{0, "/connectors/src/tasks/1/status", ""},
		{2, "/connector-plugins/FileStreamSource/config/validate", `{"connector.class":"FileStreamSource"}`},
		{2, "/connectors/a%2Fb/stop", ""},
		{4, "/connectors/%zz", ""},
		{0, "/connectors/../..//x", ""},
		{1, "/connectors", `{"name":"\u0000","config":{}}`},
		{1, "/connectors", `{"name":"x","config":{"a":[1]},"initial_state":7}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, methodIndex uint8, path string, body []byte) {
		method := fuzzMethods[int(methodIndex)%len(fuzzMethods)]
		req, err := http.NewRequestWithContext(context.Background(), method, "http://worker"+path,
			bytes.NewReader(body))
		if err != nil || req.URL.Host != "worker" {
			return // not a request a client could send
		}
		s, err := New(newMemHerder(), ServerConfig{MaxRequestBytes: 4096})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("%s %q: status %d", method, path, rec.Code)
		}
		if rec.Body.Len() == 0 {
			if rec.Code != http.StatusNoContent && rec.Code != http.StatusAccepted {
				t.Fatalf("%s %q: status %d with no body", method, path, rec.Code)
			}
			return
		}
		if !json.Valid(rec.Body.Bytes()) || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s %q: status %d, not JSON: %q", method, path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e ErrorMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrorCode != rec.Code || e.Message == "" {
				t.Fatalf("%s %q: status %d, error body %q", method, path, rec.Code, rec.Body)
			}
		}
	})
}
