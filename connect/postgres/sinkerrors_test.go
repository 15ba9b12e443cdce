package postgres

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

// checkBadData checks that err is a final bad-data error that names the
// record and says what is wrong.
func checkBadData(t *testing.T, what string, err error, names ...string) {
	t.Helper()
	if err == nil || retriable(err) || !errors.Is(err, connect.ErrInvalidData) {
		t.Fatalf("%s: %v; want a final error wrapping ErrInvalidData", what, err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Fatalf("%s: %q does not say %q", what, err, n)
		}
	}
}

func testSinkBadData(t *testing.T, db *testDB) {
	ctx := context.Background()
	task := startSink(t, nil, db.sinkProps(map[string]string{keyPKMode: "record_key", keyAutoCreate: "true"}))
	schemaless := connect.SinkRecord{Topic: "bad", Partition: 0, Offset: 7, Value: "just a string"}
	checkBadData(t, "schemaless value", task.Put(ctx, []connect.SinkRecord{schemaless}),
		"topic bad partition 0 offset 7", "no schema")
	tombstone := orderRecord(t, "bad", 8, 1, nil, nil)
	checkBadData(t, "tombstone without delete.enabled", task.Put(ctx, []connect.SinkRecord{tombstone}),
		"offset 8", "delete.enabled")
	noKey := connect.SinkRecord{Topic: "bad", Offset: 9, ValueSchema: orderSchema, Value: order(t, 1, "x", nil)}
	checkBadData(t, "no key with pk.mode=record_key", task.Put(ctx, []connect.SinkRecord{noKey}), "offset 9", "key")
	nested := connect.NewSchemaBuilder(connect.TypeStruct).Field("tags", connect.ArrayOf(connect.StringSchema).MustBuild()).MustBuild()
	v := connect.NewStruct(nested)
	if err := v.Put("tags", []any{"a"}); err != nil {
		t.Fatal(err)
	}
	array := connect.SinkRecord{Topic: "bad", Offset: 10, KeySchema: connect.Int32Schema, Key: int32(1), ValueSchema: nested, Value: v}
	checkBadData(t, "an array field", task.Put(ctx, []connect.SinkRecord{array}), "offset 10", "tags")

	// The server refuses a row: the error names it and nothing is written.
	db.exec(t, `CREATE TABLE checked (id bigint PRIMARY KEY, name text NOT NULL, qty integer CHECK (qty >= 0))`)
	var batch []connect.SinkRecord
	for i := range int64(5) {
		qty := int32(i)
		if i == 3 {
			qty = -1
		}
		batch = append(batch, orderRecord(t, "checked", 10+i, i, ptr("n"), qty))
	}
	if err := task.Put(ctx, batch); err != nil {
		t.Fatal(err)
	}
	checkBadData(t, "a check constraint", task.Flush(ctx, nil), "topic checked partition 0 offset 13", "23514")
	if got := db.rows(t, `SELECT count(*) FROM checked`); got[0] != "0" {
		t.Fatalf("%s rows written by a failed flush", got[0])
	}

	// A value pgx cannot write to its column (text to an integer column)
	// is the record's fault too.
	db.exec(t, `CREATE TABLE typed (id bigint PRIMARY KEY, name integer, qty integer)`)
	task = startSink(t, nil, db.sinkProps(map[string]string{keyPKMode: "record_key"}))
	if err := task.Put(ctx, []connect.SinkRecord{orderRecord(t, "typed", 20, 1, ptr("1"), nil),
		orderRecord(t, "typed", 21, 2, ptr("not a number"), nil)}); err != nil {
		t.Fatal(err)
	}
	checkBadData(t, "text for an integer column", task.Flush(ctx, nil), "topic typed partition 0 offset 21")

	missing := startSink(t, nil, db.sinkProps(map[string]string{keyPKMode: "record_key"}))
	if err := missing.Put(ctx, []connect.SinkRecord{orderRecord(t, "no_such_table", 0, 1, ptr("x"), nil)}); err != nil {
		t.Fatal(err)
	}
	if err := missing.Flush(ctx, nil); err == nil || retriable(err) || !strings.Contains(err.Error(), "auto.create") {
		t.Fatalf("missing table: %v; want a final error pointing at auto.create", err)
	}
}

func testSinkBadDataToDeadLetterQueue(t *testing.T, db *testDB) {
	db.exec(t, `CREATE TABLE dlq (id bigint PRIMARY KEY, name text NOT NULL, qty integer CHECK (qty >= 0))`)
	dlq := &sinkContext{errant: true}
	task := startSink(t, dlq, db.sinkProps(map[string]string{keyInsertMode: "upsert", keyPKMode: "record_key",
		keyBatchSize: "4"}))
	var batch []connect.SinkRecord
	for i := range int64(10) {
		qty := int32(i)
		if i == 2 || i == 7 {
			qty = -1
		}
		batch = append(batch, orderRecord(t, "dlq", i, i, ptr("n"), qty))
	}
	batch = append(batch, connect.SinkRecord{Topic: "dlq", Offset: 10, Value: "schemaless"})
	putFlush(t, task, batch...)
	var reported []string
	for i, r := range dlq.report {
		reported = append(reported, strconv.FormatInt(r.Offset, 10))
		if !errors.Is(dlq.errs[i], connect.ErrInvalidData) {
			t.Errorf("offset %d reported with %v, want ErrInvalidData", r.Offset, dlq.errs[i])
		}
	}
	slices.Sort(reported)
	if want := []string{"10", "2", "7"}; !slices.Equal(reported, want) {
		t.Fatalf("reported offsets %q, want %q", reported, want)
	}
	got := db.rows(t, `SELECT id FROM dlq ORDER BY id`)
	if want := []string{"0", "1", "3", "4", "5", "6", "8", "9"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	return port
}

// TestUnreachableServerIsRetriable checks that a server that does not
// answer makes retriable errors, in the sink and the source.
func TestUnreachableServerIsRetriable(t *testing.T) {
	url := "postgres://nobody@127.0.0.1:" + closedPort(t) + "/none?connect_timeout=5&sslmode=disable"
	ctx := context.Background()
	sink := startSink(t, nil, map[string]string{keyConnectionURL: url, keyPKMode: "record_key"})
	if err := sink.Put(ctx, []connect.SinkRecord{orderRecord(t, "t", 0, 1, ptr("x"), nil)}); err != nil {
		t.Fatalf("put buffers without connecting: %v", err)
	}
	if err := sink.Flush(ctx, nil); !retriable(err) {
		t.Fatalf("sink flush: %v; want a retriable error", err)
	}
	source := startSource(t, newOffsetStore(), map[string]string{keyConnectionURL: url,
		keyTableIncludeList: "t", keyMode: modeIncrementing, keyIncrementingColumn: "id"})
	if _, err := source.Poll(ctx); !retriable(err) {
		t.Fatalf("source poll: %v; want a retriable error", err)
	}
}
