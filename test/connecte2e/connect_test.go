// Package connecte2e holds Connect's end-to-end tests: `fjord connect`
// workers (standalone and distributed) started from the binary against real
// `fjord server` brokers and Debian's PostgreSQL, checked through franz-go,
// sarama and kcat. They are a package apart from test/e2e so that go test
// runs them beside the broker's tests.
package connecte2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/e2etest"
	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/pgtest"
)

// connectWorker is a `fjord connect` process and its REST API.
type connectWorker struct {
	t      *testing.T
	url    string
	args   []string
	cmd    *exec.Cmd
	output *e2etest.LockedBuffer
}

// startConnectWorker runs `fjord connect standalone` against addr with
// worker properties extra over the test's defaults, and waits until its
// REST API answers GET /health.
func startConnectWorker(t *testing.T, ctx context.Context, addr string, extra map[string]string) *connectWorker {
	t.Helper()
	props := map[string]string{
		"offset.storage.file.filename": filepath.Join(t.TempDir(), "connect.offsets"),
		"offset.flush.interval.ms":     "200",
	}
	maps.Copy(props, extra)
	w := newConnectWorker(t, "standalone", addr, props)
	w.launch(ctx)
	return w
}

// newConnectWorker writes the properties of a worker of mode against addr,
// with a REST listener on a free loopback port, and returns it unstarted.
func newConnectWorker(t *testing.T, mode, addr string, extra map[string]string) *connectWorker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	restAddr := ln.Addr().String()
	ln.Close()
	props := map[string]string{
		"bootstrap.servers": addr,
		"listeners":         "http://" + restAddr,
		"key.converter":     "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":   "org.apache.kafka.connect.storage.StringConverter",
	}
	maps.Copy(props, extra)
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	path := filepath.Join(t.TempDir(), "worker.properties")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &connectWorker{t: t, url: "http://" + restAddr, args: []string{"connect", mode, path}, output: &e2etest.LockedBuffer{}}
	t.Cleanup(w.stop)
	return w
}

// launch starts the worker's process and waits until its REST API
// answers GET /health.
func (w *connectWorker) launch(ctx context.Context) {
	w.t.Helper()
	w.cmd = exec.Command(fjordtest.Binary(w.t), w.args...)
	w.cmd.Stdout, w.cmd.Stderr = w.output, w.output
	if err := w.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	e2etest.Eventually(w.t, ctx, "connect worker healthy", func() (bool, string) {
		status, _ := w.call(http.MethodGet, "/health", nil)
		return status == http.StatusOK, e2etest.LastBytes(w.output.String(), 2048)
	})
}

// kill ends the worker with SIGKILL and waits for it.
func (w *connectWorker) kill() {
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}

// stop ends the worker with SIGTERM and waits for it.
func (w *connectWorker) stop() {
	if w.cmd == nil || w.cmd.ProcessState != nil {
		return
	}
	_ = w.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-done
	}
	if w.t.Failed() {
		w.t.Logf("connect worker output:\n%s", e2etest.LastBytes(w.output.String(), 8192))
	}
}

// call sends a REST request and returns the status and the decoded body.
func (w *connectWorker) call(method, path string, body any) (int, map[string]any) {
	var reader io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.url+path, reader)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if json.Unmarshal(b, &out) != nil {
		out["raw"] = string(b)
	}
	return resp.StatusCode, out
}

// expect fails the test unless the request answers status.
func (w *connectWorker) expect(status int, method, path string, body any) map[string]any {
	w.t.Helper()
	got, out := w.call(method, path, body)
	if got != status {
		w.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, status)
	}
	return out
}

// waitRunning waits until a connector and its tasks report state.
func (w *connectWorker) waitState(ctx context.Context, name, state string) {
	w.t.Helper()
	e2etest.Eventually(w.t, ctx, name+" "+state, func() (bool, string) {
		_, out := w.call(http.MethodGet, "/connectors/"+name+"/status", nil)
		conn, _ := out["connector"].(map[string]any)
		tasks, _ := out["tasks"].([]any)
		ok := conn != nil && conn["state"] == state && len(tasks) > 0
		for _, task := range tasks {
			ok = ok && task.(map[string]any)["state"] == state
		}
		return ok, fmt.Sprint(out)
	})
}

