package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
)

var (
	orderKeySchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("OrderKey").
			Field("id", connect.Int64Schema).MustBuild()
	orderSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("Order").
			Field("id", connect.Int64Schema).
			Field("name", connect.StringSchema).
			Field("qty", connect.OptionalInt32Schema).
			MustBuild()
)

func orderKey(t *testing.T, id int64) *connect.Struct {
	t.Helper()
	k := connect.NewStruct(orderKeySchema)
	if err := k.Put("id", id); err != nil {
		t.Fatal(err)
	}
	return k
}

func order(t *testing.T, id int64, name string, qty any) *connect.Struct {
	t.Helper()
	v := connect.NewStruct(orderSchema)
	for _, err := range []error{v.Put("id", id), v.Put("name", name), v.Put("qty", qty)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// orderRecord is a record of topic at offset; a nil name makes a
// tombstone.
func orderRecord(t *testing.T, topic string, offset int64, id int64, name *string, qty any) connect.SinkRecord {
	r := connect.SinkRecord{Topic: topic, Offset: offset, KeySchema: orderKeySchema, Key: orderKey(t, id)}
	if name != nil {
		r.ValueSchema, r.Value = orderSchema, order(t, id, *name, qty)
	}
	return r
}

func ptr(s string) *string { return &s }

func testSinkInsertAndUpsertByKey(t *testing.T, db *testDB) {
	upsert := startSink(t, nil, db.sinkProps(map[string]string{
		keyInsertMode: "upsert", keyPKMode: "record_key", keyAutoCreate: "true"}))
	putFlush(t, upsert,
		orderRecord(t, "upserted", 0, 1, ptr("one"), int32(10)),
		orderRecord(t, "upserted", 1, 2, ptr("two"), nil),
		orderRecord(t, "upserted", 2, 3, ptr("three"), int32(30)))
	putFlush(t, upsert,
		orderRecord(t, "upserted", 3, 2, ptr("two, again"), int32(22)),
		orderRecord(t, "upserted", 4, 1, ptr("one"), int32(10))) // written again: harmless
	got := db.rows(t, `SELECT id, name, qty FROM upserted ORDER BY id`)
	want := []string{"1 one 10", "2 two, again 22", "3 three 30"}
	if !slices.Equal(got, want) {
		t.Fatalf("upserted rows %q, want %q", got, want)
	}

	// A primitive key names its column with pk.fields; insert fails on a
	// duplicate, naming the record.
	db.exec(t, `CREATE SCHEMA inserted`, `CREATE TABLE inserted.orders (id bigint PRIMARY KEY, name text NOT NULL, qty integer)`)
	insert := startSink(t, nil, db.sinkProps(map[string]string{
		keyPKMode: "record_key", keyPKFields: "id", keyTableNameFormat: "${topic}.orders"}))
	record := func(offset, id int64, name string) connect.SinkRecord {
		value := connect.NewSchemaBuilder(connect.TypeStruct).
			Field("name", connect.StringSchema).Field("qty", connect.OptionalInt32Schema).MustBuild()
		v := connect.NewStruct(value)
		if err := v.Put("name", name); err != nil {
			t.Fatal(err)
		}
		return connect.SinkRecord{Topic: "inserted", Partition: 2, Offset: offset,
			KeySchema: connect.Int64Schema, Key: id, ValueSchema: value, Value: v}
	}
	putFlush(t, insert, record(0, 1, "a"), record(1, 2, "b"))
	ctx := context.Background()
	if err := insert.Put(ctx, []connect.SinkRecord{record(2, 3, "c"), record(3, 1, "a again")}); err != nil {
		t.Fatal(err)
	}
	err := insert.Flush(ctx, nil)
	if err == nil || retriable(err) || !errors.Is(err, connect.ErrInvalidData) ||
		!strings.Contains(err.Error(), "topic inserted partition 2 offset 3") {
		t.Fatalf("duplicate insert: %v; want a final bad-data error naming offset 3", err)
	}
	got = db.rows(t, `SELECT id, name FROM inserted.orders ORDER BY id`)
	if want := []string{"1 a", "2 b"}; !slices.Equal(got, want) {
		t.Fatalf("rows after a failed flush %q, want %q (the flush's transaction rolled back)", got, want)
	}

	// A primitive key without pk.fields is written to __connect_key.
	primitive := startSink(t, nil, db.sinkProps(map[string]string{
		keyPKMode: "record_key", keyAutoCreate: "true", keyInsertMode: "upsert"}))
	r := record(0, 0, "k")
	r.Topic, r.KeySchema, r.Key = "primitive_key", connect.StringSchema, "the key"
	putFlush(t, primitive, r, r)
	got = db.rows(t, `SELECT __connect_key, name FROM primitive_key`)
	if want := []string{"the key k"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
}

func testSinkDeleteByTombstone(t *testing.T, db *testDB) {
	task := startSink(t, nil, db.sinkProps(map[string]string{
		keyInsertMode: "upsert", keyPKMode: "record_key", keyDeleteEnabled: "true", keyAutoCreate: "true"}))
	putFlush(t, task,
		orderRecord(t, "deleted", 0, 1, ptr("one"), nil),
		orderRecord(t, "deleted", 1, 2, ptr("two"), nil),
		orderRecord(t, "deleted", 2, 3, ptr("three"), nil))
	putFlush(t, task,
		orderRecord(t, "deleted", 3, 2, nil, nil),
		orderRecord(t, "deleted", 4, 9, nil, nil), // no such row: nothing to do
		orderRecord(t, "never_created", 0, 1, nil, nil))
	got := db.rows(t, `SELECT id FROM deleted ORDER BY id`)
	if want := []string{"1", "3"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	if got := db.rows(t, `SELECT to_regclass('never_created') IS NULL`); got[0] != "true" {
		t.Fatal("a tombstone created a table")
	}
}

func testSinkSameKeyInOneBatch(t *testing.T, db *testDB) {
	for _, mode := range []string{"upsert", "insert"} {
		topic := "same_key_" + mode
		task := startSink(t, nil, db.sinkProps(map[string]string{
			keyInsertMode: mode, keyPKMode: "record_key", keyDeleteEnabled: "true", keyAutoCreate: "true"}))
		putFlush(t, task,
			orderRecord(t, topic, 0, 1, ptr("one"), nil),
			orderRecord(t, topic, 1, 1, nil, nil), // deletes what the batch inserted
			orderRecord(t, topic, 2, 2, ptr("two"), nil),
			orderRecord(t, topic, 3, 2, nil, nil),
			orderRecord(t, topic, 4, 2, ptr("two, back"), nil),
			orderRecord(t, topic, 5, 3, ptr("three"), nil))
		got := db.rows(t, `SELECT id, name FROM `+topic+` ORDER BY id`)
		if want := []string{"2 two, back", "3 three"}; !slices.Equal(got, want) {
			t.Fatalf("insert.mode=%s: rows %q, want %q", mode, got, want)
		}
	}
}

func testSinkAutoEvolve(t *testing.T, db *testDB) {
	props := db.sinkProps(map[string]string{keyInsertMode: "upsert", keyPKMode: "record_key", keyAutoCreate: "true"})
	narrow := connect.NewSchemaBuilder(connect.TypeStruct).Field("id", connect.Int64Schema).MustBuild()
	v := connect.NewStruct(narrow)
	if err := v.Put("id", int64(1)); err != nil {
		t.Fatal(err)
	}
	first := connect.SinkRecord{Topic: "evolved", KeySchema: orderKeySchema, Key: orderKey(t, 1), ValueSchema: narrow, Value: v}
	putFlush(t, startSink(t, nil, props), first)

	wider := orderRecord(t, "evolved", 1, 2, ptr("two"), int32(2))
	task := startSink(t, nil, props)
	if err := task.Put(context.Background(), []connect.SinkRecord{wider}); err != nil {
		t.Fatal(err)
	}
	err := task.Flush(context.Background(), nil)
	if err == nil || retriable(err) || !strings.Contains(err.Error(), "auto.evolve") {
		t.Fatalf("new fields without auto.evolve: %v; want an error pointing at auto.evolve", err)
	}
	props[keyAutoEvolve] = "true"
	putFlush(t, startSink(t, nil, props), wider)
	got := db.rows(t, `SELECT id, name, qty FROM evolved ORDER BY id`)
	if want := []string{"1 <nil> <nil>", "2 two 2"}; !slices.Equal(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
}

// testSinkFlushIsAtomic checks that the statements of one flush commit
// together: a statement that fails undoes those before it.
func testSinkFlushIsAtomic(t *testing.T, db *testDB) {
	task := startSink(t, nil, db.sinkProps(map[string]string{
		keyInsertMode: "upsert", keyPKMode: "record_key", keyAutoCreate: "true"}))
	putFlush(t, task, orderRecord(t, "atomic_a", 0, 1, ptr("a1"), nil), orderRecord(t, "atomic_b", 0, 1, ptr("b1"), nil))
	db.exec(t, `ALTER TABLE atomic_b DROP COLUMN qty`) // behind the task's back
	ctx := context.Background()
	if err := task.Put(ctx, []connect.SinkRecord{orderRecord(t, "atomic_a", 1, 2, ptr("a2"), nil),
		orderRecord(t, "atomic_b", 1, 2, ptr("b2"), nil)}); err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(ctx, nil); err == nil || retriable(err) || !strings.Contains(err.Error(), "qty") {
		t.Fatalf("flush into a table that lost a column: %v; want a final error about it", err)
	}
	if got := db.rows(t, `SELECT id FROM atomic_a ORDER BY id`); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("atomic_a rows %q: the failed flush's first statement was committed", got)
	}
}
