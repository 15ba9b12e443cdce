package connecte2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/fjordhq/fjord/internal/e2etest"
)

// TestConnectRESTConformance is Connect's acceptance 1: it drives every
// endpoint of Kafka Connect's REST API against two `fjord connect
// distributed` workers, alternating between them so that requests that
// need the leader are forwarded, and checks the status codes, the JSON
// fields and the state transitions Kafka Connect documents, and the
// errors: 404 for an unknown connector or task, 400 with the validation
// messages for a bad configuration, 409 for a duplicate and while the
// group rebalances.
func TestConnectRESTConformance(t *testing.T) {
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, e2etest.TestTimeout)
	e2etest.CreateTopic(t, ctx, e2etest.NewAdmin(t, srv.Addr), "rest-lines", 1, nil)
	props := map[string]string{"group.id": "rest-test", "config.storage.topic": "rest-configs",
		"offset.storage.topic": "rest-offsets", "status.storage.topic": "rest-status",
		"config.storage.replication.factor": "1", "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
		"offset.flush.interval.ms": "200", "session.timeout.ms": "6000", "heartbeat.interval.ms": "1000",
		"scheduled.rebalance.max.delay.ms": "2000"}
	workers := []*connectWorker{newConnectWorker(t, "distributed", srv.Addr, props), newConnectWorker(t, "distributed", srv.Addr, props)}
	for _, w := range workers {
		w.launch(ctx)
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "input.txt")
	if err := os.WriteFile(input, []byte("a\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &restConformance{t: t, ctx: ctx, workers: workers, broker: srv.Addr}
	r.server()
	r.plugins(input)
	r.create(input)
	r.lifecycle()
	r.offsets(input)
	r.conflictDuringRebalance(dir)
	r.delete()
}

// restConformance sends each request to the next worker in turn.
type restConformance struct {
	t       *testing.T
	ctx     context.Context
	workers []*connectWorker
	broker  string
	next    int
}

func (r *restConformance) worker() *connectWorker {
	w := r.workers[r.next%len(r.workers)]
	r.next++
	return w
}

// expect sends a request and requires status; it returns the body.
func (r *restConformance) expect(status int, method, path string, body any) map[string]any {
	r.t.Helper()
	return r.worker().expect(status, method, path, body)
}

// expectList is expect for an endpoint answering a JSON array.
func (r *restConformance) expectList(status int, method, path string) []any {
	r.t.Helper()
	out := r.expect(status, method, path, nil)
	list, ok := out["raw"]
	if !ok {
		r.t.Fatalf("%s %s answered %v, want a JSON array", method, path, out)
	}
	var items []any
	if err := json.Unmarshal([]byte(list.(string)), &items); err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	return items
}

// waitStatus waits until every worker reports the connector, and its n
// tasks, in state.
func (r *restConformance) waitStatus(name, state string, n int) {
	r.t.Helper()
	for _, w := range r.workers {
		e2etest.Eventually(r.t, r.ctx, fmt.Sprintf("%s %s with %d tasks", name, state, n), func() (bool, string) {
			_, out := w.call(http.MethodGet, "/connectors/"+name+"/status", nil)
			conn, _ := out["connector"].(map[string]any)
			tasks, _ := out["tasks"].([]any)
			ok := conn != nil && conn["state"] == state && len(tasks) == n && conn["worker_id"] != ""
			for _, task := range tasks {
				ok = ok && task.(map[string]any)["state"] == state
			}
			return ok, fmt.Sprint(out)
		})
	}
}

func (r *restConformance) server() {
	root := r.expect(http.StatusOK, http.MethodGet, "/", nil)
	for _, k := range []string{"version", "commit", "kafka_cluster_id"} {
		if _, ok := root[k]; !ok {
			r.t.Errorf("GET / has no %s: %v", k, root)
		}
	}
	if health := r.expect(http.StatusOK, http.MethodGet, "/health", nil); health["status"] != "healthy" {
		r.t.Errorf("GET /health: %v", health)
	}
	if got := r.expectList(http.StatusOK, http.MethodGet, "/connectors"); len(got) != 0 {
		r.t.Errorf("GET /connectors on a new cluster: %v", got)
	}
	if e := r.expect(http.StatusNotFound, http.MethodGet, "/connectors/nope", nil); e["error_code"] != float64(404) {
		r.t.Errorf("404 body %v", e)
	}
}

func (r *restConformance) plugins(input string) {
	plugins := r.expectList(http.StatusOK, http.MethodGet, "/connector-plugins")
	found := false
	for _, p := range plugins {
		p := p.(map[string]any)
		found = found || p["class"] == "org.apache.kafka.connect.file.FileStreamSourceConnector" && p["type"] == "source"
		if p["type"] != "source" && p["type"] != "sink" {
			r.t.Errorf("connector-plugins lists %v without connectorsOnly=false", p)
		}
	}
	if !found {
		r.t.Errorf("connector-plugins: no FileStreamSourceConnector in %v", plugins)
	}
	all := r.expectList(http.StatusOK, http.MethodGet, "/connector-plugins?connectorsOnly=false")
	if len(all) <= len(plugins) {
		r.t.Errorf("connectorsOnly=false lists %d plugins, no more than the %d connectors", len(all), len(plugins))
	}
	keys := r.expectList(http.StatusOK, http.MethodGet, "/connector-plugins/FileStreamSource/config")
	if !strings.Contains(fmt.Sprint(keys), "name:file") {
		r.t.Errorf("FileStreamSource's config keys lack file: %v", keys)
	}
	r.expect(http.StatusNotFound, http.MethodGet, "/connector-plugins/NoSuchConnector/config", nil)
	v := r.expect(http.StatusOK, http.MethodPut, "/connector-plugins/FileStreamSourceConnector/config/validate",
		map[string]string{"name": "v", "connector.class": "FileStreamSource", "file": input, "tasks.max": "0"})
	if v["error_count"] != float64(2) || !strings.Contains(fmt.Sprint(v["configs"]), "topic") {
		r.t.Errorf("validate: %v, want 2 errors, tasks.max and topic", v)
	}
}

func (r *restConformance) create(input string) {
	bad := r.expect(http.StatusBadRequest, http.MethodPost, "/connectors", map[string]any{"name": "lines-in",
		"config": map[string]string{"connector.class": "FileStreamSource", "file": input, "tasks.max": "0"}})
	if msg := fmt.Sprint(bad["message"]); !strings.Contains(msg, "contains the following 2 error(s)") || !strings.Contains(msg, "tasks.max") {
		r.t.Errorf("bad config: %v", bad)
	}
	config := map[string]string{"connector.class": "FileStreamSource", "file": input, "topic": "rest-lines"}
	created := r.expectCreated(map[string]any{"name": "lines-in", "config": config})
	if created["name"] != "lines-in" || created["type"] != "source" || created["config"].(map[string]any)["name"] != "lines-in" {
		r.t.Errorf("created %v", created)
	}
	r.expect(http.StatusConflict, http.MethodPost, "/connectors", map[string]any{"name": "lines-in", "config": config})
	// PUT config creates (201), then replaces (200); PATCH changes keys.
	sink := map[string]string{"connector.class": "FileStreamSink", "file": input + ".out", "topics": "rest-lines"}
	r.retryConflict(http.StatusCreated, http.MethodPut, "/connectors/lines-out/config", sink)
	sink["tasks.max"] = "1"
	r.retryConflict(http.StatusOK, http.MethodPut, "/connectors/lines-out/config", sink)
	patched := r.retryConflict(http.StatusOK, http.MethodPatch, "/connectors/lines-out/config", map[string]any{"batch.size": "10"})
	if patched["config"].(map[string]any)["batch.size"] != "10" {
		r.t.Errorf("PATCH answered %v", patched)
	}
	r.waitStatus("lines-in", "RUNNING", 1)
	r.waitStatus("lines-out", "RUNNING", 1)
	names := r.expectList(http.StatusOK, http.MethodGet, "/connectors")
	if fmt.Sprint(names) != "[lines-in lines-out]" {
		r.t.Errorf("GET /connectors: %v", names)
	}
	expanded := r.expect(http.StatusOK, http.MethodGet, "/connectors?expand=status&expand=info", nil)
	in, _ := expanded["lines-in"].(map[string]any)
	if in == nil || in["status"] == nil || in["info"] == nil {
		r.t.Errorf("expand=status&expand=info: %v", expanded)
	}
	if got := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/config", nil); got["file"] != input {
		r.t.Errorf("GET config: %v", got)
	}
	tasks := r.expectList(http.StatusOK, http.MethodGet, "/connectors/lines-in/tasks")
	if len(tasks) != 1 || fmt.Sprint(tasks[0].(map[string]any)["id"]) != "map[connector:lines-in task:0]" {
		r.t.Errorf("GET tasks: %v", tasks)
	}
	if st := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/tasks/0/status", nil); st["state"] != "RUNNING" || st["id"] != float64(0) {
		r.t.Errorf("task status: %v", st)
	}
	r.expect(http.StatusNotFound, http.MethodGet, "/connectors/lines-in/tasks/7/status", nil)
	topics := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/topics", nil)
	if _, ok := topics["lines-in"].(map[string]any)["topics"]; !ok {
		r.t.Errorf("GET topics: %v", topics)
	}
	r.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/topics/reset", nil)
}

