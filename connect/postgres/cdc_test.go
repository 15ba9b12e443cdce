package postgres

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/pgtest"
)

// TestCdcWithPostgres runs the CDC source's tests against one throwaway
// PostgreSQL (with wal_level=logical); each test has its own tables, slot
// and publication.
func TestCdcWithPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	db := newTestDB(t, srv.DSN)
	tests := []struct {
		name string
		run  func(*testing.T, *testDB)
	}{
		{"Changes", testCdcChanges},
		{"Restart", testCdcRestart},
		{"Model", testCdcModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, db) })
	}
}

func (db *testDB) cdcProps(table string, extra map[string]string) map[string]string {
	props := map[string]string{keyConnectionURL: db.dsn, keyTableIncludeList: table, keySlotName: table,
		keyPublicationName: table}
	maps.Copy(props, extra)
	return props
}

// startCdc starts the CDC connector's task, with offsets from store, and
// polls once so that it creates its publication and slot: changes after
// that are captured.
func startCdc(t *testing.T, store *offsetStore, props map[string]string) connect.SourceTask {
	t.Helper()
	c := &PostgresCdcSourceConnector{}
	if problems := errorsOf(c.Validate(props)); len(problems) > 0 {
		t.Fatalf("validate: %v", problems)
	}
	if err := c.Start(nil, props); err != nil {
		t.Fatalf("cdc connector: %v", err)
	}
	configs, err := c.TaskConfigs(3)
	if err != nil || len(configs) != 1 {
		t.Fatalf("task configs: %v, %v", configs, err)
	}
	task := c.NewTask()
	if err := task.Start(sourceContext{store: store}, configs[0]); err != nil {
		t.Fatalf("cdc task: %v", err)
	}
	t.Cleanup(func() { _ = task.Stop() })
	if records := poll(t, task); len(records) != 0 {
		t.Fatalf("first poll: %d records", len(records))
	}
	return task
}

func errorsOf(values []connect.ConfigValue) []string {
	var out []string
	for _, v := range values {
		out = append(out, v.Errors...)
	}
	return out
}

// cdcLines describes records as "op key name".
func cdcLines(records []connect.SourceRecord) []string {
	out := make([]string, len(records))
	for i, r := range records {
		op, _ := r.Headers.Last(headerOp)
		value := "<tombstone>"
		if s, ok := r.Value.(*connect.Struct); ok {
			value = fmt.Sprint(s.Get("name"), " ", s.Get("n"))
		}
		out[i] = fmt.Sprintf("%v %v %s", op.Value, r.Key, value)
	}
	return out
}

