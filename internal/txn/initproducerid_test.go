package txn

import (
	"context"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestInitProducerIDNewAndBump(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	if pid != 1000 || epoch != 0 {
		t.Fatalf("new id: %d/%d, want 1000/0", pid, epoch)
	}
	if s, _ := h.log.last(t, "a"); s == nil || s.state != kmsg.TransactionStateEmpty || s.producerEpoch != 0 {
		t.Fatalf("logged %+v", s)
	}
	if pid, epoch = h.begin("a"); pid != 1000 || epoch != 1 {
		t.Fatalf("again: %d/%d, want 1000/1", pid, epoch)
	}
	// Without a transactional id: an idempotent producer.
	req := kmsg.NewPtrInitProducerIDRequest()
	resp := h.c.Handle(context.Background(), req).(*kmsg.InitProducerIDResponse)
	if resp.ErrorCode != 0 || resp.ProducerID != 1001 || resp.ProducerEpoch != 0 {
		t.Fatalf("idempotent: %+v", resp)
	}
}

func TestInitProducerIDValidation(t *testing.T) {
	h := newHarness(t, Config{MaxTimeout: 60_000_000_000}, nil)
	req := func(id string, timeoutMs int32, pid int64, epoch int16) int16 {
		r := kmsg.NewPtrInitProducerIDRequest()
		r.Version, r.TransactionalID, r.TransactionTimeoutMillis, r.ProducerID, r.ProducerEpoch = 5, &id, timeoutMs, pid, epoch
		return h.c.Handle(context.Background(), r).(*kmsg.InitProducerIDResponse).ErrorCode
	}
	for _, tt := range []struct {
		name      string
		id        string
		timeoutMs int32
		pid       int64
		epoch     int16
		want      int16
	}{
		{"empty id", "", 1000, -1, -1, kerr.InvalidRequest.Code},
		{"zero timeout", "a", 0, -1, -1, kerr.InvalidTransactionTimeout.Code},
		{"timeout over the maximum", "a", 60_001, -1, -1, kerr.InvalidTransactionTimeout.Code},
		{"epoch without producer id", "a", 1000, -1, 3, kerr.InvalidRequest.Code},
		{"producer id without epoch", "a", 1000, 7, -1, kerr.InvalidRequest.Code},
		{"the maximum", "a", 60_000, -1, -1, 0},
	} {
		if got := req(tt.id, tt.timeoutMs, tt.pid, tt.epoch); got != tt.want {
			t.Errorf("%s: code %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestInitProducerIDFencesOngoing(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 1}, nil)
	pid, epoch := h.begin("a")
	if code := h.addCode("a", pid, epoch, tp("t", 0), tp("t", 1)); code != 0 {
		t.Fatalf("add: %d", code)
	}
	// A second producer with the same id: the first one's transaction is
	// aborted at a bumped epoch, and the new one is told to retry.
	if resp := h.init("a", 5, -1, -1); resp.ErrorCode != kerr.ConcurrentTransactions.Code || resp.ProducerID != -1 {
		t.Fatalf("fencing init: %+v", resp)
	}
	st := h.waitState("a", kmsg.TransactionStateCompleteAbort)
	if st.ProducerEpoch != 1 {
		t.Fatalf("aborted at epoch %d, want 1", st.ProducerEpoch)
	}
	calls := h.markers.callsSoFar()
	if len(calls) != 1 || calls[0].Commit || calls[0].ProducerEpoch != 1 || len(calls[0].Partitions) != 2 ||
		calls[0].CoordinatorEpoch != 1 || calls[0].TransactionVersion != 1 {
		t.Fatalf("markers: %+v", calls)
	}
	// The fenced producer is refused; the new one gets the next epoch.
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("fenced EndTxn v3: %d", code)
	}
	if code := h.end("a", 1, pid, epoch, true).ErrorCode; code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced EndTxn v1: %d", code)
	}
	if pid2, epoch2 := h.begin("a"); pid2 != pid || epoch2 != 2 {
		t.Fatalf("retry: %d/%d, want %d/2", pid2, epoch2, pid)
	}
}

func TestInitProducerIDRecovery(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, _ := h.begin("a")
	// KIP-360: the producer recovers at its current epoch...
	if resp := h.init("a", 5, pid, 0); resp.ErrorCode != 0 || resp.ProducerID != pid || resp.ProducerEpoch != 1 {
		t.Fatalf("recover: %+v", resp)
	}
	// ...and its retry gets the same answer rather than a second bump.
	if resp := h.init("a", 5, pid, 0); resp.ErrorCode != 0 || resp.ProducerEpoch != 1 {
		t.Fatalf("retry: %+v", resp)
	}
	if resp := h.init("a", 5, pid, 1); resp.ErrorCode != 0 || resp.ProducerEpoch != 2 {
		t.Fatalf("recover again: %+v", resp)
	}
	for _, tt := range []struct {
		name    string
		version int16
		pid     int64
		epoch   int16
		want    int16
	}{
		{"an older epoch", 5, pid, 0, kerr.ProducerFenced.Code},
		{"another producer id", 5, pid + 7, 2, kerr.ProducerFenced.Code},
		{"v3 gets the old code", 3, pid, 0, kerr.InvalidProducerEpoch.Code},
	} {
		if resp := h.init("a", tt.version, tt.pid, tt.epoch); resp.ErrorCode != tt.want {
			t.Errorf("%s: code %d, want %d", tt.name, resp.ErrorCode, tt.want)
		}
	}
}

func TestInitProducerIDEpochExhaustion(t *testing.T) {
	log := &fakeLog{}
	exhausted := stateAt(kmsg.TransactionStateCompleteCommit, 77, math.MaxInt16-1)
	log.put("a", &exhausted)
	log.put("b", &exhausted)
	h := newHarness(t, Config{}, log)
	// The epochs of producer id 77 are used up: a new producer id.
	if pid, epoch := h.begin("a"); pid != 1000 || epoch != 0 {
		t.Fatalf("rotation: %d/%d, want 1000/0", pid, epoch)
	}
	// KIP-360 at the exhausted epoch rotates too, and a retry of it (the
	// client never saw the answer) gets the same producer id.
	first := h.init("b", 5, 77, math.MaxInt16-1)
	if s, _ := log.last(t, "b"); s.producerID != 1001 || s.previousProducerID != 77 {
		t.Fatalf("logged %+v", s)
	}
	retry := h.init("b", 5, 77, math.MaxInt16-1)
	if first.ErrorCode != 0 || first.ProducerID != 1001 || first.ProducerEpoch != 0 || retry.ErrorCode != 0 ||
		retry.ProducerID != 1001 || retry.ProducerEpoch != 0 {
		t.Fatalf("rotation with KIP-360: %+v then %+v", first, retry)
	}
}

func TestInitProducerIDFailedWrite(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	h.log.set(func(l *fakeLog) { l.durableErr = kerr.NotEnoughReplicas })
	if resp := h.init("a", 5, -1, -1); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("first init: %+v", resp)
	}
	// The id was never durable: it does not exist.
	if st := h.describe("a"); st.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("describe: %+v", st)
	}
	h.log.set(func(l *fakeLog) { l.durableErr = nil })
	pid, epoch := h.begin("a")
	h.log.set(func(l *fakeLog) { l.appendErr = kerr.NotLeaderForPartition })
	if resp := h.init("a", 5, -1, -1); resp.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("init on a lost leader: %+v", resp)
	}
	if st := h.describe("a"); st.ProducerID != pid || st.ProducerEpoch != epoch || st.State != "Empty" {
		t.Fatalf("state changed by a failed write: %+v", st)
	}
}

func TestInitProducerIDNotServed(t *testing.T) {
	h := newHarness(t, Config{NumPartitions: 2}, nil)
	other := "a"
	for h.c.PartitionFor(other) == 0 {
		other += "a"
	}
	if resp := h.init(other, 5, -1, -1); resp.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("id of another coordinator: %+v", resp)
	}
	if st := h.describe(other); st.ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("describe: %+v", st)
	}
	loading := &fakeLog{loadHold: make(chan struct{})}
	h.c.Elect(1, 4, loading)
	if resp := h.init(other, 5, -1, -1); resp.ErrorCode != kerr.CoordinatorLoadInProgress.Code {
		t.Fatalf("while loading: %+v", resp)
	}
	close(loading.loadHold)
	h.waitLoaded(1)
	if resp := h.init(other, 5, -1, -1); resp.ErrorCode != 0 {
		t.Fatalf("after loading: %+v", resp)
	}
}
