package txn

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transaction version 2 (KIP-890 part 2): partitions added by their
// leaders (AddPartitionsToTxn v5), an epoch bump on every EndTxn v5.

// addV5 adds partitions as a partition leader does for a producer of
// transaction version 2 (AddPartitionsToTxn v5, not VerifyOnly) and returns
// the one code every partition got.
func (h *harness) addV5(id string, producerID int64, epoch int16, tps ...TopicPartition) int16 {
	h.t.Helper()
	return h.addV5Ctx(context.Background(), id, producerID, epoch, tps...)
}

func (h *harness) addV5Ctx(ctx context.Context, id string, producerID int64, epoch int16, tps ...TopicPartition) int16 {
	h.t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 5
	rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
	rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch = id, producerID, epoch
	for _, tps := range byTopic(tps) {
		topic := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		topic.Topic = tps[0].Topic
		for _, tp := range tps {
			topic.Partitions = append(topic.Partitions, tp.Partition)
		}
		rt.Topics = append(rt.Topics, topic)
	}
	req.Transactions = append(req.Transactions, rt)
	resp := h.c.Handle(ctx, req).(*kmsg.AddPartitionsToTxnResponse)
	code := int16(-100)
	for _, topic := range resp.Transactions[0].Topics {
		for _, p := range topic.Partitions {
			if code != -100 && p.ErrorCode != code {
				h.t.Fatalf("partitions answered different codes: %+v", resp.Transactions)
			}
			code = p.ErrorCode
		}
	}
	return code
}

// endOK ends id's transaction with EndTxn v5 and returns the producer id
// and epoch the client continues with.
func (h *harness) endOK(id string, producerID int64, epoch int16, commit bool) (int64, int16) {
	h.t.Helper()
	resp := h.end(id, 5, producerID, epoch, commit)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("EndTxn v5 (%d/%d, commit %v): %v", producerID, epoch, commit, kerr.ErrorForCode(resp.ErrorCode))
	}
	return resp.ProducerID, resp.ProducerEpoch
}

