package replication

import (
	"bytes"
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestFetcher(t *testing.T, l *fakeLeader) *Fetcher {
	t.Helper()
	f := NewFetcher(context.Background(), FetcherConfig{ReplicaID: 2, Dial: l.dial,
		MaxWait: 20 * time.Millisecond, Backoff: 5 * time.Millisecond, PartitionMaxBytes: 300})
	t.Cleanup(f.Close)
	return f
}

// waitFor waits until cond holds, re-checking each time the follower's
// high watermark moves (or every MaxWait as a fallback), for at most 10 s.
func waitFor(t *testing.T, p *testReplica, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		ch := make(chan struct{}, 1)
		p.NotifyOnAppend(ch)
		if cond() {
			p.StopNotify(ch)
			return
		}
		tick := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
		tick.Stop()
		p.StopNotify(ch)
	}
}

func rawLog(t *testing.T, p *testReplica) []byte {
	t.Helper()
	var out []byte
	for from := p.LogStartOffset(); from < p.LogEndOffset(); {
		s, err := p.Log().Read(from, 1<<20, p.LogEndOffset())
		if err != nil {
			t.Fatal(err)
		}
		out, err = s.ReadAll(out)
		s.Release()
		if err != nil {
			t.Fatal(err)
		}
		from = s.NextOffset
	}
	return out
}

