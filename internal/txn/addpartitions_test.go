package txn

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAddPartitionsToTxn(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
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
		{"other epoch", "a", 3, pid, epoch + 1, kerr.ProducerFenced.Code},
		{"other epoch, v1", "a", 1, pid, epoch + 1, kerr.InvalidProducerEpoch.Code},
	} {
		if got := oneCode(t, h.add(tt.id, tt.version, tt.pid, tt.epoch, tp("t", 0))); got != tt.want {
			t.Errorf("%s: code %d, want %d", tt.name, got, tt.want)
		}
	}
	if code := h.addCode("a", pid, epoch, tp("t", 0), tp("t", 1), tp("t", 0)); code != 0 {
		t.Fatalf("add: %d", code)
	}
	st := h.describe("a")
	if st.State != "Ongoing" || len(st.Topics) != 1 || len(st.Topics[0].Partitions) != 2 || st.StartTimestamp != h.clock.Now().UnixMilli() {
		t.Fatalf("after add: %+v", st)
	}
	// Partitions already in the transaction: answered without a write.
	records := h.log.len()
	if code := h.addCode("a", pid, epoch, tp("t", 1)); code != 0 || h.log.len() != records {
		t.Fatalf("re-add: code %d, %d records after %d", code, h.log.len(), records)
	}
	if code := h.addCode("a", pid, epoch, tp("u", 0)); code != 0 || h.log.len() != records+1 {
		t.Fatalf("add another topic: code %d", code)
	}
	if s, _ := h.log.last(t, "a"); len(s.partitions) != 3 || s.state != kmsg.TransactionStateOngoing {
		t.Fatalf("logged %+v", s)
	}
}

func TestAddPartitionsToTxnUnknownPartition(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	h.known = map[TopicPartition]bool{tp("t", 0): true}
	resp := h.add("a", 3, pid, epoch, tp("t", 0), tp("gone", 0))
	codes := map[TopicPartition]int16{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			codes[tp(rt.Topic, p.Partition)] = p.ErrorCode
		}
	}
	if codes[tp("t", 0)] != kerr.OperationNotAttempted.Code || codes[tp("gone", 0)] != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("codes: %v", codes)
	}
	if st := h.describe("a"); st.State != "Empty" {
		t.Fatalf("the transaction changed: %+v", st)
	}
}

func TestAddPartitionsToTxnWhilePreparing(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	hold := make(chan struct{})
	h.markers.set(func(f *fakeMarkers) { f.hold = hold })
	pid, epoch := h.begin("a")
	h.addCode("a", pid, epoch, tp("t", 0))
	if code := h.end("a", 3, pid, epoch, true).ErrorCode; code != 0 {
		t.Fatalf("end: %d", code)
	}
	if code := h.addCode("a", pid, epoch, tp("t", 1)); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("add while PrepareCommit: %d", code)
	}
	close(hold)
	h.waitState("a", kmsg.TransactionStateCompleteCommit)
	// The next transaction starts from CompleteCommit.
	if code := h.addCode("a", pid, epoch, tp("t", 1)); code != 0 {
		t.Fatalf("add after commit: %d", code)
	}
}

func TestAddPartitionsToTxnConcurrentWrite(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	hold := make(chan struct{})
	h.log.set(func(l *fakeLog) { l.hold = hold })
	done := make(chan int16)
	go func() { done <- h.addCode("a", pid, epoch, tp("t", 0)) }()
	h.waitUntil("the first add's write", func() bool { return h.log.len() == 2 })
	if code := h.addCode("a", pid, epoch, tp("t", 1)); code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("second add: %d", code)
	}
	if code := h.end("a", 3, pid, epoch, false).ErrorCode; code != kerr.ConcurrentTransactions.Code {
		t.Fatalf("end during the add: %d", code)
	}
	close(hold)
	if code := <-done; code != 0 {
		t.Fatalf("first add: %d", code)
	}
}

func TestAddPartitionsToTxnBatchAndVerify(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pa, ea := h.begin("a")
	pb, eb := h.begin("b")
	h.addCode("b", pb, eb, tp("t", 0))
	batches := h.log.batchCount()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4
	txn := func(id string, pid int64, epoch int16, verify bool, tps ...TopicPartition) {
		rt := kmsg.NewAddPartitionsToTxnRequestTransaction()
		rt.TransactionalID, rt.ProducerID, rt.ProducerEpoch, rt.VerifyOnly = id, pid, epoch, verify
		for _, tp := range tps {
			topic := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
			topic.Topic, topic.Partitions = tp.Topic, []int32{tp.Partition}
			rt.Topics = append(rt.Topics, topic)
		}
		req.Transactions = append(req.Transactions, rt)
	}
	txn("a", pa, ea, false, tp("t", 3))
	txn("b", pb, eb, true, tp("t", 0), tp("t", 9))
	txn("b", pb, eb+1, true, tp("t", 0))
	txn("c", 1, 0, true, tp("t", 0))
	resp := h.c.Handle(context.Background(), req).(*kmsg.AddPartitionsToTxnResponse)
	var got []string
	for _, rt := range resp.Transactions {
		for _, topic := range rt.Topics {
			for _, p := range topic.Partitions {
				got = append(got, fmt.Sprintf("%s/%s-%d:%d", rt.TransactionalID, topic.Topic, p.Partition, p.ErrorCode))
			}
		}
	}
	want := []string{
		"a/t-3:0",
		"b/t-0:0", // in the transaction
		fmt.Sprintf("b/t-9:%d", kerr.TransactionAbortable.Code),
		fmt.Sprintf("b/t-0:%d", kerr.ProducerFenced.Code),
		fmt.Sprintf("c/t-0:%d", kerr.InvalidProducerIDMapping.Code),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	if n := h.log.batchCount(); n != batches+1 {
		t.Fatalf("%d appends, want 1", n-batches)
	}
}

func TestAddOffsetsToTxn(t *testing.T) {
	h := newHarness(t, Config{}, nil)
	pid, epoch := h.begin("a")
	req := kmsg.NewPtrAddOffsetsToTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = 3, "a", pid, epoch, "g"
	if resp := h.c.Handle(context.Background(), req).(*kmsg.AddOffsetsToTxnResponse); resp.ErrorCode != 0 {
		t.Fatalf("add offsets: %d", resp.ErrorCode)
	}
	st := h.describe("a")
	if st.State != "Ongoing" || st.Topics[0].Topic != "__consumer_offsets" || st.Topics[0].Partitions[0] != 7 {
		t.Fatalf("after AddOffsetsToTxn: %+v", st)
	}
	req.Version, req.ProducerEpoch = 1, epoch+1
	if resp := h.c.Handle(context.Background(), req).(*kmsg.AddOffsetsToTxnResponse); resp.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced v1: %d", resp.ErrorCode)
	}
}
