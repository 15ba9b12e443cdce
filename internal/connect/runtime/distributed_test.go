package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/rest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// spreadConnector has one counting task per tasks.max, each with its own
// source partition, so that a connector's tasks spread over workers.
type spreadConnector struct{ limit int64 }

func (c *spreadConnector) Version() string                                         { return "1.0" }
func (c *spreadConnector) Start(connect.ConnectorContext, map[string]string) error { return nil }
func (c *spreadConnector) Stop() error                                             { return nil }
func (c *spreadConnector) Config() *connect.ConfigDef                              { return connect.NewConfigDef() }
func (c *spreadConnector) TaskConfigs(max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = map[string]string{"task": strconv.Itoa(i)}
	}
	return out, nil
}
func (c *spreadConnector) NewTask() connect.SourceTask {
	return &countingSource{limit: c.limit, topic: "spread"}
}

// distributedWorker is one herder of the test's group and its REST server.
type distributedWorker struct {
	herder *Distributed
	client restClient
	cancel context.CancelFunc
	done   chan error
}

// startDistributedWorker starts a distributed herder of group "test-group"
// against addr, serving REST on a free loopback port.
func startDistributedWorker(t *testing.T, addr string, reg *connect.Registry, extra ...string) *distributedWorker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	props := map[string]string{"bootstrap.servers": addr, "group.id": "test-group",
		"config.storage.topic": "test-configs", "offset.storage.topic": "test-offsets", "status.storage.topic": "test-status",
		"config.storage.replication.factor": "1", "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
		"offset.flush.interval.ms": "100", "scheduled.rebalance.max.delay.ms": "2000", "heartbeat.interval.ms": "500",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter",
		"listeners":       url, "rest.advertised.host.name": host, "rest.advertised.port": port}
	for i := 0; i+1 < len(extra); i += 2 {
		props[extra[i]] = extra[i+1]
	}
	worker, err := ParseWorkerConfig(ModeDistributed, props)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("FJORD_CONNECT_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("worker", url)
	}
	h, err := NewDistributed(worker, reg, logger)
	if err != nil {
		t.Fatal(err)
	}
	server, err := rest.New(h, rest.ServerConfig{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &distributedWorker{herder: h, client: restClient{t: t, base: url}, cancel: cancel, done: make(chan error, 2)}
	go func() { w.done <- server.Serve(ctx, ln) }()
	go func() { w.done <- h.Run(ctx) }()
	t.Cleanup(w.stop)
	return w
}

// stop ends the worker gracefully: it leaves the group.
func (w *distributedWorker) stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	w.cancel = nil
	for range 2 {
		if err := <-w.done; err != nil {
			w.client.t.Errorf("worker %s: %v", w.client.base, err)
		}
	}
}

// TestDistributedWorkersShareConnectors runs three distributed herders in
// one group against a real broker: a connector created through any worker
// has its six tasks spread two per worker, each task's records reach the
// topic once, a worker that leaves has its tasks moved to the others, and
// stop, offsets and delete work through any worker.
func TestDistributedWorkersShareConnectors(t *testing.T) {
	for _, protocol := range []string{"sessioned", "eager"} {
		t.Run(protocol, func(t *testing.T) { testDistributedWorkersShareConnectors(t, protocol) })
	}
}

