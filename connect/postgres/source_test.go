package postgres

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// checkIDs checks that records carry the rows of ids from, from+1, ...
func checkIDs(t *testing.T, records []connect.SourceRecord, from int64, count int) {
	t.Helper()
	if len(records) != count {
		t.Fatalf("%d records, want %d", len(records), count)
	}
	for i, r := range records {
		want := from + int64(i)
		if got := r.Value.(*connect.Struct).Get("id"); got != want {
			t.Fatalf("record %d has id %v, want %d", i, got, want)
		}
		if r.Key != want || r.SourceOffset[offsetIncrementing] != want {
			t.Fatalf("record %d: key %v, offset %v; want %d", i, r.Key, r.SourceOffset, want)
		}
	}
}

func testSourceIncrementing(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE src_inc (id bigserial PRIMARY KEY, name text NOT NULL, note text)`,
		`INSERT INTO src_inc (name) SELECT 'row ' || g FROM generate_series(1, 250) g`)
	props := db.sourceProps(map[string]string{keyTableIncludeList: "src_inc", keyMode: modeIncrementing,
		keyIncrementingColumn: "id", keyTopicPrefix: "pg-"})
	store := newOffsetStore()
	task := startSource(t, store, props)
	first := poll(t, task)
	checkIDs(t, first, 1, 100)
	r := first[0]
	if r.Topic != "pg-src_inc" || r.SourcePartition[partitionTable] != "public.src_inc" {
		t.Fatalf("topic %q, partition %v", r.Topic, r.SourcePartition)
	}
	if v := r.Value.(*connect.Struct); v.Get("name") != "row 1" || v.Get("note") != nil {
		t.Fatalf("value %v", v)
	}
	if r.ValueSchema.Name() != "src_inc" || !r.KeySchema.Equal(connect.Int64Schema) {
		t.Fatalf("schemas %v %v", r.ValueSchema, r.KeySchema)
	}
	checkIDs(t, poll(t, task), 101, 100)
	checkIDs(t, poll(t, task), 201, 50)
	if rest := drain(t, task); len(rest) != 0 {
		t.Fatalf("%d records after the last row", len(rest))
	}

	// A restart resumes after the last committed row.
	store.commit(t, first[len(first)-1])
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	task = startSource(t, store, props)
	checkIDs(t, drain(t, task), 101, 150)
	db.exec(t, `INSERT INTO src_inc (name) SELECT 'late ' || g FROM generate_series(1, 10) g`)
	checkIDs(t, drain(t, task), 251, 10)

	// With nothing new, Poll waits a second at most, and returns at once
	// when its context is canceled.
	slow := maps.Clone(props)
	slow[keyPollInterval] = "600000"
	task = startSource(t, store, slow)
	drain(t, task)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if records, err := task.Poll(ctx); len(records) != 0 || err == nil {
		t.Fatalf("poll with a canceled context: %d records, %v", len(records), err)
	}
	start := time.Now()
	if records := poll(t, task); len(records) != 0 {
		t.Fatalf("%d records", len(records))
	}
	if waited := time.Since(start); waited > maxPollWait+time.Second {
		t.Fatalf("poll waited %v", waited)
	}
}

func testSourceTimestampIncrementing(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE src_tsi (id serial PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now())`)
	for i := range 5 {
		db.exec(t, fmt.Sprintf(`INSERT INTO src_tsi (v) VALUES ('v%d')`, i+1))
	}
	props := db.sourceProps(map[string]string{keyTableIncludeList: "src_tsi", keyMode: modeTimestampIncrementing,
		keyIncrementingColumn: "id", keyTimestampColumn: "updated_at", keyBatchMaxRows: "2"})
	store := newOffsetStore()
	task := startSource(t, store, props)
	records := drain(t, task)
	if len(records) != 5 {
		t.Fatalf("%d records, want 5", len(records))
	}
	last := records[len(records)-1]
	for _, k := range []string{offsetIncrementing, offsetTimestamp, offsetTimestampNanos} {
		if _, ok := last.SourceOffset[k].(int64); !ok {
			t.Fatalf("offset %v has no %s", last.SourceOffset, k)
		}
	}
	store.commit(t, last)

	db.exec(t, `UPDATE src_tsi SET v = 'changed', updated_at = now() WHERE id = 2`)
	records = drain(t, task)
	if len(records) != 1 || records[0].Key != int32(2) || records[0].Value.(*connect.Struct).Get("v") != "changed" {
		t.Fatalf("after an update: %v", records)
	}
	// A restart from the offset committed before the update reads it.
	if err := task.Stop(); err != nil {
		t.Fatal(err)
	}
	task = startSource(t, store, props)
	if records = drain(t, task); len(records) != 1 || records[0].Key != int32(2) {
		t.Fatalf("after a restart: %v", records)
	}
}