// TestConnectFileSourceToSink runs `fjord connect standalone` with Kafka's
// file connectors: lines appended to a file reach a topic (read with
// franz-go, sarama and kcat), a file sink copies the topic to another
// file, and after the source is stopped and its offset rewound with PATCH
// /offsets, the rewound lines are written again once it resumes.
func TestConnectFileSourceToSink(t *testing.T) {
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, e2etest.TestTimeout)
	adm := e2etest.NewAdmin(t, srv.Addr)
	e2etest.CreateTopic(t, ctx, adm, "lines", 1, nil)
	// The sink's file comes from a config provider: the worker resolves it,
	// and the REST API shows the variable, not the value.
	dir := t.TempDir()
	input, output := filepath.Join(dir, "input.txt"), filepath.Join(dir, "output.txt")
	secrets := filepath.Join(dir, "secrets.properties")
	if err := os.WriteFile(secrets, []byte("sink.file="+output+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startConnectWorker(t, ctx, srv.Addr, map[string]string{"config.providers": "file",
		"config.providers.file.class": "org.apache.kafka.common.config.provider.FileConfigProvider"})
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf("line-%03d", i))
	}
	if err := os.WriteFile(input, []byte(strings.Join(lines[:30], "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "lines-in",
		"config": map[string]string{"connector.class": "FileStreamSource", "file": input, "topic": "lines"}})
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "lines-out",
		"config": map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector",
			"file": "${file:" + secrets + ":sink.file}", "topics": "lines"}})
	w.waitState(ctx, "lines-in", "RUNNING")
	// The source follows the file as it grows.
	appendFile(t, input, strings.Join(lines[30:], "\n")+"\n")
	checkLines(t, ctx, srv.Addr, "lines", lines)
	e2etest.Eventually(t, ctx, "sink file complete", func() (bool, string) {
		b, _ := os.ReadFile(output)
		return string(b) == strings.Join(lines, "\n")+"\n", fmt.Sprintf("%d bytes", len(b))
	})

	if tasks := fmt.Sprint(w.expect(http.StatusOK, http.MethodGet, "/connectors/lines-out/tasks", nil)); strings.Contains(tasks, output) {
		t.Errorf("the sink's task configuration shows the resolved file: %s", tasks)
	}

	// The CLI reads the same REST API.
	list := fjordCLI(t, ctx, "connector", "list", "--url", w.url)
	for _, want := range []string{"lines-in  source  RUNNING  RUNNING", "lines-out  sink    RUNNING  RUNNING"} {
		if !strings.Contains(strings.Join(strings.Fields(list), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("fjord connector list:\n%s\nwant a line %q", list, want)
		}
	}
	if status := fjordCLI(t, ctx, "connector", "status", "lines-in", "--url", w.url); !strings.Contains(status, `"state": "RUNNING"`) {
		t.Errorf("fjord connector status:\n%s", status)
	}

	// Stop, rewind to the start of line 40 (each line is 9 bytes), resume.
	w.expect(http.StatusNoContent, http.MethodPut, "/connectors/lines-in/stop", nil)
	w.expect(http.StatusOK, http.MethodPatch, "/connectors/lines-in/offsets", map[string]any{"offsets": []any{
		map[string]any{"partition": map[string]any{"filename": input}, "offset": map[string]any{"position": 40 * 9}}}})
	w.expect(http.StatusAccepted, http.MethodPut, "/connectors/lines-in/resume", nil)
	w.waitState(ctx, "lines-in", "RUNNING")
	checkLines(t, ctx, srv.Addr, "lines", append(slices.Clone(lines), lines[40:]...))
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// checkLines reads topic with franz-go, sarama and kcat and requires the
// values to be want, in order.
func checkLines(t *testing.T, ctx context.Context, addr, topic string, want []string) {
	t.Helper()
	values := func(recs []e2etest.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r.Value)
		}
		return out
	}
	if got := values(e2etest.ConsumeKgo(t, ctx, addr, topic, len(want))); !slices.Equal(got, want) {
		t.Fatalf("franz-go read %v, want %v", got, want)
	}
	if got := values(e2etest.ConsumeSarama(t, ctx, addr, topic)); !slices.Equal(got, want) {
		t.Fatalf("sarama read %v, want %v", got, want)
	}
	if got := values(e2etest.ConsumeKcat(t, ctx, addr, topic)); !slices.Equal(got, want) {
		t.Fatalf("kcat read %v, want %v", got, want)
	}
}