func testDistributedWorkersShareConnectors(t *testing.T, protocol string) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"spread": 3})
	reg := connect.NewRegistry()
	if err := reg.Register(connect.Plugin{Class: "test.SpreadSourceConnector", New: func() connect.Connector { return &spreadConnector{limit: 20} }}); err != nil {
		t.Fatal(err)
	}
	var workers []*distributedWorker
	for range 3 {
		workers = append(workers, startDistributedWorker(t, srv.Addr, reg, "connect.protocol", protocol))
	}
	for _, w := range workers {
		waitHealthy(t, w.client)
	}
	c := workers[1].client
	created := c.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "spread",
		"config": map[string]string{"connector.class": "SpreadSource", "tasks.max": "6"}})
	if created["name"] != "spread" || created["type"] != "source" {
		t.Fatalf("created %v", created)
	}
	c.expect(http.StatusConflict, http.MethodPost, "/connectors", map[string]any{"name": "spread",
		"config": map[string]string{"connector.class": "SpreadSource"}})
	status := waitTasks(t, workers[2].client, "spread", 6, StateRunning)
	perWorker := map[string]int{}
	for _, task := range status["tasks"].([]any) {
		perWorker[task.(map[string]any)["worker_id"].(string)]++
	}
	if len(perWorker) != 3 {
		t.Errorf("tasks per worker %v, want two on each of three", perWorker)
	}
	checkSpread(t, srv.Addr, 120)

	// A worker that leaves has its tasks moved to the others.
	workers[0].stop()
	eventually(t, "tasks moved off the stopped worker", func() (bool, string) {
		status := waitTasks(t, workers[1].client, "spread", 6, StateRunning)
		for _, task := range status["tasks"].([]any) {
			if id := task.(map[string]any)["worker_id"]; "http://"+id.(string) == workers[0].client.base {
				return false, fmt.Sprint(status)
			}
		}
		return true, ""
	})

	c = workers[2].client
	c.expect(http.StatusNoContent, http.MethodPut, "/connectors/spread/stop", nil)
	eventually(t, "connector stopped", func() (bool, string) {
		_, out := c.call(http.MethodGet, "/connectors/spread/status", nil)
		conn, _ := out["connector"].(map[string]any)
		return conn != nil && conn["state"] == StateStopped && len(out["tasks"].([]any)) == 0, fmt.Sprint(out)
	})
	// Rewind task 0 to n=15: five of its records come again.
	// The stop's rebalance may still be under way: 409 until it is done.
	eventually(t, "offsets altered", func() (bool, string) {
		status, out := c.call(http.MethodPatch, "/connectors/spread/offsets", map[string]any{"offsets": []any{
			map[string]any{"partition": map[string]any{"task": "0"}, "offset": map[string]any{"next": 15}}}})
		if status != http.StatusOK && status != http.StatusConflict {
			t.Fatalf("PATCH offsets: %d %v", status, out)
		}
		return status == http.StatusOK, fmt.Sprint(status, out)
	})
	c.expect(http.StatusAccepted, http.MethodPut, "/connectors/spread/resume", nil)
	waitTasks(t, c, "spread", 6, StateRunning)
	values := readValues(t, srv.Addr, "spread", 125)
	for i := range 20 {
		if want := 1 + boolInt(i >= 15); values[fmt.Sprintf("t0-n=%d", i)] != want {
			t.Errorf("t0-n=%d written %d times, want %d", i, values[fmt.Sprintf("t0-n=%d", i)], want)
		}
	}
	// A rebalance the resume started may still be under way: 409 until
	// the group has assigned it, as Kafka answers.
	eventually(t, "connector deleted", func() (bool, string) {
		status, out := c.call(http.MethodDelete, "/connectors/spread", nil)
		if status != http.StatusNoContent && status != http.StatusConflict {
			t.Fatalf("DELETE /connectors/spread: %d %v", status, out)
		}
		return status == http.StatusNoContent, fmt.Sprint(status, out)
	})
	workers[1].client.expect(http.StatusNotFound, http.MethodGet, "/connectors/spread", nil)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkSpread requires each of the six tasks' records in the topic once.
func checkSpread(t *testing.T, addr string, n int) {
	t.Helper()
	values := readValues(t, addr, "spread", n)
	for task := range 6 {
		for i := range 20 {
			if v := fmt.Sprintf("t%d-n=%d", task, i); values[v] != 1 {
				t.Errorf("%s written %d times, want once", v, values[v])
			}
		}
	}
}

// waitHealthy waits until a worker has joined its group.
func waitHealthy(t *testing.T, c restClient) {
	t.Helper()
	eventually(t, "worker healthy", func() (bool, string) {
		status, out := c.call(http.MethodGet, "/health", nil)
		return status == http.StatusOK, fmt.Sprint(out)
	})
}

