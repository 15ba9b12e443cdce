package runtime

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// countingSource is a source task that emits "n=<i>" for i from its
// committed offset on, up to limit, in batches of 10, keyed by i's parity.
// Given a "task" config (spreadConnector's tasks) it has a source partition
// of its own and emits "t<task>-n=<i>" without keys instead, so that a
// connector's tasks can spread over workers.
type countingSource struct {
	limit   int64
	next    int64
	topic   string       // empty: "counts"
	task    string       // the "task" config, if any
	started chan<- int64 // if set, gets the offset the task resumed from
}

var countingPartition = map[string]any{"source": "counter"}

func (s *countingSource) partition() map[string]any {
	if s.task != "" {
		return map[string]any{"task": s.task}
	}
	return countingPartition
}

func (s *countingSource) Start(ctx connect.SourceTaskContext, config map[string]string) error {
	s.task = config["task"]
	offset, err := ctx.OffsetReader().Offset(context.Background(), s.partition())
	if err != nil {
		return err
	}
	if n, ok := offset["next"].(int64); ok {
		s.next = n
	}
	if s.started != nil {
		s.started <- s.next
	}
	return nil
}

func (s *countingSource) Poll(ctx context.Context) ([]connect.SourceRecord, error) {
	if s.next >= s.limit {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	var out []connect.SourceRecord
	for ; s.next < s.limit && len(out) < 10; s.next++ {
		out = append(out, s.record())
	}
	return out, nil
}

func (s *countingSource) record() connect.SourceRecord {
	r := connect.SourceRecord{
		SourcePartition: s.partition(), SourceOffset: map[string]any{"next": s.next + 1},
		Topic: cmp.Or(s.topic, "counts"), ValueSchema: connect.StringSchema, Value: fmt.Sprintf("n=%d", s.next),
	}
	if s.task != "" {
		r.Value = fmt.Sprintf("t%s-n=%d", s.task, s.next)
	} else {
		r.KeySchema, r.Key = connect.StringSchema, fmt.Sprint(s.next%2)
	}
	return r
}

func (s *countingSource) Stop() error { return nil }

// TestSourceTaskRunnerWritesAndResumes runs a source task against a real
// broker: its records arrive in the topic as the JSON converter writes
// them, the offsets file holds the last one, and a second run resumes
// there, so nothing is written twice or skipped.
func TestSourceTaskRunnerWritesAndResumes(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"counts": 2})
	offsets, err := openFileOffsetStore(filepath.Join(t.TempDir(), "offsets.json"))
	if err != nil {
		t.Fatal(err)
	}
	runOnce := func(limit int64) int64 {
		started := make(chan int64, 1)
		producer, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.RecordPartitioner(newSourcePartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		defer producer.Close()
		var states []string
		r := &sourceTaskRunner{
			id: TaskID{"counter", 0}, task: &countingSource{limit: limit, started: started},
			converters: testConverters(t), producer: producer, offsets: offsets,
			flushEvery: 100 * time.Millisecond, flushTimeout: 10 * time.Second,
			report: func(state string, err error) {
				if err != nil {
					t.Errorf("task state %s: %v", state, err)
				}
				states = append(states, state)
			},
			logger: slog.New(slog.NewTextHandler(io.Discard, nil)), target: &targetState{},
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); r.run(ctx) }()
		from := <-started
		waitCommitted(t, offsets, limit)
		cancel()
		<-done
		if got := strings.Join(states, ","); got != "RUNNING,UNASSIGNED" {
			t.Errorf("states %s", got)
		}
		return from
	}
	if from := runOnce(35); from != 0 {
		t.Fatalf("first run started at %d", from)
	}
	if from := runOnce(80); from != 35 {
		t.Fatalf("second run resumed at %d, want 35", from)
	}
	values := readValues(t, srv.Addr, "counts", 80)
	for i := range 80 {
		want := fmt.Sprintf(`{"schema":{"type":"string","optional":false},"payload":"n=%d"}`, i)
		if values[want] != 1 {
			t.Errorf("value %s read %d times", want, values[want])
		}
	}
}

func testConverters(t *testing.T) recordConverters {
	t.Helper()
	key, value, header := &converters.JSONConverter{}, &converters.JSONConverter{}, &converters.JSONConverter{}
	if err := key.Configure(nil, true); err != nil {
		t.Fatal(err)
	}
	if err := value.Configure(nil, false); err != nil {
		t.Fatal(err)
	}
	if err := header.ConfigureHeaders(nil); err != nil {
		t.Fatal(err)
	}
	return recordConverters{key: key, value: value, header: header}
}

// waitCommitted waits until the counter's committed offset reaches next.
func waitCommitted(t *testing.T, offsets offsetStore, next int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := offsets.get(t.Context(), "counter", []map[string]any{countingPartition})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := got[0]["next"].(int64); n == next {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed offset %v, want next=%d", got[0], next)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readValues reads n records of topic and counts each value.
func readValues(t *testing.T, addr, topic string, n int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out := map[string]int{}
	for read := 0; read < n; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", read, n)
		}
		fetches.EachRecord(func(r *kgo.Record) { out[string(r.Value)]++; read++ })
	}
	return out
}
