package txn

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestLoadFinishesPreparedTransactions(t *testing.T) {
	log := &fakeLog{}
	old := stateAt(kmsg.TransactionStateOngoing, 5, 0)
	log.put("commit", &old)
	prepared := stateAt(kmsg.TransactionStatePrepareCommit, 5, 2)
	log.put("commit", &prepared)
	ongoing := stateAt(kmsg.TransactionStateOngoing, 6, 1)
	log.put("ongoing", &ongoing)
	log.put("gone", &ongoing)
	log.put("gone", nil)
	fenced := stateAt(kmsg.TransactionStatePrepareEpochFence, 8, 4)
	log.put("fenced", &fenced)
	log.set(func(l *fakeLog) {
		l.records = append(l.records, Record{Key: encodeKey("bad"), Value: []byte{0, 1, 2}},
			Record{Key: []byte{0, 9}, Value: []byte{}})
	})
	h := newHarness(t, Config{}, log)
	h.waitState("commit", kmsg.TransactionStateCompleteCommit)
	h.waitState("fenced", kmsg.TransactionStateCompleteAbort)
	if st := h.describe("ongoing"); st.State != "Ongoing" || st.ProducerID != 6 {
		t.Fatalf("ongoing: %+v", st)
	}
	for _, id := range []string{"gone", "bad"} {
		if st := h.describe(id); st.ErrorCode != kerr.TransactionalIDNotFound.Code {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	byProducer := map[int64]Markers{}
	for _, m := range h.markers.callsSoFar() {
		byProducer[m.ProducerID] = m
	}
	if m := byProducer[5]; !m.Commit || m.ProducerEpoch != 2 || m.CoordinatorEpoch != 1 || len(m.Partitions) != 1 {
		t.Fatalf("commit markers: %+v", m)
	}
	if m := byProducer[8]; m.Commit || m.ProducerEpoch != 4 {
		t.Fatalf("fence markers: %+v", m)
	}
}

func TestResignStopsMarkersAndReelectFinishes(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	h.end("a", 3, pid, epoch, true)
	h.waitUntil("the markers to be sent", func() bool { return len(h.markers.callsSoFar()) == 1 })
	records := h.log.len()
	h.c.Resign(0)
	// The marker write saw its context end; nothing more is written.
	h.waitUntil("the marker job to end", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		return h.c.mu.markerWrites == 0
	})
	if h.log.len() != records {
		t.Fatal("a resigned coordinator wrote to the log")
	}
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != kerr.NotCoordinator.Code {
		t.Fatalf("after resigning: %d", code)
	}
	// Elected again at a newer epoch: the load finds PrepareCommit and
	// finishes it with the new coordinator epoch.
	h.markers.set(func(f *fakeMarkers) { f.hold = nil })
	h.c.Elect(0, 2, h.log)
	h.waitState("a", kmsg.TransactionStateCompleteCommit)
	calls := h.markers.callsSoFar()
	if last := calls[len(calls)-1]; last.CoordinatorEpoch != 2 || !last.Commit {
		t.Fatalf("markers after re-election: %+v", last)
	}
	// The same election again changes nothing.
	h.c.Elect(0, 2, h.log)
	if st := h.describe("a"); st.ErrorCode != 0 {
		t.Fatalf("a repeated Elect reloaded: %+v", st)
	}
}

func TestLoadInProgressAndRetried(t *testing.T) {
	log := &fakeLog{loadHold: make(chan struct{}), loadErr: errors.New("disk hiccup")}
	s := stateAt(kmsg.TransactionStateEmpty, 5, 0)
	log.put("a", &s)
	h := newHarnessNoElect(t)
	h.c.Elect(0, 1, log)
	if st := h.describe("a"); st.ErrorCode != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("describe while loading: %+v", st)
	}
	list := h.c.Handle(context.Background(), kmsg.NewPtrListTransactionsRequest()).(*kmsg.ListTransactionsResponse)
	if list.ErrorCode != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("list while loading: %+v", list)
	}
	close(log.loadHold)
	// The failed read is retried after a backoff.
	h.waitUntil("the failed load", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		p := h.c.mu.partitions[0]
		return !p.loadRunning && !p.loadRetryAt.IsZero()
	})
	log.set(func(l *fakeLog) { l.loadErr = nil })
	h.clock.Advance(loadRetryBackoff)
	h.waitLoaded(0)
	if st := h.describe("a"); st.ErrorCode != 0 || st.ProducerID != 5 {
		t.Fatalf("after loading: %+v", st)
	}
}

// newHarnessNoElect is a harness whose partition 0 is not elected yet.
func newHarnessNoElect(t *testing.T) *harness {
	h := newHarness(t, Config{}, nil)
	h.c.Resign(0)
	return h
}

// sliceLog is a Log whose type cannot be compared with ==.
type sliceLog struct {
	*fakeLog
	tags []string
}

func TestElectWithAnUncomparableLog(t *testing.T) {
	h := newHarnessNoElect(t)
	log := sliceLog{fakeLog: h.log, tags: []string{"x"}}
	h.c.Elect(0, 1, log)
	h.waitLoaded(0)
	h.c.Elect(0, 1, log) // reloads rather than panicking
	h.waitLoaded(0)
	h.begin("a")
}
