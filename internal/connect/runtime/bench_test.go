package runtime

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/file"
	"github.com/fjordhq/fjord/connect/postgres"
	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/pgtest"
)

// benchRecords is the records each pipeline moves per iteration.
const benchRecords = 200_000

// benchLine is one 100-byte record value.
func benchLine(i int) string { return fmt.Sprintf("%-99s", fmt.Sprintf("line-%09d", i)) }

// startBenchHerder runs a standalone herder with fjord's file and
// PostgreSQL connectors against addr until the benchmark ends.
func startBenchHerder(b *testing.B, addr string, props map[string]string) *Standalone {
	b.Helper()
	all := map[string]string{"bootstrap.servers": addr, "offset.storage.file.filename": filepath.Join(b.TempDir(), "offsets"),
		"offset.flush.interval.ms": "1000", "key.converter": "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.storage.StringConverter"}
	for k, v := range props {
		all[k] = v
	}
	worker, err := ParseWorkerConfig(ModeStandalone, all)
	if err != nil {
		b.Fatal(err)
	}
	reg := connect.NewRegistry()
	if err := file.Register(reg); err != nil {
		b.Fatal(err)
	}
	if err := postgres.Register(reg); err != nil {
		b.Fatal(err)
	}
	h, err := NewStandalone(worker, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx, nil) }()
	b.Cleanup(func() { cancel(); <-done })
	return h
}

// waitTopicEnd waits until topic's end offsets sum to n.
func waitTopicEnd(b *testing.B, adm *kadm.Client, topic string, n int64) {
	b.Helper()
	for {
		ends, err := adm.ListEndOffsets(context.Background(), topic)
		if err != nil {
			b.Fatal(err)
		}
		var sum int64
		ends.Each(func(o kadm.ListedOffset) { sum += o.Offset })
		if sum >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkFileSourceToTopic: lines of a file written to a topic by the
// FileStream source, from the connector's creation to the last record's
// acknowledgement, beside BenchmarkFranzGoProduce doing the same writes.
func BenchmarkFileSourceToTopic(b *testing.B) {
	srv := fjordtest.Start(b, fjordtest.Options{})
	path := filepath.Join(b.TempDir(), "input.txt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range benchRecords {
		fmt.Fprintln(w, benchLine(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	h := startBenchHerder(b, srv.Addr, nil)
	b.ResetTimer()
	for i := range b.N {
		topic := fmt.Sprintf("lines-%d", i)
		srv.CreateTopics(b, map[string]int32{topic: 1})
		start := time.Now()
		if _, _, err := h.PutConnectorConfig(context.Background(), topic, map[string]string{
			"connector.class": "FileStreamSource", "file": path, "topic": topic, "batch.size": "2000"}, "", false); err != nil {
			b.Fatal(err)
		}
		waitTopicEnd(b, adm, topic, benchRecords)
		b.ReportMetric(float64(benchRecords)/time.Since(start).Seconds(), "records/s")
	}
}

// BenchmarkFranzGoProduce is the baseline: a plain franz-go producer
// writing the same records to a one-partition topic.
func BenchmarkFranzGoProduce(b *testing.B) {
	srv := fjordtest.Start(b, fjordtest.Options{})
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	for i := range b.N {
		topic := fmt.Sprintf("lines-%d", i)
		srv.CreateTopics(b, map[string]int32{topic: 1})
		start := time.Now()
		for j := range benchRecords {
			cl.Produce(context.Background(), &kgo.Record{Topic: topic, Value: []byte(benchLine(j))}, nil)
		}
		if err := cl.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(benchRecords)/time.Since(start).Seconds(), "records/s")
	}
}

// BenchmarkTopicToPostgres: JSON records with schemas preloaded in a
// topic, upserted into PostgreSQL by the sink with batch.size 3000, from
// the connector's creation until the table holds every row.
func BenchmarkTopicToPostgres(b *testing.B) {
	pg := pgtest.Start(b)
	srv := fjordtest.Start(b, fjordtest.Options{})
	srv.CreateTopics(b, map[string]int32{"rows": 1})
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	const schema = `{"type":"struct","optional":false,"fields":[{"field":"line","type":"string","optional":false}]}`
	for j := range benchRecords {
		value := fmt.Sprintf(`{"schema":%s,"payload":{"line":%q}}`, schema, benchLine(j))
		cl.Produce(context.Background(), &kgo.Record{Topic: "rows", Key: fmt.Appendf(nil, "%d", j), Value: []byte(value)}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	h := startBenchHerder(b, srv.Addr, nil)
	b.ResetTimer()
	for i := range b.N {
		table := fmt.Sprintf("rows_%d", i)
		start := time.Now()
		if _, _, err := h.PutConnectorConfig(context.Background(), table, map[string]string{
			"connector.class": "PostgresSink", "topics": "rows", "connection.url": pg.DSN, "table.name.format": table,
			"insert.mode": "upsert", "pk.mode": "record_key", "pk.fields": "id", "auto.create": "true",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter"}, "", false); err != nil {
			b.Fatal(err)
		}
		for {
			var n int64
			if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err == nil && n == benchRecords {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.ReportMetric(float64(benchRecords)/time.Since(start).Seconds(), "rows/s")
	}
}

// BenchmarkPostgresCopy is the sink's baseline: COPY of the same rows into
// a table with the same primary key.
func BenchmarkPostgresCopy(b *testing.B) {
	pg := pgtest.Start(b)
	conn, err := pgx.Connect(context.Background(), pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows := make([][]any, benchRecords)
	for j := range rows {
		rows[j] = []any{fmt.Sprint(j), benchLine(j)}
	}
	b.ResetTimer()
	for i := range b.N {
		table := fmt.Sprintf("copy_%d", i)
		if _, err := conn.Exec(context.Background(), "CREATE TABLE "+table+" (id text PRIMARY KEY, line text NOT NULL)"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := conn.CopyFrom(context.Background(), pgx.Identifier{table}, []string{"id", "line"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(benchRecords)/time.Since(start).Seconds(), "rows/s")
	}
}