// waitTasks waits until the connector and its n tasks are in state, and
// returns the status.
func waitTasks(t *testing.T, c restClient, name string, n int, state string) map[string]any {
	t.Helper()
	var status map[string]any
	eventually(t, fmt.Sprintf("%s and %d tasks %s", name, n, state), func() (bool, string) {
		_, status = c.call(http.MethodGet, "/connectors/"+name+"/status", nil)
		conn, _ := status["connector"].(map[string]any)
		tasks, _ := status["tasks"].([]any)
		ok := conn != nil && conn["state"] == state && len(tasks) == n
		for _, task := range tasks {
			ok = ok && task.(map[string]any)["state"] == state
		}
		return ok, fmt.Sprint(status)
	})
	return status
}

// eventually polls cond until it holds, or fails after 60 s with cond's
// last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s", what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDistributedExactlyOnceSource runs source tasks under
// exactly.once.source.support=enabled: each poll's records and their
// offsets are one transaction, so a read_committed reader sees every
// record once, and a task moved to another worker resumes exactly where
// the committed transactions end.
func TestDistributedExactlyOnceSource(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"spread": 3})
	reg := connect.NewRegistry()
	if err := reg.Register(connect.Plugin{Class: "test.SpreadSourceConnector", New: func() connect.Connector { return &spreadConnector{limit: 200} }}); err != nil {
		t.Fatal(err)
	}
	workers := []*distributedWorker{startDistributedWorker(t, srv.Addr, reg, "exactly.once.source.support", "enabled"),
		startDistributedWorker(t, srv.Addr, reg, "exactly.once.source.support", "enabled")}
	for _, w := range workers {
		waitHealthy(t, w.client)
	}
	eventually(t, "connector created", func() (bool, string) {
		status, out := workers[0].client.call(http.MethodPost, "/connectors", map[string]any{"name": "spread",
			"config": map[string]string{"connector.class": "SpreadSource", "tasks.max": "4"}})
		return status == http.StatusCreated, fmt.Sprint(status, out)
	})
	waitTasks(t, workers[1].client, "spread", 4, StateRunning)
	// Moving tasks mid-stream: the stopped worker's transactions end with
	// its tasks, the others resume from their committed offsets.
	workers[0].stop()
	waitTasks(t, workers[1].client, "spread", 4, StateRunning)
	values := readCommittedValues(t, srv.Addr, "spread", 800)
	for task := range 4 {
		for i := range 200 {
			if v := fmt.Sprintf("t%d-n=%d", task, i); values[v] != 1 {
				t.Errorf("%s read %d times, want once", v, values[v])
			}
		}
	}
}

// readCommittedValues reads n committed records of topic, and a quiet
// half second more, counting each value.
func readCommittedValues(t *testing.T, addr, topic string, n int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out := map[string]int{}
	for read := 0; read < n; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", read, n)
		}
		fetches.EachRecord(func(r *kgo.Record) { out[string(r.Value)]++; read++ })
	}
	quiet, cancelQuiet := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancelQuiet()
	for quiet.Err() == nil {
		cl.PollFetches(quiet).EachRecord(func(r *kgo.Record) { out[string(r.Value)]++ })
	}
	return out
}

// TestDistributedConflictsBeforeJoining: a worker that has not joined its
// group knows no leader, so a write answers 409 as Kafka's does, and its
// health check says it is starting.
func TestDistributedConflictsBeforeJoining(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	worker, err := ParseWorkerConfig(ModeDistributed, map[string]string{"bootstrap.servers": srv.Addr, "group.id": "g",
		"config.storage.topic": "c", "offset.storage.topic": "o", "status.storage.topic": "s"})
	if err != nil {
		t.Fatal(err)
	}
	reg := connect.NewRegistry()
	if err := reg.Register(connect.Plugin{Class: "test.SpreadSourceConnector", New: func() connect.Connector { return &spreadConnector{} }}); err != nil {
		t.Fatal(err)
	}
	h, err := NewDistributed(worker, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.client.Close()
	server, err := rest.New(h, rest.ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(server)
	defer hs.Close()
	c := restClient{t: t, base: hs.URL}
	out := c.expect(http.StatusConflict, http.MethodPut, "/connectors/x/config", map[string]string{"connector.class": "SpreadSource"})
	if out["error_code"] != float64(http.StatusConflict) {
		t.Errorf("409 body %v", out)
	}
	if status, _ := c.call(http.MethodGet, "/health", nil); status == http.StatusOK {
		t.Errorf("GET /health answered 200 before the worker joined")
	}
}
