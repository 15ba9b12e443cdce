package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTxnOffsetCommitPendingAndFenced drives TxnOffsetCommit v4 through the
// real broker: offsets for a group the producer did not add to its
// transaction are refused (KIP-890 verification); once added they are
// written as a transactional batch of the producer and stay pending for
// OffsetFetch; after a new producer with the same transactional id fenced
// this one, its epoch is refused with INVALID_PRODUCER_EPOCH, as Kafka
// answers.
func TestTxnOffsetCommitPendingAndFenced(t *testing.T) {
	addr := startInProcessBroker(t)
	// TxnOffsetCommit v4: v5 adds the group itself (txnv2_test.go).
	cl := txnClient(t, addr, 11, 4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// retry repeats a request while the coordinators load in the
	// background or a fenced transaction is being aborted.
	retry := func(do func() int16) int16 {
		for {
			switch code := do(); code {
			case kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code, kerr.CoordinatorLoadInProgress.Code,
				kerr.ConcurrentTransactions.Code:
				time.Sleep(20 * time.Millisecond)
			default:
				return code
			}
		}
	}
	initProducer := func() (int64, int16) {
		req := kmsg.NewPtrInitProducerIDRequest()
		id := "tx"
		req.TransactionalID, req.TransactionTimeoutMillis = &id, 60_000
		var resp *kmsg.InitProducerIDResponse
		if code := retry(func() int16 {
			var err error
			if resp, err = req.RequestWith(ctx, cl); err != nil {
				t.Fatal(err)
			}
			return resp.ErrorCode
		}); code != 0 {
			t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(code))
		}
		return resp.ProducerID, resp.ProducerEpoch
	}
	commit := func(id int64, epoch int16, offset int64) int16 {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "tx", "g", id, epoch
		req.Generation = -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = fuzzTopic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return retry(func() int16 {
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			return resp.Topics[0].Partitions[0].ErrorCode
		})
	}
	id, epoch := initProducer()
	if code := commit(id, epoch, 3); code != kerr.InvalidTxnState.Code {
		t.Fatalf("TxnOffsetCommit for a group not in the transaction: %v", kerr.ErrorForCode(code))
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "tx", id, epoch, "g"
	if code := retry(func() int16 {
		resp, err := add.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.ErrorCode
	}); code != 0 {
		t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(code))
	}
	if code := commit(id, epoch, 3); code != 0 {
		t.Fatalf("TxnOffsetCommit: %v", kerr.ErrorForCode(code))
	}
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.RequireStable = true
	fetch.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: fuzzTopic, Partitions: []int32{0}}}}}
	resp, err := fetch.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Groups[0].Topics[0].Partitions[0].ErrorCode; code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("OffsetFetch with RequireStable: %v", kerr.ErrorForCode(code))
	}
	// A new producer fences this one: its open transaction is aborted,
	// and the pending offsets with it.
	if newID, newEpoch := initProducer(); newID != id || newEpoch <= epoch {
		t.Fatalf("InitProducerId again: %d/%d after %d/%d", newID, newEpoch, id, epoch)
	}
	if code := commit(id, epoch, 4); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("fenced producer epoch: %v", kerr.ErrorForCode(code))
	}
}