// expectCreated posts a connector, retrying while the group rebalances,
// and requires 201 with a Location.
func (r *restConformance) expectCreated(body map[string]any) map[string]any {
	r.t.Helper()
	return r.retryConflict(http.StatusCreated, http.MethodPost, "/connectors", body)
}

// retryConflict sends a request until it answers something else than 409
// (a rebalance under way, which clients retry) and requires status.
func (r *restConformance) retryConflict(status int, method, path string, body any) map[string]any {
	r.t.Helper()
	var out map[string]any
	e2etest.Eventually(r.t, r.ctx, method+" "+path, func() (bool, string) {
		var got int
		got, out = r.worker().call(method, path, body)
		if got != status && got != http.StatusConflict {
			r.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, status)
		}
		return got == status, fmt.Sprint(got, out)
	})
	return out
}

func (r *restConformance) lifecycle() {
	r.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/pause", nil)
	r.waitStatus("lines-in", "PAUSED", 1)
	r.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/pause", nil) // idempotent
	r.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/resume", nil)
	r.waitStatus("lines-in", "RUNNING", 1)
	r.expect(http.StatusNotFound, http.MethodPut, "/connectors/nope/pause", nil)
	r.retryConflict(http.StatusNoContent, http.MethodPost, "/connectors/lines-in/restart", nil)
	restarting := r.retryConflict(http.StatusAccepted, http.MethodPost, "/connectors/lines-in/restart?includeTasks=true", nil)
	if restarting["connector"].(map[string]any)["state"] != "RESTARTING" {
		r.t.Errorf("restart with tasks answered %v", restarting)
	}
	r.waitStatus("lines-in", "RUNNING", 1)
	// Nothing failed: onlyFailed restarts nothing, and the status says so.
	none := r.retryConflict(http.StatusAccepted, http.MethodPost, "/connectors/lines-in/restart?includeTasks=true&onlyFailed=true", nil)
	if strings.Contains(fmt.Sprint(none), "RESTARTING") {
		r.t.Errorf("onlyFailed restarted healthy instances: %v", none)
	}
	r.retryConflict(http.StatusNoContent, http.MethodPost, "/connectors/lines-in/tasks/0/restart", nil)
	r.expect(http.StatusNotFound, http.MethodPost, "/connectors/lines-in/tasks/7/restart", nil)
	r.waitStatus("lines-in", "RUNNING", 1)
	checkLinesAtLeastOnce(r.t, r.ctx, r.broker, "rest-lines", []string{"a", "b", "c"})
}

