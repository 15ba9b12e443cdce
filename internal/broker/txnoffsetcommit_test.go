package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTxnOffsetCommitPendingAndFenced drives TxnOffsetCommit through the
// real broker: the offsets are written as a transactional batch of the
// producer (the partition learns its epoch from it), stay pending for
// OffsetFetch, and an older epoch of the producer is refused with
// INVALID_PRODUCER_EPOCH, as Kafka answers.
func TestTxnOffsetCommitPendingAndFenced(t *testing.T) {
	addr := startInProcessBroker(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	commit := func(epoch int16, offset int64) int16 {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "tx", "g", 1000, epoch
		req.Generation = -1
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = fuzzTopic
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		for {
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			code := resp.Topics[0].Partitions[0].ErrorCode
			if code != kerr.NotCoordinator.Code && code != kerr.CoordinatorNotAvailable.Code {
				return code
			}
			time.Sleep(20 * time.Millisecond) // the coordinator loads its partition in the background
		}
	}
	if code := commit(5, 3); code != 0 {
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
	if code := commit(4, 4); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("older producer epoch: %v", kerr.ErrorForCode(code))
	}
}
