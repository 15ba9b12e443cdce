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
)

// modelSeeds are the seeds of the randomized tests; a failure names its
// seed, which reproduces it.
var modelSeeds = []uint64{1, 2, 3, 20260101}

var (
	modelKeySchema   = connect.NewSchemaBuilder(connect.TypeStruct).Field("k", connect.Int32Schema).MustBuild()
	modelValueSchema = connect.NewSchemaBuilder(connect.TypeStruct).
				Field("k", connect.Int32Schema).
				Field("v", connect.StringSchema).
				Field("n", connect.OptionalInt64Schema).
				MustBuild()
)

// testSinkModel puts random upserts and tombstones of a few keys, in
// random batches and flushes, with a random batch.size, and checks that
// the table ends as a map applying them in order does.
func testSinkModel(t *testing.T, db *testDB) {
	for _, seed := range modelSeeds {
		rng := rand.New(rand.NewPCG(seed, seed))
		topic := fmt.Sprintf("model_sink_%d", seed)
		task := startSink(t, nil, db.sinkProps(map[string]string{keyInsertMode: "upsert", keyPKMode: "record_key",
			keyDeleteEnabled: "true", keyAutoCreate: "true", keyBatchSize: strconv.Itoa(1 + rng.IntN(8))}))
		model := map[int32]string{}
		var pending []connect.SinkRecord
		ctx := context.Background()
		for offset := range int64(400) {
			k := int32(rng.IntN(30))
			key := connect.NewStruct(modelKeySchema)
			must(t, key.Put("k", k))
			r := connect.SinkRecord{Topic: topic, Offset: offset, KeySchema: modelKeySchema, Key: key}
			if rng.IntN(10) < 7 {
				v := fmt.Sprintf("v%d", rng.IntN(1000))
				var n any
				if rng.IntN(2) == 0 {
					n = rng.Int64()
				}
				value := connect.NewStruct(modelValueSchema)
				must(t, value.Put("k", k), value.Put("v", v), value.Put("n", n))
				r.ValueSchema, r.Value = modelValueSchema, value
				model[k] = fmt.Sprintf("%d %s %v", k, v, nilOr(n))
			} else {
				delete(model, k)
			}
			pending = append(pending, r)
			if rng.IntN(5) == 0 {
				must(t, task.Put(ctx, pending))
				pending = nil
				if rng.IntN(3) == 0 {
					must(t, task.Flush(ctx, nil))
				}
			}
		}
		putFlush(t, task, pending...)
		want := slices.Sorted(maps.Values(model))
		got := db.rows(t, fmt.Sprintf(`SELECT k, v, n FROM %s ORDER BY k::text`, topic))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: table\n%q\nmodel\n%q", seed, got, want)
		}
	}
}

func nilOr(v any) any {
	if v == nil {
		return "<nil>"
	}
	return v
}

func must(t *testing.T, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// testPipelineModel applies random inserts and updates to a table while
// the source copies it through the sink into another table, restarting
// the source from its committed offsets now and then, and checks that the
// copy ends equal to the original. The query modes see no deletes, so
// there are none.
func testPipelineModel(t *testing.T, db *testDB) {
	for _, seed := range modelSeeds {
		rng := rand.New(rand.NewPCG(seed, 7))
		table := fmt.Sprintf("pipe_%d", seed)
		db.exec(t, fmt.Sprintf(`CREATE TABLE %s (id serial PRIMARY KEY, v integer NOT NULL, note text,
			updated_at timestamptz NOT NULL DEFAULT now())`, table))
		sourceProps := db.sourceProps(map[string]string{keyTableIncludeList: table, keyMode: modeTimestampIncrementing,
			keyIncrementingColumn: "id", keyTimestampColumn: "updated_at", keyTopicPrefix: "copy_",
			keyBatchMaxRows: strconv.Itoa(1 + rng.IntN(10))})
		store := newOffsetStore()
		source := startSource(t, store, sourceProps)
		sink := startSink(t, nil, db.sinkProps(map[string]string{keyInsertMode: "upsert", keyPKMode: "record_key",
			keyPKFields: "id", keyAutoCreate: "true"}))
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
			}
		}
		rows := 0
		for range 300 {
			switch n := rng.IntN(10); {
			case n < 4 || rows == 0:
				db.exec(t, fmt.Sprintf(`INSERT INTO %s (v, note) VALUES (%d, %s)`, table, rng.IntN(100), randomNote(rng)))
				rows++
			case n < 8:
				db.exec(t, fmt.Sprintf(`UPDATE %s SET v = %d, note = %s, updated_at = now() WHERE id = %d`,
					table, rng.IntN(100), randomNote(rng), 1+rng.IntN(rows)))
			case n < 9:
				deliver(poll(t, source))
			default:
				deliver(poll(t, source))
				must(t, source.Stop())
				source = startSource(t, store, sourceProps)
			}
		}
		deliver(drain(t, source))
		query := `SELECT id, v, note, date_trunc('milliseconds', updated_at) FROM %s ORDER BY id`
		want, got := db.rows(t, fmt.Sprintf(query, table)), db.rows(t, fmt.Sprintf(query, "copy_"+table))
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: copy\n%q\noriginal\n%q", seed, got, want)
		}
	}
}

func randomNote(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return "NULL"
	}
	return fmt.Sprintf("'note %d'", rng.IntN(1000))
}