func (r *restConformance) offsets(input string) {
	got := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/offsets", nil)
	if !strings.Contains(fmt.Sprint(got["offsets"]), "position:6") {
		r.t.Errorf("GET offsets: %v", got)
	}
	// Offsets change only while the connector is stopped.
	r.retryConflict(http.StatusBadRequest, http.MethodDelete, "/connectors/lines-in/offsets", nil)
	r.retryConflict(http.StatusNoContent, http.MethodPut, "/connectors/lines-in/stop", nil)
	r.waitStatus("lines-in", "STOPPED", 0)
	patch := map[string]any{"offsets": []any{map[string]any{"partition": map[string]any{"filename": input},
		"offset": map[string]any{"position": 2}}}}
	if m := r.retryConflict(http.StatusOK, http.MethodPatch, "/connectors/lines-in/offsets", patch); m["message"] == nil {
		r.t.Errorf("PATCH offsets answered %v", m)
	}
	if got := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/offsets", nil); !strings.Contains(fmt.Sprint(got), "position:2") {
		r.t.Errorf("offsets after PATCH: %v", got)
	}
	r.retryConflict(http.StatusOK, http.MethodDelete, "/connectors/lines-in/offsets", nil)
	if got := r.expect(http.StatusOK, http.MethodGet, "/connectors/lines-in/offsets", nil); fmt.Sprint(got["offsets"]) != "[]" {
		r.t.Errorf("offsets after DELETE: %v", got)
	}
	r.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/resume", nil)
	r.waitStatus("lines-in", "RUNNING", 1)
}

