package txn

import (
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var testNow = time.UnixMilli(1_700_000_000_000)

func stateAt(state kmsg.TransactionState, producerID int64, epoch int16) txnState {
	s := txnState{producerID: producerID, previousProducerID: producerID, nextProducerID: -1, nextProducerEpoch: -1,
		producerEpoch: epoch, lastProducerEpoch: -1, timeout: time.Minute, state: state, lastUpdate: testNow.Add(-time.Hour)}
	if state != kmsg.TransactionStateEmpty {
		s.startTime = testNow.Add(-time.Hour)
		s.partitions = map[TopicPartition]struct{}{tp("t", 0): {}}
	}
	return s
}

func TestDecideInit(t *testing.T) {
	exhausted := int16(math.MaxInt16 - 1)
	tests := []struct {
		name      string
		s         txnState
		pending   bool
		expected  *producerIDAndEpoch
		newID     int64
		wantCode  int16
		wantState kmsg.TransactionState
		wantID    int64
		wantEpoch int16
		wantLast  int16
		needID    bool
	}{
		{name: "pending", s: stateAt(kmsg.TransactionStateEmpty, 5, 0), pending: true, wantCode: kerr.ConcurrentTransactions.Code},
		{name: "new id", s: stateAt(kmsg.TransactionStateEmpty, 5, -1), wantState: kmsg.TransactionStateEmpty, wantID: 5, wantEpoch: 0, wantLast: -1},
		{name: "bump", s: stateAt(kmsg.TransactionStateCompleteCommit, 5, 3), wantState: kmsg.TransactionStateEmpty, wantID: 5, wantEpoch: 4, wantLast: -1},
		{name: "prepare commit", s: stateAt(kmsg.TransactionStatePrepareCommit, 5, 3), wantCode: kerr.ConcurrentTransactions.Code},
		{name: "prepare abort", s: stateAt(kmsg.TransactionStatePrepareAbort, 5, 3), wantCode: kerr.ConcurrentTransactions.Code},
		{name: "ongoing is fenced", s: stateAt(kmsg.TransactionStateOngoing, 5, 3), wantState: kmsg.TransactionStatePrepareAbort, wantID: 5, wantEpoch: 4, wantLast: -1},
		{name: "exhausted asks for an id", s: stateAt(kmsg.TransactionStateEmpty, 5, exhausted), needID: true},
		{name: "exhausted rotates", s: stateAt(kmsg.TransactionStateEmpty, 5, exhausted), newID: 9,
			wantState: kmsg.TransactionStateEmpty, wantID: 9, wantEpoch: 0, wantLast: -1},
		{name: "KIP-360 current epoch", s: stateAt(kmsg.TransactionStateEmpty, 5, 3), expected: &producerIDAndEpoch{5, 3},
			wantState: kmsg.TransactionStateEmpty, wantID: 5, wantEpoch: 4, wantLast: 3},
		{name: "KIP-360 retry at previous epoch", s: func() txnState {
			s := stateAt(kmsg.TransactionStateEmpty, 5, 4)
			s.lastProducerEpoch = 3
			return s
		}(), expected: &producerIDAndEpoch{5, 3}, wantState: kmsg.TransactionStateEmpty, wantID: 5, wantEpoch: 4, wantLast: 3},
		{name: "KIP-360 old epoch", s: stateAt(kmsg.TransactionStateEmpty, 5, 4), expected: &producerIDAndEpoch{5, 1},
			wantCode: kerr.ProducerFenced.Code},
		{name: "KIP-360 other producer id", s: stateAt(kmsg.TransactionStateEmpty, 5, 4), expected: &producerIDAndEpoch{6, 4},
			wantCode: kerr.ProducerFenced.Code},
		{name: "KIP-360 exhausted rotates, remembering the epoch", s: stateAt(kmsg.TransactionStateEmpty, 5, exhausted),
			expected: &producerIDAndEpoch{5, exhausted}, newID: 9, wantState: kmsg.TransactionStateEmpty, wantID: 9, wantEpoch: 0, wantLast: exhausted},
		{name: "KIP-360 retry after rotation", s: func() txnState {
			s := stateAt(kmsg.TransactionStateEmpty, 9, 0)
			s.previousProducerID, s.lastProducerEpoch = 5, exhausted
			return s
		}(), expected: &producerIDAndEpoch{5, exhausted}, wantState: kmsg.TransactionStateEmpty, wantID: 9, wantEpoch: 0, wantLast: exhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newID := tt.newID
			if newID == 0 {
				newID = -1
			}
			d := decideInit(&tt.s, tt.pending, 2*time.Minute, tt.expected, newID, transactionVersion1, testNow)
			if d.needProducerID != tt.needID {
				t.Fatalf("needProducerID = %v, want %v", d.needProducerID, tt.needID)
			}
			if tt.needID {
				return
			}
			if d.next == nil {
				if d.code != tt.wantCode || tt.wantCode == 0 {
					t.Fatalf("answer %d without a transition, want code %d", d.code, tt.wantCode)
				}
				return
			}
			n := d.next
			if tt.wantCode != 0 || n.state != tt.wantState || n.producerID != tt.wantID || n.producerEpoch != tt.wantEpoch ||
				n.lastProducerEpoch != tt.wantLast {
				t.Fatalf("next = %v pid %d epoch %d last %d; want %v %d %d %d (code %d)", n.state, n.producerID,
					n.producerEpoch, n.lastProducerEpoch, tt.wantState, tt.wantID, tt.wantEpoch, tt.wantLast, tt.wantCode)
			}
			if n.state == kmsg.TransactionStateEmpty && (n.timeout != 2*time.Minute || len(n.partitions) != 0 || !n.startTime.IsZero()) {
				t.Fatalf("Empty keeps a transaction: %+v", n)
			}
		})
	}
}

