package txn

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestEndTxnCommit(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("commit with no transaction: %d", code)
	}
	h.addCode("a", pid, epoch, tp("t", 1), tp("t", 0), tp("u", 0))
	resp := h.end("a", 4, pid, epoch, true)
	if resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != epoch {
		t.Fatalf("commit: %+v", resp)
	}
	h.waitState("a", kmsg.TransactionStateCompleteCommit)
	calls := h.markers.callsSoFar()
	want := []TopicPartition{tp("t", 0), tp("t", 1), tp("u", 0)}
	if len(calls) != 1 || !calls[0].Commit || calls[0].ProducerID != pid || calls[0].ProducerEpoch != epoch ||
		calls[0].CoordinatorEpoch != 1 || calls[0].TransactionVersion != 0 || !slices.Equal(calls[0].Partitions, want) {
		t.Fatalf("markers: %+v", calls)
	}
	if s, _ := h.log.last(t, "a"); s.state != kmsg.TransactionStateCompleteCommit || len(s.partitions) != 0 {
		t.Fatalf("logged %+v", s)
	}
	if st := h.describe("a"); len(st.Topics) != 0 {
		t.Fatalf("partitions kept after the commit: %+v", st)
	}
	// A retry of the commit succeeds; an abort of it cannot.
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != 0 {
		t.Fatalf("retried commit: %d", code)
	}
	if code := h.end("a", 3, pid, epoch, false).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("abort after commit: %d", code)
	}
	for _, tt := range []struct {
		name    string
		id      string
		version int16
		pid     int64
		epoch   int16
		want    int16
	}{
		{"empty id", "", 3, pid, epoch, kerr.InvalidRequest.Code},
		{"unknown id", "b", 3, pid, epoch, kerr.InvalidProducerIDMapping.Code},
		{"other producer id", "a", 3, pid + 1, epoch, kerr.InvalidProducerIDMapping.Code},
		{"other epoch", "a", 2, pid, epoch + 1, kerr.ProducerFenced.Code},
		{"other epoch, v1", "a", 1, pid, epoch + 1, kerr.InvalidProducerEpoch.Code},
	} {
		if resp := h.end(tt.id, tt.version, tt.pid, tt.epoch, true); resp.ErrorCode != tt.want || resp.ProducerID != -1 {
			t.Errorf("%s: %+v, want code %d", tt.name, resp, tt.want)
		}
	}
}

func TestEndTxnWhilePreparing(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	if code := h.end("a", 3, pid, epoch, false).ErrorCode; code != 0 {
		t.Fatalf("abort: %d", code)
	}
	if st := h.describe("a"); st.State != "PrepareAbort" {
		t.Fatalf("answered before PrepareAbort: %+v", st)
	}
	if code := h.end("a", 3, pid, epoch, false).ErrorCode; code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("abort again: %d", code)
	}
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("commit while aborting: %d", code)
	}
	if code := h.init("a", 5, -1, -1).ErrorCode; code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("init while aborting: %d", code)
	}
	close(hold)
	h.waitState("a", kmsg.TransactionStateCompleteAbort)
}

func TestMarkersRetryUntilWritten(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	h.markers.set(func(f *fakeMarkers) {
		f.errs = map[TopicPartition][]error{
			tp("t", 0):    {kerr.NotLeaderForPartition, kerr.NotEnoughReplicas},
			tp("gone", 0): {kerr.UnknownTopicOrPartition},
		}
	})
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0), tp("t", 1), tp("gone", 0))
	h.end("a", 3, pid, epoch, true)
	// Each failed attempt is retried after a backoff on the clock.
	for attempt := 2; attempt <= 3; attempt++ {
		h.waitUntil("a failed marker attempt", func() bool { return h.retryQueued("a") })
		h.clock.Advance(markerRetryBackoffMax)
		h.waitUntil("the next attempt", func() bool { return len(h.markers.callsSoFar()) >= attempt })
	}
	h.waitState("a", kmsg.TransactionStateCompleteCommit)
	calls := h.markers.callsSoFar()
	// The first call had every partition; the partition whose topic is
	// gone was dropped, the written one is not sent again.
	if len(calls) != 3 || len(calls[0].Partitions) != 3 || !slices.Equal(calls[1].Partitions, []TopicPartition{tp("t", 0)}) ||
		!slices.Equal(calls[2].Partitions, []TopicPartition{tp("t", 0)}) {
		t.Fatalf("calls: %+v", calls)
	}
}

func TestMarkersFencedStop(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	h.markers.set(func(f *fakeMarkers) {
		f.errs = map[TopicPartition][]error{tp("t", 0): {kerr.TransactionCoordinatorFenced}}
	})
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	h.end("a", 3, pid, epoch, true)
	h.waitUntil("the markers to stop", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		m := h.c.mu.partitions[0].txns["a"]
		return len(h.markers.callsSoFar()) == 1 && m.job == nil
	})
	// A newer coordinator took over: this one leaves the transaction.
	if st := h.describe("a"); st.State != "PrepareCommit" {
		t.Fatalf("state: %+v", st)
	}
}

func TestCompletionWriteRetried(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	h.end("a", 3, pid, epoch, true)
	// The markers are written; the completion that follows is not durable.
	h.log.set(func(l *fakeLog) { l.durableErrs = []error{kerr.NotEnoughReplicas} })
	close(hold)
	h.waitUntil("a failed completion", func() bool { return h.retryQueued("a") })
	if st := h.describe("a"); st.State != "PrepareCommit" {
		t.Fatalf("state after a failed completion: %+v", st)
	}
	h.clock.Advance(markerRetryBackoffMax)
	h.waitState("a", kmsg.TransactionStateCompleteCommit)
}

// retryQueued reports whether id's marker job waits for its next attempt.
func (h *harness) retryQueued(id string) bool {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	m := h.c.mu.partitions[0].txns[id]
	return m != nil && m.job != nil && !m.job.running && m.job.attempts > 0
}