func TestEndTxnV2BumpsEpochOnCommitAndAbort(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 2}, nil)
	pid, epoch := h.begin("a")
	if code := h.addV5("a", pid, epoch, tp("t", 0), tp("t", 1)); code != 0 {
		t.Fatalf("add: %v", kerr.ErrorForCode(code))
	}
	if s, _ := h.log.last(t, "a"); s.state != kmsg.TransactionStateOngoing || s.clientTransactionVersion != 2 {
		t.Fatalf("logged %+v", s)
	}
	if gotPID, gotEpoch := h.endOK("a", pid, epoch, true); gotPID != pid || gotEpoch != epoch+1 {
		t.Fatalf("commit answered %d/%d, want %d/%d", gotPID, gotEpoch, pid, epoch+1)
	}
	if st := h.waitState("a", kmsg.TransactionStateCompleteCommit); st.ProducerEpoch != epoch+1 {
		t.Fatalf("completed at epoch %d", st.ProducerEpoch)
	}
	calls := h.markers.callsSoFar()
	if len(calls) != 1 || !calls[0].Commit || calls[0].ProducerEpoch != epoch+1 || calls[0].TransactionVersion != 2 ||
		!slices.Equal(calls[0].Partitions, []TopicPartition{tp("t", 0), tp("t", 1)}) {
		t.Fatalf("markers: %+v", calls)
	}

	// Retries carry the epoch before the bump: the same result is
	// answered again with the bumped epoch, the other one is refused.
	if gotPID, gotEpoch := h.endOK("a", pid, epoch, true); gotPID != pid || gotEpoch != epoch+1 {
		t.Fatalf("retried commit answered %d/%d", gotPID, gotEpoch)
	}
	for _, tt := range []struct {
		name   string
		epoch  int16
		commit bool
		want   int16
	}{
		{"abort retrying the commit", epoch, false, kerr.InvalidTxnState.Code},
		{"commit of nothing", epoch + 1, true, kerr.InvalidTxnState.Code},
		{"epoch from before the last", epoch - 1, true, kerr.ProducerFenced.Code},
		{"epoch never handed out", epoch + 2, false, kerr.ProducerFenced.Code},
	} {
		if resp := h.end("a", 5, pid, tt.epoch, tt.commit); resp.ErrorCode != tt.want || resp.ProducerID != -1 {
			t.Errorf("%s: %+v, want code %d", tt.name, resp, tt.want)
		}
	}

	// Several transactions in a row, each at the epoch the last returned.
	epoch++
	for i, commit := range []bool{false, true, true, false} {
		if code := h.addV5("a", pid, epoch, tp("t", int32(i))); code != 0 {
			t.Fatalf("transaction %d: add: %v", i, kerr.ErrorForCode(code))
		}
		_, next := h.endOK("a", pid, epoch, commit)
		if next != epoch+1 {
			t.Fatalf("transaction %d ended at %d, want %d", i, next, epoch+1)
		}
		want := kmsg.TransactionStateCompleteAbort
		if commit {
			want = kmsg.TransactionStateCompleteCommit
		}
		h.waitState("a", want)
		if last := h.markers.callsSoFar(); last[len(last)-1].ProducerEpoch != next || last[len(last)-1].Commit != commit {
			t.Fatalf("transaction %d markers: %+v", i, last[len(last)-1])
		}
		epoch = next
	}

	// An abort needs no transaction: it only bumps the epoch, and no
	// marker is written.
	calls = h.markers.callsSoFar()
	if _, next := h.endOK("a", pid, epoch, false); next != epoch+1 {
		t.Fatalf("empty abort ended at %d, want %d", next, epoch+1)
	}
	if st := h.waitState("a", kmsg.TransactionStateCompleteAbort); st.ProducerEpoch != epoch+1 {
		t.Fatalf("empty abort completed at %d", st.ProducerEpoch)
	}
	if len(h.markers.callsSoFar()) != len(calls) {
		t.Fatalf("markers written for an empty abort: %+v", h.markers.callsSoFar()[len(calls):])
	}
}

func TestEndTxnV2FromEmpty(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 2}, nil)
	pid, epoch := h.begin("a")
	if code := h.end("a", 5, pid, epoch, true).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("commit from Empty: %v", kerr.ErrorForCode(code))
	}
	if code := h.end("a", 5, pid, epoch-1, false).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("abort from Empty at the previous epoch: %v", kerr.ErrorForCode(code))
	}
	if _, next := h.endOK("a", pid, epoch, false); next != epoch+1 {
		t.Fatalf("abort from Empty ended at %d", next)
	}
	h.waitState("a", kmsg.TransactionStateCompleteAbort)
	// A retry of it succeeds; a commit retrying it cannot.
	if _, next := h.endOK("a", pid, epoch, false); next != epoch+1 {
		t.Fatalf("retried abort answered epoch %d", next)
	}
	if code := h.end("a", 5, pid, epoch, true).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("commit retrying an abort: %v", kerr.ErrorForCode(code))
	}
}

