package streams_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/streams"
)

// startBroker runs a real fjord server and creates topics on it.
func startBroker(t *testing.T, topics map[string]int32) string {
	t.Helper()
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, topics)
	return srv.Addr
}

// readCommitted reads topic from the start with read_committed until n
// records arrived or the deadline passed.
func readCommitted(t *testing.T, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	out, err := readCommittedUpTo(addr, topic, n, deadline)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readCommittedUpTo is readCommitted returning what it read by the
// deadline with an error instead of failing the test. addr may list the
// brokers of a cluster, comma-separated.
func readCommittedUpTo(addr, topic string, n int, deadline time.Duration) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("read %d of %d records of %s before the deadline", len(out), n, topic)
		}
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out, nil
}

func TestAppWordCountExactlyOnce(t *testing.T) {
	addr := startBroker(t, map[string]int32{"text-input": 3, "word-counts": 3})
	cfg := streams.NewConfig("wordcount-eos", addr)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.CacheMaxBytes = 0
	cfg.StateDir = t.TempDir()
	cfg.NumStreamThreads = 2
	app, err := streams.NewApp(wordCountTopology(t), cfg, streams.WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	words := []string{"alpha", "beta", "gamma", "delta"}
	want := make(map[string]int64)
	total := 0
	for i := range 200 {
		var line []string
		for j := range i%4 + 1 {
			w := words[(i+j)%len(words)]
			line = append(line, w)
			want[w]++
			total++
		}
		r := &kgo.Record{Topic: "text-input", Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Join(line, " "))}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	records := readCommitted(t, addr, "word-counts", total, 60*time.Second)
	last := make(map[string]int64)
	for _, r := range records {
		v, err := streams.Int64.Deserialize("word-counts", r.Value)
		if err != nil {
			t.Fatal(err)
		}
		w := string(r.Key)
		if v != last[w]+1 {
			t.Fatalf("word %q: count %d after %d", w, v, last[w])
		}
		last[w] = v
	}
	for w, n := range want {
		if last[w] != n {
			t.Errorf("word %q: final count %d, want %d", w, last[w], n)
		}
	}
	if err := app.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestAppReplacesFailedThread fails a stream thread on one record; the
// error handler replaces the thread, which redoes the work since the last
// commit, and under exactly-once every output is still committed once.
func TestAppReplacesFailedThread(t *testing.T) {
	addr := startBroker(t, map[string]int32{"in": 2, "out": 2})
	var failures atomic.Int32
	b := streams.NewBuilder()
	in := streams.StreamFrom(b, streams.String, streams.String, []string{"in"})
	checked := streams.Process(in, func() streams.Processor[string, string, string, string] {
		return &failOnce{failures: &failures}
	})
	checked.To("out", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := streams.NewConfig("replace-thread", addr)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.StateDir = t.TempDir()
	handled := make(chan error, 4)
	app, err := streams.NewApp(topo, cfg, streams.WithLogger(t.Logf), streams.WithErrorHandler(func(err error) streams.ErrorAction {
		handled <- err
		return streams.ReplaceThread
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for i := range 100 {
		value := fmt.Sprint(i)
		if i == 50 {
			value = "poison"
		}
		if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "in", Key: []byte(fmt.Sprint(i)), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	records := readCommitted(t, addr, "out", 100, 60*time.Second)
	seen := make(map[string]int)
	for _, r := range records {
		seen[string(r.Key)]++
	}
	for i := range 100 {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Errorf("key %d committed %d times", i, n)
		}
	}
	select {
	case err := <-handled:
		if !strings.Contains(err.Error(), "poison") {
			t.Errorf("handler saw %v", err)
		}
	default:
		t.Error("the error handler was not called")
	}
	if got := app.State(); got != streams.Running {
		t.Errorf("state %s after the replacement, want RUNNING", got)
	}
}

// failOnce fails the first time it sees the value "poison".
type failOnce struct {
	ctx      streams.ProcessorContext[string, string]
	failures *atomic.Int32
}

func (p *failOnce) Init(ctx streams.ProcessorContext[string, string]) error {
	p.ctx = ctx
	return nil
}

func (p *failOnce) Process(r streams.Record[string, string]) error {
	if r.Value == "poison" && p.failures.Add(1) == 1 {
		return errors.New("poison record")
	}
	p.ctx.Forward(r)
	return nil
}

func (p *failOnce) Close() error { return nil }