func testCdcChanges(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE cdc_changes (id integer PRIMARY KEY, name text NOT NULL, n bigint)`,
		`INSERT INTO cdc_changes VALUES (100, 'before', 0)`) // before the slot: not captured
	task := startCdc(t, newOffsetStore(), db.cdcProps("cdc_changes", map[string]string{keyTopicPrefix: "pg-"}))
	db.exec(t, `BEGIN`, `INSERT INTO cdc_changes VALUES (1, 'one', 1), (2, 'two', NULL)`, `COMMIT`,
		`UPDATE cdc_changes SET name = 'uno', n = 11 WHERE id = 1`,
		`UPDATE cdc_changes SET id = 3 WHERE id = 2`,
		`DELETE FROM cdc_changes WHERE id = 1`)
	records := drain(t, task)
	want := []string{"c 1 one 1", "c 2 two <nil>", "u 1 uno 11", "d 2 <tombstone>", "u 3 two <nil>",
		"d 1 <tombstone>"}
	if got := cdcLines(records); !slices.Equal(got, want) {
		t.Fatalf("records\n%q\nwant\n%q", got, want)
	}
	r := records[0]
	if r.Topic != "pg-public.cdc_changes" || r.SourcePartition[partitionSlot] != "cdc_changes" ||
		!r.KeySchema.Equal(connect.Int32Schema) || r.ValueSchema.Name() != "public.cdc_changes" {
		t.Fatalf("topic %q, partition %v, schemas %v %v", r.Topic, r.SourcePartition, r.KeySchema, r.ValueSchema)
	}
	// One offset per transaction, growing.
	lsns := make([]int64, len(records))
	for i, r := range records {
		lsns[i] = r.SourceOffset[offsetLSN].(int64)
	}
	if lsns[0] != lsns[1] || !(lsns[1] < lsns[2] && lsns[2] < lsns[3] && lsns[3] == lsns[4] && lsns[4] < lsns[5]) {
		t.Fatalf("offsets %v", lsns)
	}
	// A canceled context ends a Poll at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := task.Poll(ctx); len(got) != 0 || err == nil {
		t.Fatalf("poll with a canceled context: %d records, %v", len(got), err)
	}
	if got := drain(t, task); len(got) != 0 {
		t.Fatalf("%d records after a canceled poll", len(got))
	}
}

// testCdcRestart checks that a task restarted from a committed offset
// emits neither the committed transactions again nor misses later ones,
// and that Commit moves the slot's confirmed_flush_lsn.
func testCdcRestart(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE cdc_restart (id integer PRIMARY KEY, name text, n integer)`)
	props := db.cdcProps("cdc_restart", map[string]string{keyBatchMaxRows: "2"})
	store := newOffsetStore()
	task := startCdc(t, store, props)
	db.exec(t, `INSERT INTO cdc_restart VALUES (1, 'a', 1)`, `INSERT INTO cdc_restart VALUES (2, 'b', 2)`,
		`INSERT INTO cdc_restart SELECT g, 'c', g FROM generate_series(3, 7) g`)
	first := poll(t, task)
	for len(first) < 2 {
		first = append(first, poll(t, task)...)
	}
	if got := cdcLines(first); !slices.Equal(got, []string{"c 1 a 1", "c 2 b 2"}) {
		t.Fatalf("first batch %q", got)
	}
	store.commit(t, first[1])
	must(t, task.(connect.Committer).Commit(context.Background()))
	committed := first[1].SourceOffset[offsetLSN].(int64)
	// The next Poll tells the server; it confirms asynchronously.
	var confirmed int64
	for range 10 {
		poll(t, task)
		rows := db.rows(t, `SELECT (confirmed_flush_lsn - '0/0')::bigint FROM pg_replication_slots WHERE slot_name = 'cdc_restart'`)
		confirmed, _ = strconv.ParseInt(rows[0], 10, 64)
		if confirmed >= committed {
			break
		}
	}
	if confirmed < committed {
		t.Fatalf("confirmed_flush_lsn %d, committed %d", confirmed, committed)
	}
	must(t, task.Stop())
	db.exec(t, `INSERT INTO cdc_restart VALUES (8, 'late', 8)`) // while the task is stopped
	task = startCdcRestarted(t, store, props)
	names := cdcLines(append(pollRetrying(t, task), drain(t, task)...))
	want := []string{"c 3 c 3", "c 4 c 4", "c 5 c 5", "c 6 c 6", "c 7 c 7", "c 8 late 8"}
	if !slices.Equal(names, want) {
		t.Fatalf("after the restart\n%q\nwant\n%q", names, want)
	}
}

// startCdcRestarted starts a task that may have changes waiting.
func startCdcRestarted(t *testing.T, store *offsetStore, props map[string]string) connect.SourceTask {
	t.Helper()
	c := &PostgresCdcSourceConnector{}
	must(t, c.Start(nil, props))
	task := c.NewTask()
	must(t, task.Start(sourceContext{store: store}, props))
	t.Cleanup(func() { _ = task.Stop() })
	return task
}