func TestEndTxnV2WhilePreparing(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 2}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addV5("a", pid, epoch, tp("t", 0))
	h.endOK("a", pid, epoch, true)
	if st := h.describe("a"); st.State != "PrepareCommit" || st.ProducerEpoch != epoch+1 {
		t.Fatalf("answered before PrepareCommit: %+v", st)
	}
	for _, tt := range []struct {
		name   string
		epoch  int16
		commit bool
		want   int16
	}{
		{"commit retried", epoch, true, kerr.ConcurrentTransactions.Code},
		{"abort retrying the commit", epoch, false, kerr.InvalidTxnState.Code},
		{"the next transaction's abort", epoch + 1, false, kerr.ProducerFenced.Code},
	} {
		if code := h.end("a", 5, pid, tt.epoch, tt.commit).ErrorCode; code != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, kerr.ErrorForCode(code), kerr.ErrorForCode(tt.want))
		}
	}
	// The next transaction's first partition waits for the markers; an
	// add whose context ends first is told to retry.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if code := h.addV5Ctx(ended, "a", pid, epoch+1, tp("t", 1)); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("add while committing, out of time: %v", kerr.ErrorForCode(code))
	}
	added := make(chan int16, 1)
	go func() { added <- h.addV5("a", pid, epoch+1, tp("t", 1)) }()
	h.waitUntil("the add to wait for the markers", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		return h.c.mu.partitions[0].txns["a"].settled != nil
	})
	close(hold)
	if code := <-added; code != 0 {
		t.Fatalf("add waiting for the commit: %v", kerr.ErrorForCode(code))
	}
	if st := h.describe("a"); st.State != "Ongoing" || st.ProducerEpoch != epoch+1 {
		t.Fatalf("after the add: %+v", st)
	}
	// Adds from clients (version 1) are answered at once.
	holdAbort := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = holdAbort })
	h.endOK("a", pid, epoch+1, false)
	if code := h.addCode("a", pid, epoch+2, tp("t", 2)); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("client add while aborting: %v", kerr.ErrorForCode(code))
	}
	close(holdAbort)
	h.waitState("a", kmsg.TransactionStateCompleteAbort)
}

// ongoingV2 is an Ongoing transaction of version 2 of producer 5 at epoch.
func ongoingV2(epoch int16) txnState {
	s := stateAt(kmsg.TransactionStateOngoing, 5, epoch)
	s.clientTransactionVersion = 2
	return s
}

func TestEndTxnV2EpochExhaustedMovesToNewProducerID(t *testing.T) {
	const last = math.MaxInt16 - 1
	log := &fakeLog{}
	s := ongoingV2(last)
	log.put("a", &s)
	h := newHarness(t, Config{TransactionVersion: 2}, log)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	newPID, epoch := h.endOK("a", 5, last, true)
	if newPID != 1000 || epoch != 0 {
		t.Fatalf("commit at the last epoch answered %d/%d, want 1000/0", newPID, epoch)
	}
	prepared, _ := h.log.last(t, "a")
	if prepared.state != kmsg.TransactionStatePrepareCommit || prepared.producerID != 5 ||
		prepared.producerEpoch != math.MaxInt16 || prepared.nextProducerID != 1000 {
		t.Fatalf("prepare logged %+v", prepared)
	}
	// Until the markers are written, the new producer id waits.
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if code := h.addV5Ctx(ended, "a", newPID, 0, tp("t", 1)); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("add by the new producer id while committing: %v", kerr.ErrorForCode(code))
	}
	close(hold)
	st := h.waitState("a", kmsg.TransactionStateCompleteCommit)
	if st.ProducerID != newPID || st.ProducerEpoch != 0 {
		t.Fatalf("completed as %d/%d", st.ProducerID, st.ProducerEpoch)
	}
	if calls := h.markers.callsSoFar(); len(calls) != 1 || calls[0].ProducerID != 5 || calls[0].ProducerEpoch != math.MaxInt16 {
		t.Fatalf("markers: %+v", calls)
	}
	if done, _ := h.log.last(t, "a"); done.previousProducerID != 5 || done.nextProducerID != -1 {
		t.Fatalf("completion logged %+v", done)
	}
	// A retry with the old producer id learns the new one.
	if gotPID, gotEpoch := h.endOK("a", 5, last, true); gotPID != newPID || gotEpoch != 0 {
		t.Fatalf("retried commit answered %d/%d", gotPID, gotEpoch)
	}
	if code := h.end("a", 5, 5, last, false).ErrorCode; code != kerr.InvalidTxnState.Code {
		t.Fatalf("abort retrying the commit: %v", kerr.ErrorForCode(code))
	}
	if code := h.addV5("a", newPID, 0, tp("t", 1)); code != 0 {
		t.Fatalf("add by the new producer id: %v", kerr.ErrorForCode(code))
	}
	if gotPID, gotEpoch := h.endOK("a", newPID, 0, true); gotPID != newPID || gotEpoch != 1 {
		t.Fatalf("next commit answered %d/%d", gotPID, gotEpoch)
	}
}