// fjordCLI runs the fjord binary with args and returns its standard
// output, failing the test on a non-zero exit.
func fjordCLI(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, fjordtest.Binary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fjord %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestConnectPostgresSink runs the PostgreSQL sink in `fjord connect`
// against a real PostgreSQL: JSON records with schemas produced with
// franz-go are upserted by key into a table the connector creates, and
// tombstones delete rows; the table ends equal to the last value of each
// key.
func TestConnectPostgresSink(t *testing.T) {
	pg := pgtest.Start(t)
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, e2etest.TestTimeout)
	adm := e2etest.NewAdmin(t, srv.Addr)
	e2etest.CreateTopic(t, ctx, adm, "accounts", 3, nil)
	w := startConnectWorker(t, ctx, srv.Addr, nil)
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "accounts-out", "config": map[string]string{
		"connector.class": "PostgresSink", "topics": "accounts", "connection.url": pg.DSN, "tasks.max": "2",
		"insert.mode": "upsert", "pk.mode": "record_key", "pk.fields": "id", "delete.enabled": "true", "auto.create": "true",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
	}})
	producer := e2etest.NewKgo(t, srv.Addr)
	model := map[string]string{}
	const schema = `{"type":"struct","optional":false,"fields":[{"field":"owner","type":"string","optional":false},{"field":"balance","type":"int64","optional":false}]}`
	for i := range 300 {
		key := fmt.Sprintf("acct-%02d", i%40)
		r := &kgo.Record{Topic: "accounts", Key: []byte(key)}
		if i%7 == 3 {
			delete(model, key) // a tombstone
		} else {
			r.Value = fmt.Appendf(nil, `{"schema":%s,"payload":{"owner":"owner-%d","balance":%d}}`, schema, i, i*10)
			model[key] = fmt.Sprintf("owner-%d/%d", i, i*10)
		}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	checkAccountsTable(t, ctx, pg.DSN, "accounts", model)
	w.waitState(ctx, "accounts-out", "RUNNING")
}

// TestConnectPostgresCDCToSink is Connect's acceptance 2 through `fjord
// connect`: rows inserted, updated and deleted in a PostgreSQL table reach
// a topic through the change data capture source (logical replication,
// pgoutput), and the PostgreSQL sink copies the topic into another table,
// which ends equal to the source table.
func TestConnectPostgresCDCToSink(t *testing.T) {
	pg := pgtest.Start(t)
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, e2etest.TestTimeout)
	e2etest.CreateTopic(t, ctx, e2etest.NewAdmin(t, srv.Addr), "cdc-public.items", 1, nil)
	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, qty bigint NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	jsonConverters := map[string]string{"key.converter": "org.apache.kafka.connect.json.JsonConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter"}
	w := startConnectWorker(t, ctx, srv.Addr, jsonConverters)
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "items-cdc", "config": map[string]string{
		"connector.class": "PostgresCdcSource", "connection.url": pg.DSN, "table.include.list": "public.items", "topic.prefix": "cdc-"}})
	w.waitState(ctx, "items-cdc", "RUNNING")
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "items-copy", "config": map[string]string{
		"connector.class": "PostgresSink", "connection.url": pg.DSN, "topics": "cdc-public.items", "table.name.format": "items_copy",
		"insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": "true", "auto.create": "true"}})
	// The slot must exist before the changes, or the first ones are not
	// captured: wait until the source created it.
	e2etest.Eventually(t, ctx, "replication slot created", func() (bool, string) {
		var n int
		err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots").Scan(&n)
		return err == nil && n > 0, fmt.Sprint(err)
	})
	rng := rand.New(rand.NewPCG(17, 1))
	for txn := range 40 {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for range 1 + rng.IntN(5) {
			id := rng.IntN(25)
			var sql string
			switch rng.IntN(4) {
			case 0:
				sql = fmt.Sprintf("DELETE FROM items WHERE id = %d", id)
			default:
				sql = fmt.Sprintf("INSERT INTO items VALUES (%d, 'item-%d-%d', %d) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, qty = EXCLUDED.qty",
					id, id, txn, rng.IntN(1000))
			}
			if _, err := tx.Exec(ctx, sql); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	table := func(name string) (map[int32]string, error) {
		rows, err := conn.Query(ctx, "SELECT id, name, qty FROM "+name)
		if err != nil {
			return nil, err
		}
		out := map[int32]string{}
		for rows.Next() {
			var id int32
			var item string
			var qty int64
			if err := rows.Scan(&id, &item, &qty); err != nil {
				return nil, err
			}
			out[id] = fmt.Sprintf("%s/%d", item, qty)
		}
		return out, rows.Err()
	}
	want, err := table("items")
	if err != nil {
		t.Fatal(err)
	}
	e2etest.Eventually(t, ctx, "the copy equals the source table", func() (bool, string) {
		got, err := table("items_copy")
		if err != nil {
			return false, err.Error()
		}
		return maps.Equal(got, want), fmt.Sprintf("copy %d rows, source %d", len(got), len(want))
	})
}