func TestFetcherReplicatesAndJoinsISR(t *testing.T) {
	l := newFakeLeader()
	tp := TopicPartition{Topic: "t", Partition: 0}
	leader := newTestPartition(t, 0)
	lp := l.lead(t, tp, leader, 3, []BrokerID{1, 2}, []BrokerID{1})
	l.produce(t, tp, "a", 20) // 40 records, several fetches at 300 bytes each

	follower := newTestPartition(t, 0)
	f := newTestFetcher(t, l)
	if err := f.Follow(1, tp, follower, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, follower, "the follower's HW to reach 40", func() bool { return follower.HighWatermark() == 40 })
	l.produce(t, tp, "b", 3)
	waitFor(t, follower, "the follower's HW to reach 46", func() bool { return follower.HighWatermark() == 46 })

	if !bytes.Equal(rawLog(t, follower), rawLog(t, leader)) {
		t.Fatal("follower's log differs from the leader's")
	}
	// The leader sees the follower caught up on the fetch after the one
	// that brought the last records.
	waitFor(t, follower, "the follower to join the ISR", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return slices.Equal(lp.state.ISR(), []BrokerID{1, 2})
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := lp.state.AckReady(46, AcksAll, 2); !d.Done || d.Err != nil {
		t.Fatalf("acks=all at 46: %+v", d)
	}
}

// TestFetcherTruncatesDivergedFollower is KIP-101's second scenario: the
// follower led epoch 1 alone and wrote records nobody else has; the new
// leader's epoch 2 overwrote those offsets.
func TestFetcherTruncatesDivergedFollower(t *testing.T) {
	l := newFakeLeader()
	tp := TopicPartition{Topic: "t", Partition: 0}
	leader, follower := newTestPartition(t, 0), newTestPartition(t, 0)
	for _, p := range []*testReplica{leader, follower} {
		p.BecomeLeader(0)
		appendBatches(t, p, "common", 2)
	}
	follower.BecomeLeader(1)
	appendBatches(t, follower, "lost", 3)
	leader.BecomeLeader(2)
	appendBatches(t, leader, "kept", 2)
	l.lead(t, tp, leader, 4, []BrokerID{1, 2}, []BrokerID{1, 2})
	l.produce(t, tp, "new", 1)

	f := newTestFetcher(t, l)
	if err := f.Follow(1, tp, follower, 4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, follower, "the follower to match the leader", func() bool {
		return follower.LogEndOffset() == leader.LogEndOffset() && follower.HighWatermark() == leader.LogEndOffset()
	})
	if !bytes.Equal(rawLog(t, follower), rawLog(t, leader)) {
		t.Fatal("follower kept its divergent tail")
	}
	if got, want := follower.LeaderEpochs(), leader.LeaderEpochs(); !slices.Equal(got, want) {
		t.Fatalf("epochs %v, leader %v", got, want)
	}
}

func TestFetcherFencedUntilNewEpoch(t *testing.T) {
	l := newFakeLeader()
	tp := TopicPartition{Topic: "t", Partition: 0}
	leader := newTestPartition(t, 0)
	l.lead(t, tp, leader, 5, []BrokerID{1, 2}, []BrokerID{1, 2})
	l.produce(t, tp, "x", 2)
	follower := newTestPartition(t, 0)
	f := newTestFetcher(t, l)
	if err := f.Follow(1, tp, follower, 4); err != nil { // stale metadata
		t.Fatal(err)
	}
	select {
	case <-l.fencedC:
	case <-time.After(10 * time.Second):
		t.Fatal("the stale follower was never fenced")
	}
	if end := follower.LogEndOffset(); end != 0 {
		t.Fatalf("fenced follower appended up to %d", end)
	}
	if err := f.Follow(1, tp, follower, 5); err != nil {
		t.Fatal(err)
	}
	waitFor(t, follower, "catch-up after the new epoch", func() bool { return follower.HighWatermark() == 4 })
}

func TestFetcherUnfollowAndClose(t *testing.T) {
	l := newFakeLeader()
	tps := []TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}}
	f := newTestFetcher(t, l)
	followers := map[TopicPartition]*testReplica{}
	for _, tp := range tps {
		l.lead(t, tp, newTestPartition(t, tp.Partition), 1, []BrokerID{1, 2}, []BrokerID{1, 2})
		l.produce(t, tp, "v", 1)
		followers[tp] = newTestPartition(t, tp.Partition)
		if err := f.Follow(1, tp, followers[tp], 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range tps {
		p := followers[tp]
		waitFor(t, p, "replication", func() bool { return p.HighWatermark() == 2 })
	}
	f.Unfollow(tps[0])
	// Once Unfollow returned nothing writes to the replica: new leader
	// data does not reach it.
	l.produce(t, tps[0], "w", 1)
	l.produce(t, tps[1], "w", 1)
	waitFor(t, followers[tps[1]], "the other partition", func() bool { return followers[tps[1]].HighWatermark() == 4 })
	if end := followers[tps[0]].LogEndOffset(); end != 2 {
		t.Fatalf("unfollowed replica grew to %d", end)
	}
	if got := f.Following(); len(got) != 1 || got[tps[1]] != 1 {
		t.Fatalf("following %v", got)
	}
	f.Close()
	if err := f.Follow(1, tps[0], followers[tps[0]], 1); err != ErrFetcherClosed {
		t.Fatalf("Follow after Close: %v", err)
	}
	if err := f.Follow(2, tps[0], followers[tps[0]], 1); err == nil {
		t.Fatal("following itself was accepted")
	}
}

// TestFetcherLeavesNoGoroutine checks that Close stops every source
// goroutine it started.
func TestFetcherLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	l := newFakeLeader()
	f := NewFetcher(context.Background(), FetcherConfig{ReplicaID: 2, Dial: l.dial, MaxWait: time.Hour, Backoff: time.Hour})
	for i := int32(0); i < 3; i++ {
		tp := TopicPartition{Topic: "t", Partition: i}
		l.lead(t, tp, newTestPartition(t, i), 1, []BrokerID{1, 2}, []BrokerID{1, 2})
		// Sources 1, 3 and 4: three goroutines, blocked in long fetches.
		if err := f.Follow(BrokerID(1+i+min(i, 1)), tp, newTestPartition(t, i), 1); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	// A source has signalled it is done a moment before its goroutine is
	// gone; under -race on two busy cores that moment can be long.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

// A follower that once became leader at an epoch it never wrote to (an
// empty epoch at its log end, which the new leader does not know) drops
// that epoch and catches up, instead of asking about it forever.
func TestFetcherDropsAnEmptyEpochTheLeaderNeverHad(t *testing.T) {
	l := newFakeLeader()
	tp := TopicPartition{Topic: "t", Partition: 0}
	leader, follower := newTestPartition(t, 0), newTestPartition(t, 0)
	for _, p := range []*testReplica{leader, follower} {
		p.BecomeLeader(0)
		appendBatches(t, p, "common", 2)
	}
	follower.BecomeLeader(3) // led at epoch 3 for a moment, wrote nothing
	leader.BecomeLeader(4)
	appendBatches(t, leader, "later", 2)
	l.lead(t, tp, leader, 4, []BrokerID{1, 2}, []BrokerID{1, 2})

	f := newTestFetcher(t, l)
	if err := f.Follow(1, tp, follower, 4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, follower, "the follower to catch up", func() bool {
		return follower.LogEndOffset() == leader.LogEndOffset()
	})
	if !bytes.Equal(rawLog(t, follower), rawLog(t, leader)) {
		t.Fatal("follower's log differs from the leader's")
	}
}

// TestFetcherReportsACorruptBatchAndRefetches: a leader that answers with
// a batch failing its CRC gets nothing written on the follower, which says
// so at ERROR (once per interval, however often it refetches) and fetches
// again; once the leader's answers are sound the follower catches up to
// the same log.
func TestFetcherReportsACorruptBatchAndRefetches(t *testing.T) {
	l := newFakeLeader()
	l.corrupt = 5
	tp := TopicPartition{Topic: "t", Partition: 0}
	leader := newTestPartition(t, 0)
	l.lead(t, tp, leader, 3, []BrokerID{1, 2}, []BrokerID{1})
	l.produce(t, tp, "a", 20)

	var logs lockedBuffer
	follower := newTestPartition(t, 0)
	f := NewFetcher(context.Background(), FetcherConfig{ReplicaID: 2, Dial: l.dial,
		MaxWait: 20 * time.Millisecond, Backoff: 5 * time.Millisecond, PartitionMaxBytes: 300,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(f.Close)
	if err := f.Follow(1, tp, follower, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, follower, "the follower's HW to reach 40", func() bool { return follower.HighWatermark() == 40 })
	if !bytes.Equal(rawLog(t, follower), rawLog(t, leader)) {
		t.Fatal("follower's log differs from the leader's")
	}
	l.mu.Lock()
	left := l.corrupt
	l.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d corrupt answers not fetched", left)
	}
	reports := strings.Count(logs.String(), "level=ERROR msg=\"fetched a corrupt batch from the leader")
	if reports != 1 || !strings.Contains(logs.String(), "offset=0") {
		t.Fatalf("want one ERROR report of the corrupt batch at offset 0, got %d in:\n%s", reports, logs.String())
	}
}

// lockedBuffer is a log destination safe for the fetcher's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
