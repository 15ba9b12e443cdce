package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/pgtest"
)

// testTimeout bounds each test's work against the server.
const testTimeout = 2 * time.Minute

// TestWithPostgres runs the tests that need a server against one
// throwaway PostgreSQL: starting one per test would cost seconds each.
// Each test uses tables of its own.
func TestWithPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	db := newTestDB(t, srv.DSN)
	tests := []struct {
		name string
		run  func(*testing.T, *testDB)
	}{
		{"SinkInsertAndUpsertByKey", testSinkInsertAndUpsertByKey},
		{"SinkDeleteByTombstone", testSinkDeleteByTombstone},
		{"SinkSameKeyInOneBatch", testSinkSameKeyInOneBatch},
		{"SinkFlushIsAtomic", testSinkFlushIsAtomic},
		{"SinkAutoCreateAllTypes", testSinkAutoCreateAllTypes},
		{"SinkAutoEvolve", testSinkAutoEvolve},
		{"SinkConcurrentAutoCreate", testSinkConcurrentAutoCreate},
		{"SinkBadData", testSinkBadData},
		{"SinkBadDataToDeadLetterQueue", testSinkBadDataToDeadLetterQueue},
		{"SinkModel", testSinkModel},
		{"SourceIncrementing", testSourceIncrementing},
		{"SourceTimestampIncrementing", testSourceTimestampIncrementing},
		{"SourceTimestampGroups", testSourceTimestampGroups},
		{"SourceKeysAndTypes", testSourceKeysAndTypes},
		{"SourceErrors", testSourceErrors},
		{"PipelineModel", testPipelineModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, db) })
	}
}

// testDB is a connection for a test's own statements.
type testDB struct {
	dsn  string
	conn *pgx.Conn
}

func newTestDB(t *testing.T, dsn string) *testDB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &testDB{dsn: dsn, conn: conn}
}

func (db *testDB) exec(t *testing.T, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := db.conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// rows returns a query's rows, each value formatted with %v, joined by
// spaces.
func (db *testDB) rows(t *testing.T, sql string) []string {
	t.Helper()
	rows, err := db.conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		values, err := row.Values()
		texts := make([]string, len(values))
		for i, v := range values {
			texts[i] = fmt.Sprint(v)
		}
		return strings.Join(texts, " "), err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func (db *testDB) sinkProps(extra map[string]string) map[string]string {
	props := map[string]string{keyConnectionURL: db.dsn}
	maps.Copy(props, extra)
	return props
}

// sinkContext stands in for the worker of a sink task; with errant set,
// it has a dead letter queue that keeps what is reported.
type sinkContext struct {
	errant bool
	mu     sync.Mutex
	report []connect.SinkRecord
	errs   []error
}

func (c *sinkContext) Config() map[string]string            { return nil }
func (c *sinkContext) Assignment() []connect.TopicPartition { return nil }
func (c *sinkContext) Offset(connect.TopicPartition, int64) {}
func (c *sinkContext) Timeout(time.Duration)                {}
func (c *sinkContext) Pause(...connect.TopicPartition)      {}
func (c *sinkContext) Resume(...connect.TopicPartition)     {}
func (c *sinkContext) RequestCommit()                       {}
func (c *sinkContext) ErrantRecordReporter() connect.ErrantRecordReporter {
	if !c.errant {
		return nil
	}
	return c
}

func (c *sinkContext) Report(r connect.SinkRecord, err error) <-chan error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.report = append(c.report, r)
	c.errs = append(c.errs, err)
	done := make(chan error, 1)
	done <- nil
	return done
}

// startSink starts a sink task the way the worker does.
func startSink(t *testing.T, ctx connect.SinkTaskContext, props map[string]string) connect.SinkTask {
	t.Helper()
	c := &PostgresSinkConnector{}
	if err := c.Start(nil, props); err != nil {
		t.Fatalf("sink connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil {
		t.Fatal(err)
	}
	task := c.NewTask()
	if ctx == nil {
		ctx = &sinkContext{}
	}
	if err := task.Start(ctx, configs[0]); err != nil {
		t.Fatalf("sink task: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// putFlush puts records and flushes them, failing the test on an error.
func putFlush(t *testing.T, task connect.SinkTask, records ...connect.SinkRecord) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := task.Put(ctx, records); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := task.Flush(ctx, nil); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// offsetStore is a worker's offset store: offsets go through JSON as
// Kafka's do, so integers come back as int64.
type offsetStore struct {
	mu      sync.Mutex
	offsets map[string][]byte
}

func newOffsetStore() *offsetStore { return &offsetStore{offsets: map[string][]byte{}} }

func partitionKey(p map[string]any) string {
	b, _ := json.Marshal(p) // map keys are sorted
	return string(b)
}

// commit stores the offset of a record, as the worker does once the
// record is written.
func (s *offsetStore) commit(t *testing.T, r connect.SourceRecord) {
	t.Helper()
	b, err := json.Marshal(r.SourceOffset)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offsets[partitionKey(r.SourcePartition)] = b
}

func (s *offsetStore) Offset(_ context.Context, p map[string]any) (map[string]any, error) {
	s.mu.Lock()
	b, ok := s.offsets[partitionKey(p)]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				m[k] = i
			} else if f, err := n.Float64(); err == nil {
				m[k] = f
			}
		}
	}
	return m, nil
}

func (s *offsetStore) Offsets(ctx context.Context, ps []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, len(ps))
	for i, p := range ps {
		var err error
		if out[i], err = s.Offset(ctx, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sourceContext stands in for the worker of a source task.
type sourceContext struct{ store *offsetStore }

func (c sourceContext) Config() map[string]string                      { return nil }
func (c sourceContext) OffsetReader() connect.OffsetReader             { return c.store }
func (c sourceContext) TransactionContext() connect.TransactionContext { return nil }

func (db *testDB) sourceProps(extra map[string]string) map[string]string {
	props := map[string]string{keyConnectionURL: db.dsn, keyPollInterval: "5", keyBatchMaxRows: "100"}
	maps.Copy(props, extra)
	return props
}

// startSource starts the connector's one task, with offsets from store.
func startSource(t *testing.T, store *offsetStore, props map[string]string) connect.SourceTask {
	t.Helper()
	c := &PostgresSourceConnector{}
	if err := c.Start(nil, props); err != nil {
		t.Fatalf("source connector: %v", err)
	}
	configs, err := c.TaskConfigs(1)
	if err != nil {
		t.Fatal(err)
	}
	task := c.NewTask()
	if err := task.Start(sourceContext{store: store}, configs[0]); err != nil {
		t.Fatalf("source task: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// poll polls once, failing the test on an error.
func poll(t *testing.T, task connect.SourceTask) []connect.SourceRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	records, err := task.Poll(ctx)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return records
}

// drain polls until two polls in a row return nothing: the second ran a
// whole round after the first (the test's poll.interval.ms is short).
func drain(t *testing.T, task connect.SourceTask) []connect.SourceRecord {
	t.Helper()
	var all []connect.SourceRecord
	for empty := 0; empty < 2; {
		records := poll(t, task)
		if len(records) == 0 {
			empty++
			continue
		}
		empty = 0
		all = append(all, records...)
	}
	return all
}

// isRetriable reports a connect.RetriableError in err's chain.
func retriable(err error) bool {
	var r *connect.RetriableError
	return errors.As(err, &r)
}