func TestEndTxnV1ClientOnVersion2Cluster(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 2}, nil)
	pid, epoch := h.begin("a")
	for i := range 2 {
		h.addCode("a", pid, epoch, tp("t", 0))
		if resp := h.end("a", 4, pid, epoch, true); resp.ErrorCode != 0 || resp.ProducerEpoch != epoch {
			t.Fatalf("commit %d: %+v", i, resp)
		}
		h.waitState("a", kmsg.TransactionStateCompleteCommit)
	}
	for _, m := range h.markers.callsSoFar() {
		if m.ProducerEpoch != epoch || m.TransactionVersion != 0 {
			t.Fatalf("markers of a version 1 client: %+v", m)
		}
	}
	if s, _ := h.log.last(t, "a"); s.producerEpoch != epoch || s.clientTransactionVersion != 0 {
		t.Fatalf("logged %+v", s)
	}
}

func TestFenceAtVersion2(t *testing.T) {
	h := newHarness(t, Config{TransactionVersion: 2}, nil)
	pid, epoch := h.begin("a")
	h.addV5("a", pid, epoch, tp("t", 0))
	if code := h.init("a", 5, -1, -1).ErrorCode; code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("fencing init: %v", kerr.ErrorForCode(code))
	}
	// The fence bumps, and the abort of version 2 bumps again.
	if st := h.waitState("a", kmsg.TransactionStateCompleteAbort); st.ProducerEpoch != epoch+2 {
		t.Fatalf("aborted at epoch %d, want %d", st.ProducerEpoch, epoch+2)
	}
	if calls := h.markers.callsSoFar(); len(calls) != 1 || calls[0].ProducerEpoch != epoch+2 || calls[0].TransactionVersion != 2 {
		t.Fatalf("markers: %+v", calls)
	}
	if code := h.end("a", 5, pid, epoch, false).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("fenced producer's abort: %v", kerr.ErrorForCode(code))
	}
	if pid2, epoch2 := h.begin("a"); pid2 != pid || epoch2 != epoch+3 {
		t.Fatalf("new producer: %d/%d, want %d/%d", pid2, epoch2, pid, epoch+3)
	}
	// The fenced producer cannot come back as a retry.
	if code := h.init("a", 5, pid, epoch).ErrorCode; code != kerr.ProducerFenced.Code {
		t.Fatalf("fenced producer's InitProducerId: %v", kerr.ErrorForCode(code))
	}
}

func TestTimeoutAtExhaustedEpochMovesToNewProducerID(t *testing.T) {
	const last = math.MaxInt16 - 1
	log := &fakeLog{}
	s := ongoingV2(last)
	log.put("a", &s)
	log.put("b", &s)
	h := newHarness(t, Config{TransactionVersion: 2, AbortTimedOutInterval: 10 * time.Second}, log)
	h.clock.Advance(10 * time.Second)
	for _, id := range []string{"a", "b"} {
		st := h.waitState(id, kmsg.TransactionStateCompleteAbort)
		if st.ProducerID < 1000 || st.ProducerEpoch != 0 {
			t.Fatalf("%s: aborted as %d/%d, want a new producer id at 0", id, st.ProducerID, st.ProducerEpoch)
		}
	}
	for _, m := range h.markers.callsSoFar() {
		if m.ProducerID != 5 || m.ProducerEpoch != math.MaxInt16 || m.Commit {
			t.Fatalf("markers: %+v", m)
		}
	}
	// The producer's late abort, and its InitProducerId, learn the new
	// producer id.
	stA := h.describe("a")
	if gotPID, gotEpoch := h.endOK("a", 5, last, false); gotPID != stA.ProducerID || gotEpoch != 0 {
		t.Fatalf("late abort answered %d/%d", gotPID, gotEpoch)
	}
	stB := h.describe("b")
	if resp := h.init("b", 5, 5, last); resp.ErrorCode != 0 || resp.ProducerID != stB.ProducerID || resp.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId with the old producer id: %+v", resp)
	}
}

