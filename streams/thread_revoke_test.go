package streams

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRevocationAfterPollProcessesOnce drives one exactly-once stream
// thread by hand through the race that duplicated outputs in
// TestJoinsOnClusterUnderKills: the group rebalances while the thread
// polls, so that the revocation and the new assignment are applied in the
// step that got the new generation's records, polled from the committed
// offsets. Aborting the transaction for the revocation rewinds the
// consumer to the committed offsets, so the records in hand come again
// with the next poll: processing them as well wrote them twice. Each record
// must reach the output once, whether a transaction was open (an idle
// thread keeps it open) or not.
func TestRevocationAfterPollProcessesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	for _, idle := range []bool{true, false} {
		t.Run(fmt.Sprintf("transaction open %v", idle), func(t *testing.T) {
			testRevocationAfterPoll(t, idle)
		})
	}
}

func testRevocationAfterPoll(t *testing.T, openTransaction bool) {
	addr := startGlobalTestBroker(t, map[string]int32{"in": 1, "out": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	th := startRevokeTestThread(t, ctx, addr)
	produce := inputProducer(t, ctx, addr)
	produce(0, 10)
	stepUntilConsumed(t, ctx, th, 10)
	if err := th.commit(ctx); err != nil {
		t.Fatal(err)
	}
	if openTransaction {
		// A step with nothing to do begins a transaction that the
		// commit leaves open, as nothing was sent or consumed.
		if err := th.step(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := th.commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if th.inTxn != openTransaction {
		t.Fatalf("transaction open: %v, want %v", th.inTxn, openTransaction)
	}
	produce(10, 15)
	var polled kgo.Fetches
	for polled.NumRecords() < 5 && ctx.Err() == nil {
		polled = append(polled, th.poll(ctx)...)
	}
	// The rebalance that the thread learns of only now: it revoked and
	// gave back the same tasks, and the records in hand were polled from
	// the offsets committed for the new generation.
	th.mu.Lock()
	th.mu.events = append(th.mu.events, groupEvent{revoked: true}, groupEvent{assigned: slices.Clone(th.assigned)})
	th.mu.Unlock()
	if err := th.step(ctx, polled); err != nil {
		t.Fatal(err)
	}
	stepUntilConsumed(t, ctx, th, 15)
	if err := th.commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := readRevokeTestOutput(t, addr, 15)
	for v, n := range got {
		if n != 1 {
			t.Errorf("%s is in the output %d times", v, n)
		}
	}
	if len(got) != 15 {
		t.Errorf("the output holds %d distinct values, want 15: %v", len(got), slices.Sorted(maps.Keys(got)))
	}
}

// startRevokeTestThread starts an application of in -> out without its
// threads and returns a thread for the test to drive.
func startRevokeTestThread(t *testing.T, ctx context.Context, addr string) *streamThread {
	t.Helper()
	b := NewBuilder()
	MapValues(StreamFrom(b, String, String, []string{"in"}), func(_, v string) string { return v }).To("out", String, String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewConfig("revoke-test", addr)
	cfg.ProcessingGuarantee = ExactlyOnceV2
	cfg.CommitInterval = time.Hour // the test commits
	cfg.StateDir = t.TempDir()
	a, err := NewApp(topo, cfg, WithLogger(t.Logf))
	if err != nil {
		t.Fatal(err)
	}
	a.cfg.NumStreamThreads = 0 // the test drives its own
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	th, err := a.newThread(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := th.closeTasks(false); err != nil {
			t.Error(err)
		}
		th.close()
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return th
}

// stepUntilConsumed runs the thread's loop, without its commits, until it
// has consumed the input up to offset end.
func stepUntilConsumed(t *testing.T, ctx context.Context, th *streamThread, end int64) {
	t.Helper()
	for ctx.Err() == nil {
		if err := th.step(ctx, th.poll(ctx)); err != nil {
			t.Fatal(err)
		}
		if o, ok := th.client.UncommittedOffsets()["in"][0]; ok && o.Offset >= end {
			return
		}
	}
	t.Fatalf("input not consumed up to %d: %v", end, ctx.Err())
}

// readRevokeTestOutput reads the committed output until it holds n records
// and for a quiet second more, and counts each value.
func readRevokeTestOutput(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("out"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := make(map[string]int)
	read := 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for read < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)]++; read++ })
	}
	quiet, cancelQuiet := context.WithTimeout(context.Background(), time.Second)
	defer cancelQuiet()
	for quiet.Err() == nil {
		cl.PollFetches(quiet).EachRecord(func(r *kgo.Record) { got[string(r.Value)]++ })
	}
	return got
}

// inputProducer returns a function that writes the values v<from>..v<to-1>
// to the topic "in" under the key "k", one acknowledged record at a time.
func inputProducer(t *testing.T, ctx context.Context, addr string) func(from, to int) {
	producer, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	return func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: "in", Key: []byte("k"), Value: []byte(fmt.Sprintf("v%02d", i))}
			if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
