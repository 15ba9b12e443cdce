package txn

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestTimedOutTransactionIsAborted(t *testing.T) {
	h := newHarness(t, Config{AbortTimedOutInterval: 10 * time.Second}, nil)
	req := kmsg.NewPtrInitProducerIDRequest()
	id := "a"
	req.Version, req.TransactionalID, req.TransactionTimeoutMillis = 5, &id, 5_000
	resp := h.c.Handle(context.Background(), req).(*kmsg.InitProducerIDResponse)
	pid, epoch := resp.ProducerID, resp.ProducerEpoch
	h.addCode("a", pid, epoch, tp("t", 0))
	other, otherEpoch := h.begin("b") // a 60 s timeout
	h.addCode("b", other, otherEpoch, tp("t", 1))
	// The first check, 10 s in, finds a past its 5 s.
	h.clock.Advance(10 * time.Second)
	st := h.waitState("a", kmsg.TransactionStateCompleteAbort)
	if st.ProducerEpoch != epoch+1 {
		t.Fatalf("aborted at epoch %d, want %d", st.ProducerEpoch, epoch+1)
	}
	calls := h.markers.callsSoFar()
	if len(calls) != 1 || calls[0].Commit || calls[0].ProducerEpoch != epoch+1 {
		t.Fatalf("markers: %+v", calls)
	}
	if st := h.describe("b"); st.State != "Ongoing" {
		t.Fatalf("b was aborted before its timeout: %+v", st)
	}
	// The producer of a is fenced.
	if code := h.addCode("a", pid, epoch, tp("t", 2)); code != kerr.ProducerFenced.Code {
		t.Fatalf("add by the timed-out producer: %d", code)
	}
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("commit by the timed-out producer: %d", code)
	}
}

func TestIdleIDsExpire(t *testing.T) {
	h := newHarness(t, Config{IDExpiration: time.Hour, RemoveExpiredInterval: time.Minute,
		AbortTimedOutInterval: 24 * time.Hour}, nil)
	h.begin("idle")
	pid, epoch := h.begin("busy")
	h.addCode("busy", pid, epoch, tp("t", 0))
	h.clock.Advance(30 * time.Minute)
	h.begin("recent")
	h.clock.Advance(31 * time.Minute)
	h.waitUntil("idle to expire", func() bool {
		return h.describe("idle").ErrorCode == kerr.TransactionalIDNotFound.Code
	})
	if s, found := h.log.last(t, "idle"); !found || s != nil {
		t.Fatalf("no tombstone for idle: %+v", s)
	}
	// An Ongoing id never expires; one used recently is kept.
	for _, id := range []string{"busy", "recent"} {
		if st := h.describe(id); st.ErrorCode != 0 {
			t.Fatalf("%s: %+v", id, st)
		}
	}
	// The tombstone wins on the next load too.
	h.c.Elect(0, 2, h.log)
	h.waitLoaded(0)
	if st := h.describe("idle"); st.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("idle after reload: %+v", st)
	}
	if st := h.describe("busy"); st.State != "Ongoing" {
		t.Fatalf("busy after reload: %+v", st)
	}
}

func TestRunStopsEverything(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	h.end("a", 3, pid, epoch, true)
	h.waitUntil("the markers to be sent", func() bool { return len(h.markers.callsSoFar()) == 1 })
	// Run returns only once the marker job, blocked on its write, ended.
	h.stop()
	if code := h.init("a", 5, -1, -1).ErrorCode; code != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("after Run: %d", code)
	}
}