// testCdcModel applies random inserts, updates (some of the key) and
// deletes, some in multi-statement transactions, while the CDC source
// feeds the package's sink writing another table, restarting the source
// from its committed offsets now and then; the copy must end equal to the
// original. (The sink's table is named after the topic, dot included.)
func testCdcModel(t *testing.T, db *testDB) {
	for _, seed := range modelSeeds {
		rng := rand.New(rand.NewPCG(seed, 11))
		table := fmt.Sprintf("cdc_model_%d", seed)
		db.exec(t, fmt.Sprintf(`CREATE TABLE %s (id integer PRIMARY KEY, v integer NOT NULL, note text)`, table))
		props := db.cdcProps(table, map[string]string{keyTopicPrefix: "copy_",
			keyBatchMaxRows: strconv.Itoa(1 + rng.IntN(10))})
		store := newOffsetStore()
		source := startCdc(t, store, props)
		sink := startSink(t, nil, db.sinkProps(map[string]string{keyInsertMode: "upsert", keyPKMode: "record_key",
			keyPKFields: "id", keyDeleteEnabled: "true", keyAutoCreate: "true"}))
		var offset int64
		deliver := func(records []connect.SourceRecord) {
			sinkRecords := make([]connect.SinkRecord, len(records))
			for i, r := range records {
				sinkRecords[i] = connect.SinkRecord{Topic: r.Topic, Offset: offset, KeySchema: r.KeySchema, Key: r.Key,
					ValueSchema: r.ValueSchema, Value: r.Value}
				offset++
			}
			putFlush(t, sink, sinkRecords...)
			if len(records) > 0 {
				store.commit(t, records[len(records)-1])
				must(t, source.(connect.Committer).Commit(context.Background()))
			}
		}
		for range 200 {
			switch n := rng.IntN(12); {
			case n < 9:
				db.exec(t, randomTransaction(rng, table))
			case n < 11:
				deliver(pollRetrying(t, source))
			default:
				deliver(pollRetrying(t, source))
				must(t, source.Stop())
				source = startCdcRestarted(t, store, props)
			}
		}
		deliver(append(pollRetrying(t, source), drain(t, source)...))
		query := `SELECT id, v, note FROM %s ORDER BY id`
		want, got := db.rows(t, fmt.Sprintf(query, table)), db.rows(t, fmt.Sprintf(query, `"copy_public.`+table+`"`))
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: copy\n%q\noriginal\n%q", seed, got, want)
		}
	}
}

// randomTransaction is one to three random statements in a transaction,
// on ids below 30 so that they meet.
func randomTransaction(rng *rand.Rand, table string) string {
	sql := "BEGIN;"
	for range 1 + rng.IntN(3) {
		id := rng.IntN(30)
		switch n := rng.IntN(10); {
		case n < 4:
			sql += fmt.Sprintf(`INSERT INTO %s VALUES (%d, %d, %s) ON CONFLICT (id) DO UPDATE SET v = excluded.v;`,
				table, id, rng.IntN(100), randomNote(rng))
		case n < 7:
			sql += fmt.Sprintf(`UPDATE %s SET v = %d, note = %s WHERE id = %d;`, table, rng.IntN(100), randomNote(rng), id)
		case n < 8:
			to := rng.IntN(30)
			sql += fmt.Sprintf(`UPDATE %s SET id = %d WHERE id = %d AND NOT EXISTS (SELECT 1 FROM %s WHERE id = %d);`,
				table, to, id, table, to)
		default:
			sql += fmt.Sprintf(`DELETE FROM %s WHERE id = %d;`, table, id)
		}
	}
	return sql + "COMMIT;"
}

// pollRetrying polls as the worker does, again after a retriable error:
// a restarted task finds its slot active until the server has ended the
// former stream.
func pollRetrying(t *testing.T, task connect.SourceTask) []connect.SourceRecord {
	t.Helper()
	for range 30 {
		records, err := task.Poll(context.Background())
		if err == nil {
			return records
		}
		if !retriable(err) {
			t.Fatalf("poll: %v", err)
		}
	}
	t.Fatal("poll: retriable errors for 30 polls")
	return nil
}
