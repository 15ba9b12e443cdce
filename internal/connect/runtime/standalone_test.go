package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/rest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// countingConnector runs countingSource tasks that emit n=0..limit-1.
type countingConnector struct{ limit int64 }

func (c *countingConnector) Version() string { return "1.0" }
func (c *countingConnector) Start(connect.ConnectorContext, map[string]string) error {
	return nil
}
func (c *countingConnector) TaskConfigs(int) ([]map[string]string, error) {
	return []map[string]string{{"limit": fmt.Sprint(c.limit)}}, nil
}
func (c *countingConnector) Stop() error { return nil }
func (c *countingConnector) Config() *connect.ConfigDef {
	return connect.NewConfigDef().Define(connect.ConfigKey{Name: "greeting", Type: connect.ConfigString, Default: "hello",
		Importance: connect.Low, Validator: connect.NonEmptyString(), Documentation: "A key to validate."})
}
func (c *countingConnector) NewTask() connect.SourceTask {
	return &countingSource{limit: c.limit, started: make(chan int64, 100)}
}

// restClient calls a REST server and decodes its answers.
type restClient struct {
	t    *testing.T
	base string
}

func (c restClient) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		reader = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(c.t.Context(), method, c.base+path, reader)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// expect fails unless the call answers status.
func (c restClient) expect(status int, method, path string, body any) map[string]any {
	c.t.Helper()
	got, out := c.call(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, status)
	}
	return out
}

// waitState waits until the connector (and its tasks) report state.
func (c restClient) waitState(name, state string) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out := c.call(http.MethodGet, "/connectors/"+name+"/status", nil)
		conn, _ := out["connector"].(map[string]any)
		tasks, _ := out["tasks"].([]any)
		ok := conn != nil && conn["state"] == state
		for _, t := range tasks {
			ok = ok && t.(map[string]any)["state"] == state
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("connector %s: status %v, want %s", name, out, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStandaloneLifecycleOverREST drives the standalone herder through
// Kafka Connect's REST API against a real broker: create (and the errors
// of a duplicate and of a bad configuration), status, pause and resume,
// stop, the offsets API rewinding a stopped connector so that its records
// are written again once resumed, and delete.
func TestStandaloneLifecycleOverREST(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"counts": 1})
	worker, err := ParseWorkerConfig(ModeStandalone, map[string]string{"bootstrap.servers": srv.Addr,
		"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets"), "offset.flush.interval.ms": "100",
		"listeners": "http://127.0.0.1:18083"})
	if err != nil {
		t.Fatal(err)
	}
	reg := connect.NewRegistry()
	if err := reg.Register(connect.Plugin{Class: "test.CountingSourceConnector", New: func() connect.Connector { return &countingConnector{limit: 20} }}); err != nil {
		t.Fatal(err)
	}
	h, err := NewStandalone(worker, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx, nil) }()
	defer func() { cancel(); <-done }()
	server, err := rest.New(h, rest.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server)
	defer hs.Close()
	c := restClient{t: t, base: hs.URL}

	config := map[string]string{"connector.class": "CountingSource", "tasks.max": "1"}
	created := c.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "counter", "config": config})
	if created["type"] != "source" || len(created["tasks"].([]any)) != 1 {
		t.Fatalf("created %v", created)
	}
	c.expect(http.StatusConflict, http.MethodPost, "/connectors", map[string]any{"name": "counter", "config": config})
	bad := c.expect(http.StatusBadRequest, http.MethodPost, "/connectors",
		map[string]any{"name": "bad", "config": map[string]string{"connector.class": "CountingSource", "tasks.max": "0", "greeting": ""}})
	if msg, _ := bad["message"].(string); !strings.Contains(msg, "contains the following 2 error(s)") || !strings.Contains(msg, "tasks.max") {
		t.Errorf("bad config answer %v", bad)
	}
	c.expect(http.StatusNotFound, http.MethodGet, "/connectors/nope/status", nil)
	c.waitState("counter", StateRunning)
	waitRecords(t, srv.Addr, "counts", 20)

	c.expect(http.StatusAccepted, http.MethodPut, "/connectors/counter/pause", nil)
	c.waitState("counter", StatePaused)
	c.expect(http.StatusAccepted, http.MethodPut, "/connectors/counter/resume", nil)
	c.waitState("counter", StateRunning)

	// Offsets can change only while the connector is stopped.
	c.expect(http.StatusBadRequest, http.MethodDelete, "/connectors/counter/offsets", nil)
	c.expect(http.StatusNoContent, http.MethodPut, "/connectors/counter/stop", nil)
	c.waitState("counter", StateStopped)
	offsets := c.expect(http.StatusOK, http.MethodGet, "/connectors/counter/offsets", nil)
	if fmt.Sprint(offsets["offsets"]) != "[map[offset:map[next:20] partition:map[source:counter]]]" {
		t.Fatalf("offsets %v", offsets)
	}
	c.expect(http.StatusOK, http.MethodPatch, "/connectors/counter/offsets",
		map[string]any{"offsets": []any{map[string]any{"partition": countingPartition, "offset": map[string]any{"next": 15}}}})
	c.expect(http.StatusAccepted, http.MethodPut, "/connectors/counter/resume", nil)
	c.waitState("counter", StateRunning)
	// n=15..19 are written again: 25 records in all.
	waitRecords(t, srv.Addr, "counts", 25)

	c.expect(http.StatusNoContent, http.MethodDelete, "/connectors/counter", nil)
	c.expect(http.StatusNotFound, http.MethodGet, "/connectors/counter", nil)
}

// waitRecords waits until topic holds n records.
func waitRecords(t *testing.T, addr, topic string, n int) {
	t.Helper()
	values := readValues(t, addr, topic, n)
	total := 0
	for _, c := range values {
		total += c
	}
	if total != n {
		t.Fatalf("read %d records, want %d", total, n)
	}
}