func TestDecideAddPartitionsAndEndTxn(t *testing.T) {
	add := []TopicPartition{tp("t", 1)}
	ongoing := stateAt(kmsg.TransactionStateOngoing, 5, 2)
	tests := []struct {
		name string
		d    decision
		want int16 // -1: a transition
	}{
		{"add: wrong producer id", decideAddPartitions(&ongoing, false, 6, 2, add, 0, testNow), kerr.InvalidProducerIDMapping.Code},
		{"add: wrong epoch", decideAddPartitions(&ongoing, false, 5, 1, add, 0, testNow), kerr.ProducerFenced.Code},
		{"add: pending", decideAddPartitions(&ongoing, true, 5, 2, add, 0, testNow), kerr.ConcurrentTransactions.Code},
		{"add: already in", decideAddPartitions(&ongoing, false, 5, 2, []TopicPartition{tp("t", 0)}, 0, testNow), 0},
		{"add: new partition", decideAddPartitions(&ongoing, false, 5, 2, add, 0, testNow), -1},
		{"end: wrong epoch", decideEndTxn(&ongoing, false, endRequest{producerID: 5, epoch: 3, commit: true}, -1, testNow), kerr.ProducerFenced.Code},
		{"end: ongoing", decideEndTxn(&ongoing, false, endRequest{producerID: 5, epoch: 2, commit: true}, -1, testNow), -1},
	}
	for _, state := range []kmsg.TransactionState{kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort} {
		s := stateAt(state, 5, 2)
		tests = append(tests, struct {
			name string
			d    decision
			want int16
		}{"add: " + state.String(), decideAddPartitions(&s, false, 5, 2, add, 0, testNow), kerr.ConcurrentTransactions.Code})
	}
	endCases := []struct {
		state  kmsg.TransactionState
		commit bool
		want   int16
	}{
		{kmsg.TransactionStateCompleteCommit, true, 0},
		{kmsg.TransactionStateCompleteCommit, false, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateCompleteAbort, false, 0},
		{kmsg.TransactionStateCompleteAbort, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStatePrepareCommit, true, kerr.ConcurrentTransactions.Code},
		{kmsg.TransactionStatePrepareCommit, false, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStatePrepareAbort, false, kerr.ConcurrentTransactions.Code},
		{kmsg.TransactionStatePrepareAbort, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateEmpty, true, kerr.InvalidTxnState.Code},
		{kmsg.TransactionStateEmpty, false, kerr.InvalidTxnState.Code},
	}
	for _, c := range endCases {
		s := stateAt(c.state, 5, 2)
		tests = append(tests, struct {
			name string
			d    decision
			want int16
		}{"end: " + c.state.String(), decideEndTxn(&s, false, endRequest{producerID: 5, epoch: 2, commit: c.commit}, -1, testNow), c.want})
	}
	for _, tt := range tests {
		if tt.want == -1 {
			if tt.d.next == nil {
				t.Errorf("%s: answered %d, want a transition", tt.name, tt.d.code)
			}
			continue
		}
		if tt.d.next != nil || tt.d.code != tt.want {
			t.Errorf("%s: next %v code %d, want code %d", tt.name, tt.d.next != nil, tt.d.code, tt.want)
		}
	}
}

func TestTransitionsKeepTheirInputs(t *testing.T) {
	s := stateAt(kmsg.TransactionStateOngoing, 5, 2)
	d := decideAddPartitions(&s, false, 5, 2, []TopicPartition{tp("u", 3)}, 0, testNow)
	if len(s.partitions) != 1 || len(d.next.partitions) != 2 || !d.next.startTime.Equal(s.startTime) {
		t.Fatalf("add to Ongoing: before %v after %v", s.partitions, d.next.partitions)
	}
	empty := stateAt(kmsg.TransactionStateCompleteAbort, 5, 2)
	d = decideAddPartitions(&empty, false, 5, 2, []TopicPartition{tp("u", 3)}, 0, testNow)
	if !d.next.startTime.Equal(testNow) || d.next.state != kmsg.TransactionStateOngoing {
		t.Fatalf("a new transaction starts now: %+v", d.next)
	}
	f := fence(&s, transactionVersion1, -1, testNow)
	delete(f.partitions, tp("t", 0))
	if len(s.partitions) != 1 {
		t.Fatal("fence shares its partitions with the state it left")
	}
	top := stateAt(kmsg.TransactionStateOngoing, 5, math.MaxInt16)
	if f := fence(&top, transactionVersion1, -1, testNow); f.producerEpoch != math.MaxInt16 {
		t.Fatalf("fence overflowed the epoch: %d", f.producerEpoch)
	}
	prepared := stateAt(kmsg.TransactionStatePrepareCommit, 5, 2)
	c := complete(&prepared, testNow)
	if c.state != kmsg.TransactionStateCompleteCommit || c.partitions != nil || c.producerEpoch != 2 {
		t.Fatalf("complete: %+v", c)
	}
}