// TestDecideEndTxnV2 is Kafka's table of EndTxn at version 2 on idle
// states, with retries at the epoch before the current one.
func TestDecideEndTxnV2(t *testing.T) {
	const none, bump = int16(0), int16(-1)
	tests := []struct {
		state  kmsg.TransactionState
		retry  bool
		commit bool
		want   int16
	}{
		{kmsg.TransactionStateEmpty, true, false, kerr.ProducerFenced.Code},
		{kmsg.TransactionStateEmpty, false, false, bump},
		{kmsg.TransactionStateEmpty, true, true, kerr.ProducerFenced.Code},
		{kmsg.TransactionStateEmpty, false, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateCompleteAbort, true, false, none},
		{kmsg.TransactionStateCompleteAbort, false, false, bump},
		{kmsg.TransactionStateCompleteAbort, true, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateCompleteAbort, false, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateCompleteCommit, true, false, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateCompleteCommit, false, false, bump},
		{kmsg.TransactionStateCompleteCommit, true, true, none},
		{kmsg.TransactionStateCompleteCommit, false, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateOngoing, false, true, bump},
		{kmsg.TransactionStateOngoing, true, true, kerr.ProducerFenced.Code},
		{kmsg.TransactionStatePrepareCommit, true, true, kerr.ConcurrentTransactions.Code},
		{kmsg.TransactionStatePrepareCommit, false, true, kerr.ProducerFenced.Code},
		{kmsg.TransactionStatePrepareAbort, true, true, kerr.InvalidTxnState.Code},
	}
	for _, tt := range tests {
		s := stateAt(tt.state, 5, 7)
		epoch := int16(7)
		if tt.retry {
			epoch = 6
		}
		d := decideEndTxn(&s, false, endRequest{producerID: 5, epoch: epoch, commit: tt.commit, version: 2}, -1, testNow)
		switch {
		case tt.want == bump && (d.next == nil || d.next.producerEpoch != 8 || d.next.lastProducerEpoch != 7):
			t.Errorf("%v retry=%v commit=%v: %+v, want a transition at epoch 8", tt.state, tt.retry, tt.commit, d)
		case tt.want != bump && (d.next != nil || d.code != tt.want):
			t.Errorf("%v retry=%v commit=%v: next %v code %d, want code %d", tt.state, tt.retry, tt.commit,
				d.next != nil, d.code, tt.want)
		}
	}
	s := stateAt(kmsg.TransactionStateOngoing, 5, 7)
	if d := decideEndTxn(&s, true, endRequest{producerID: 5, epoch: 7, commit: true, version: 2}, -1, testNow); d.code != kerr.ConcurrentTransactions.Code {
		t.Errorf("pending: %+v", d)
	}
	if d := decideEndTxn(&s, false, endRequest{producerID: 6, epoch: 7, commit: true, version: 2}, -1, testNow); d.code != kerr.InvalidProducerIDMapping.Code {
		t.Errorf("other producer id: %+v", d)
	}
}

// TestLoadCompletesVersion2Rotation: a PrepareCommit of version 2 that
// names a next producer id, left by a previous coordinator, completes as it
// would have: markers at the last epoch, then the new producer id at 0.
func TestLoadCompletesVersion2Rotation(t *testing.T) {
	log := &fakeLog{}
	s := stateAt(kmsg.TransactionStatePrepareCommit, 5, math.MaxInt16)
	s.clientTransactionVersion, s.nextProducerID = 2, 77
	log.put("a", &s)
	h := newHarness(t, Config{TransactionVersion: 2}, log)
	st := h.waitState("a", kmsg.TransactionStateCompleteCommit)
	if st.ProducerID != 77 || st.ProducerEpoch != 0 {
		t.Fatalf("completed as %d/%d, want 77/0", st.ProducerID, st.ProducerEpoch)
	}
	if calls := h.markers.callsSoFar(); len(calls) != 1 || calls[0].ProducerID != 5 ||
		calls[0].ProducerEpoch != math.MaxInt16 || calls[0].TransactionVersion != 2 {
		t.Fatalf("markers: %+v", calls)
	}
}