// leaderURL reads from the workers' logs the leader of their last join.
func (r *restConformance) leaderURL() string {
	re := regexp.MustCompile(`joined the worker group.*?leader=(\S+)`)
	var leader string
	for _, w := range r.workers {
		for _, m := range re.FindAllStringSubmatch(w.output.String(), -1) {
			leader = m[1]
		}
	}
	return leader
}

// conflictDuringRebalance stops the follower's process, so that the
// rebalance a new connector starts cannot end until its session expires,
// and requires the leader to answer 409 to a write meanwhile.
func (r *restConformance) conflictDuringRebalance(dir string) {
	leaderURL := r.leaderURL()
	var leader, follower *connectWorker
	for _, w := range r.workers {
		if w.url == leaderURL {
			leader = w
		} else {
			follower = w
		}
	}
	if leader == nil {
		r.t.Fatalf("no worker is the leader %q", leaderURL)
	}
	config := func(name string) map[string]any {
		return map[string]any{"name": name, "config": map[string]string{"connector.class": "FileStreamSource",
			"file": filepath.Join(dir, name), "topic": "rest-lines"}}
	}
	onLeader := func(method, path string, body any) (int, map[string]any) { return leader.call(method, path, body) }
	e2etest.Eventually(r.t, r.ctx, "more-1 created", func() (bool, string) {
		status, out := onLeader(http.MethodPost, "/connectors", config("more-1"))
		return status == http.StatusCreated, fmt.Sprint(status, out)
	})
	// Once its task runs, a write that needs no rebalance succeeds when
	// the group is stable.
	r.waitStatus("more-1", "RUNNING", 1)
	e2etest.Eventually(r.t, r.ctx, "the group stable", func() (bool, string) {
		status, out := onLeader(http.MethodPut, "/connectors/more-1/config", config("more-1")["config"])
		return status == http.StatusOK, fmt.Sprint(status, out)
	})
	if err := follower.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		r.t.Fatal(err)
	}
	defer func() { _ = follower.cmd.Process.Signal(syscall.SIGCONT) }()
	// A new connector needs a rebalance, which waits for the stopped
	// follower until its session expires: the next write gets a 409.
	if status, out := onLeader(http.MethodPost, "/connectors", config("more-2")); status != http.StatusCreated {
		r.t.Fatalf("create more-2: %d %v", status, out)
	}
	if status, out := onLeader(http.MethodPost, "/connectors", config("more-3")); status != http.StatusConflict ||
		!strings.Contains(fmt.Sprint(out["message"]), "Cannot complete request momentarily") {
		r.t.Fatalf("create during the rebalance: %d %v, want 409", status, out)
	}
	_ = follower.cmd.Process.Signal(syscall.SIGCONT)
	r.retryConflict(http.StatusCreated, http.MethodPost, "/connectors", config("more-3"))
	for _, name := range []string{"more-1", "more-2", "more-3"} {
		r.retryConflict(http.StatusNoContent, http.MethodDelete, "/connectors/"+name, nil)
	}
}

func (r *restConformance) delete() {
	r.retryConflict(http.StatusNoContent, http.MethodDelete, "/connectors/lines-out", nil)
	r.retryConflict(http.StatusNoContent, http.MethodDelete, "/connectors/lines-in", nil)
	for _, w := range r.workers {
		w.expect(http.StatusNotFound, http.MethodGet, "/connectors/lines-in", nil)
		w.expect(http.StatusNotFound, http.MethodGet, "/connectors/lines-in/status", nil)
	}
	r.retryConflict(http.StatusNotFound, http.MethodDelete, "/connectors/lines-in", nil)
	if got := r.expectList(http.StatusOK, http.MethodGet, "/connectors"); len(got) != 0 {
		r.t.Errorf("connectors left: %v", got)
	}
}
