package connecte2e

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/e2etest"
	"github.com/fjordhq/fjord/internal/pgtest"
)

// connectKillRounds is how many worker kills TestConnectDistributedUnderKills
// makes in a mode: by default two under exactly-once, whose guarantee is
// the stronger, and one at least once, to keep CI short;
// FJORD_CONNECT_KILLS sets it for both, for longer runs.
func connectKillRounds(exactlyOnce bool) int {
	if n, err := strconv.Atoi(os.Getenv("FJORD_CONNECT_KILLS")); err == nil && n > 0 {
		return n
	}
	if exactlyOnce {
		return 2
	}
	return 1
}

// TestConnectDistributedUnderKills is Connect's acceptance 3: three
// `fjord connect distributed` workers run a file source and a PostgreSQL
// sink while one worker after another is SIGKILLed and started again.
// Every line of the file reaches its topic in order of first appearance:
// at least once, and exactly once when the workers run with
// exactly.once.source.support=enabled; the sink's table ends equal to the
// model of the records produced; after each kill the connectors and tasks
// run again on live workers, which the test measures.
func TestConnectDistributedUnderKills(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("exactly-once %v", eos), func(t *testing.T) { testConnectDistributedUnderKills(t, eos) })
	}
}

func testConnectDistributedUnderKills(t *testing.T, exactlyOnce bool) {
	pg := pgtest.Start(t)
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, 5*time.Minute)
	adm := e2etest.NewAdmin(t, srv.Addr)
	e2etest.CreateTopic(t, ctx, adm, "dist-lines", 1, nil)
	e2etest.CreateTopic(t, ctx, adm, "dist-accounts", 3, nil)
	props := map[string]string{"group.id": "dist-test", "config.storage.topic": "dist-configs",
		"offset.storage.topic": "dist-offsets", "status.storage.topic": "dist-status",
		"config.storage.replication.factor": "1", "offset.storage.replication.factor": "1", "status.storage.replication.factor": "1",
		"offset.flush.interval.ms": "300", "scheduled.rebalance.max.delay.ms": "3000",
		"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}
	if exactlyOnce {
		props["exactly.once.source.support"] = "enabled"
	}
	workers := make([]*connectWorker, 3)
	for i := range workers {
		workers[i] = newConnectWorker(t, "distributed", srv.Addr, props)
		workers[i].launch(ctx)
	}
	input := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(input, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	createOnAny(t, ctx, workers, "lines-in", map[string]string{"connector.class": "FileStreamSource", "file": input, "topic": "dist-lines"})
	createOnAny(t, ctx, workers, "accounts-out", map[string]string{
		"connector.class": "PostgresSink", "topics": "dist-accounts", "connection.url": pg.DSN, "tasks.max": "3", "table.name.format": "dist_accounts",
		"insert.mode": "upsert", "pk.mode": "record_key", "pk.fields": "id", "delete.enabled": "true", "auto.create": "true",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true"})
	for _, name := range []string{"lines-in", "accounts-out"} {
		waitRunningOn(t, ctx, workers, name, nil)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	producer := e2etest.NewKgo(t, srv.Addr)
	var lines []string
	model := map[string]string{}
	feed := func(n int) {
		for range n {
			line := fmt.Sprintf("line-%05d", len(lines))
			lines = append(lines, line)
			appendFile(t, input, line+"\n")
			produceAccount(t, ctx, producer, rng, model)
		}
	}
	for round := range connectKillRounds(exactlyOnce) {
		feed(50)
		victim := rng.IntN(len(workers))
		killed := time.Now()
		workers[victim].kill()
		feed(50)
		// Everything runs again on the two live workers once the dead
		// one's session expired and the scheduled delay passed.
		for _, name := range []string{"lines-in", "accounts-out"} {
			waitRunningOn(t, ctx, workers, name, workers[victim])
		}
		t.Logf("round %d: worker %d killed; its work ran elsewhere %v later", round, victim, time.Since(killed).Round(100*time.Millisecond))
		workers[victim].launch(ctx)
	}
	feed(50)
	duplicates := checkLinesAtLeastOnce(t, ctx, srv.Addr, "dist-lines", lines)
	if exactlyOnce && duplicates > 0 {
		t.Errorf("the exactly-once file source wrote %d lines twice", duplicates)
	}
	checkAccountsTable(t, ctx, pg.DSN, "dist_accounts", model)
}

// createOnAny creates a connector through a random worker: the request is
// forwarded to the leader. A 409 (a rebalance under way) is retried.
func createOnAny(t *testing.T, ctx context.Context, workers []*connectWorker, name string, config map[string]string) {
	t.Helper()
	e2etest.Eventually(t, ctx, "create "+name, func() (bool, string) {
		w := workers[rand.IntN(len(workers))]
		status, out := w.call(http.MethodPost, "/connectors", map[string]any{"name": name, "config": config})
		if status != http.StatusCreated && status != http.StatusConflict {
			t.Fatalf("create %s: %d %v", name, status, out)
		}
		return status == http.StatusCreated, fmt.Sprint(status, out)
	})
}

// waitRunningOn waits until a connector and all its tasks are RUNNING, none
// of them on the worker not (if any), as a live worker reports.
func waitRunningOn(t *testing.T, ctx context.Context, workers []*connectWorker, name string, not *connectWorker) {
	t.Helper()
	e2etest.Eventually(t, ctx, name+" running on live workers", func() (bool, string) {
		for _, w := range workers {
			if w == not {
				continue
			}
			_, out := w.call(http.MethodGet, "/connectors/"+name+"/status", nil)
			conn, _ := out["connector"].(map[string]any)
			tasks, _ := out["tasks"].([]any)
			ok := conn != nil && conn["state"] == "RUNNING" && len(tasks) > 0 && !onWorker(conn, not)
			for _, task := range tasks {
				ok = ok && task.(map[string]any)["state"] == "RUNNING" && !onWorker(task.(map[string]any), not)
			}
			return ok, fmt.Sprint(out)
		}
		return false, "no live worker"
	})
}

func onWorker(state map[string]any, w *connectWorker) bool {
	return w != nil && "http://"+fmt.Sprint(state["worker_id"]) == w.url
}

// produceAccount writes one account record (a schema'd JSON value, or a
// tombstone) and applies it to the model.
func produceAccount(t *testing.T, ctx context.Context, producer *kgo.Client, rng *rand.Rand, model map[string]string) {
	t.Helper()
	const schema = `{"type":"struct","optional":false,"fields":[{"field":"owner","type":"string","optional":false},{"field":"balance","type":"int64","optional":false}]}`
	key := fmt.Sprintf("acct-%02d", rng.IntN(40))
	r := &kgo.Record{Topic: "dist-accounts", Key: []byte(key)}
	if rng.IntN(8) == 0 {
		delete(model, key)
	} else {
		owner, balance := fmt.Sprintf("owner-%d", rng.IntN(1000)), rng.Int64N(1_000_000)
		r.Value = fmt.Appendf(nil, `{"schema":%s,"payload":{"owner":"%s","balance":%d}}`, schema, owner, balance)
		model[key] = fmt.Sprintf("%s/%d", owner, balance)
	}
	if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// checkLinesAtLeastOnce reads the topic's committed records until every
// line is in it, and a quiet second more; it requires the lines' first
// appearances to be in file order and returns the count of lines read
// again.
func checkLinesAtLeastOnce(t *testing.T, ctx context.Context, addr, topic string, lines []string) int {
	t.Helper()
	cl := e2etest.NewKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	defer cl.Close()
	seen := map[string]bool{}
	var order []string
	duplicates := 0
	count := func(r *kgo.Record) {
		if v := string(r.Value); seen[v] {
			duplicates++
		} else {
			seen[v] = true
			order = append(order, v)
		}
	}
	for len(seen) < len(lines) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s holds %d of %d lines", topic, len(seen), len(lines))
		}
		fetches.EachRecord(count)
	}
	quiet, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for quiet.Err() == nil {
		cl.PollFetches(quiet).EachRecord(count)
	}
	if strings.Join(order, ",") != strings.Join(lines, ",") {
		t.Errorf("%s: lines first appear out of order", topic)
	}
	t.Logf("%s: %d lines, %d written again", topic, len(lines), duplicates)
	return duplicates
}

// checkAccountsTable waits until the sink's table of accounts (id, owner,
// balance) equals the model, "owner/balance" by id.
func checkAccountsTable(t *testing.T, ctx context.Context, dsn, table string, model map[string]string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	e2etest.Eventually(t, ctx, "the sink's table equals the model", func() (bool, string) {
		rows, err := conn.Query(ctx, "SELECT id, owner, balance FROM "+table)
		if err != nil {
			return false, err.Error()
		}
		got := map[string]string{}
		for rows.Next() {
			var id, owner string
			var balance int64
			if err := rows.Scan(&id, &owner, &balance); err != nil {
				return false, err.Error()
			}
			got[id] = fmt.Sprintf("%s/%d", owner, balance)
		}
		return maps.Equal(got, model), fmt.Sprintf("%d rows, model %d", len(got), len(model))
	})
}