func testSourceTimestampGroups(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE src_ts (k text, ts timestamp NOT NULL)`,
		`INSERT INTO src_ts SELECT 'a' || g, '2020-01-01 00:00:00' FROM generate_series(1, 7) g`,
		`INSERT INTO src_ts SELECT 'b' || g, '2020-01-02 00:00:00.000001' FROM generate_series(1, 3) g`)
	props := db.sourceProps(map[string]string{keyTableIncludeList: "src_ts", keyMode: modeTimestamp,
		keyTimestampColumn: "ts", keyBatchMaxRows: "3"})
	store := newOffsetStore()
	records := drain(t, startSource(t, store, props))
	seen := map[string]int{}
	for _, r := range records {
		seen[r.Value.(*connect.Struct).Get("k").(string)]++
		if r.Key != nil || r.KeySchema != nil {
			t.Fatalf("a table without a primary key gave key %v (%v)", r.Key, r.KeySchema)
		}
	}
	if len(records) != 10 || len(seen) != 10 {
		t.Fatalf("%d records of %d rows, want each of 10 rows once", len(records), len(seen))
	}
	// Offsets move only past a timestamp whose rows were all read.
	jan1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range records {
		_, has := r.SourceOffset[offsetTimestamp]
		if i < 6 && has || i >= 6 && !has {
			t.Fatalf("record %d (%v) has offset %v", i, r.Value, r.SourceOffset)
		}
	}
	if got := records[6].SourceOffset[offsetTimestamp]; got != jan1.UnixMilli() {
		t.Fatalf("offset of the 7th row %v, want %d", got, jan1.UnixMilli())
	}
	last := records[9].SourceOffset
	if last[offsetTimestampNanos] != int64(1000) {
		t.Fatalf("last offset %v, want its microsecond in %s", last, offsetTimestampNanos)
	}
	// A restart in the middle of a timestamp reads its rows again.
	store.commit(t, records[4])
	if again := drain(t, startSource(t, store, props)); len(again) != 10 {
		t.Fatalf("restart mid-timestamp read %d rows, want 10", len(again))
	}
	store.commit(t, records[6])
	if again := drain(t, startSource(t, store, props)); len(again) != 3 {
		t.Fatalf("restart after the first timestamp read %d rows, want 3", len(again))
	}
}

func testSourceKeysAndTypes(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE "Src Keys" (a int, b text, n numeric, d numeric(10,2), u uuid, j jsonb,
		v varchar(5), ts timestamp, PRIMARY KEY (b, a))`,
		`INSERT INTO "Src Keys" VALUES (1, 'x', 1.5, 12.3, '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '{"k": 1}', 'abc', '2021-03-04 05:06:07.891')`)
	props := db.sourceProps(map[string]string{keyTableIncludeList: `"Src Keys"`, keyMode: modeTimestamp,
		keyTimestampColumn: "ts"})
	records := drain(t, startSource(t, newOffsetStore(), props))
	if len(records) != 1 {
		t.Fatalf("%d records", len(records))
	}
	r := records[0]
	key := r.Key.(*connect.Struct)
	if names := fieldNames(r.KeySchema); strings.Join(names, ",") != "b,a" || key.Get("a") != int32(1) || key.Get("b") != "x" {
		t.Fatalf("key %v of schema %v, want fields b, a in primary key order", key, names)
	}
	if r.Topic != "Src Keys" || r.SourcePartition[partitionTable] != "public.Src Keys" {
		t.Fatalf("topic %q, partition %v", r.Topic, r.SourcePartition)
	}
	v := r.Value.(*connect.Struct)
	d := v.Get("d").(connect.Decimal)
	if p, _ := v.Schema().Fields()[3].Schema.Parameter(decimalPrecisionParameter); d.String() != "12.30" || p != "10" {
		t.Fatalf("numeric(10,2) read as %v (precision %q)", d, p)
	}
	want := map[string]any{"n": 1.5, "u": "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "j": `{"k": 1}`, "v": "abc",
		"ts": time.Date(2021, 3, 4, 5, 6, 7, 891e6, time.UTC)}
	for name, w := range want {
		if got := v.Get(name); !sameValue(got, w) {
			t.Errorf("column %s read as %#v, want %#v", name, got, w)
		}
	}
}

func testSourceErrors(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE src_err (id text PRIMARY KEY, ts date)`)
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{keyTableIncludeList: "no_such_table", keyMode: modeIncrementing, keyIncrementingColumn: "id"},
			"does not exist"},
		{map[string]string{keyTableIncludeList: "src_err", keyMode: modeIncrementing, keyIncrementingColumn: "nope"},
			`no incrementing column "nope"`},
		{map[string]string{keyTableIncludeList: "src_err", keyMode: modeIncrementing, keyIncrementingColumn: "id"},
			"not smallint, integer or bigint"},
		{map[string]string{keyTableIncludeList: "src_err", keyMode: modeTimestamp, keyTimestampColumn: "ts"},
			"not timestamp or timestamptz"},
	} {
		task := startSource(t, newOffsetStore(), db.sourceProps(tc.props))
		_, err := task.Poll(context.Background())
		if err == nil || retriable(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want a final error saying %q", tc.props, err, tc.want)
		}
	}
}
