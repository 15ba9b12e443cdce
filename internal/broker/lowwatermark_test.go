package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// reportLogStart sends a follower fetch from the follower's log end 100
// that carries its log start offset.
func (f *throttleFixture) reportLogStart(replica int32, logStart int64) {
	f.t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = 12, replica, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = f.topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.LogStartOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = 100, logStart, 1<<20, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	if res := f.b.handleFetch(f.ctx, nil, req); res.Response == nil && res.Pending == nil {
		f.t.Fatal("follower fetch not answered")
	}
}

// DeleteRecords on a replicated partition answers once every live
// replica's log start reached the offset: the low watermark.
func TestDeleteRecordsWaitsForTheLowWatermark(t *testing.T) {
	f := newThrottleFixture(t) // high watermark 100, followers 2 and 3
	f.reportLogStart(2, 0)
	f.reportLogStart(3, 0)

	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = f.topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = 50
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	res := f.b.handleDeleteRecords(f.ctx, nil, req)
	if res.Pending == nil {
		t.Fatalf("answered before the followers deleted: %+v", res.Response)
	}
	done := make(chan *kmsg.DeleteRecordsResponse, 1)
	go func() { done <- res.Pending(f.ctx).(*kmsg.DeleteRecordsResponse) }()

	f.reportLogStart(2, 50)
	select {
	case resp := <-done:
		t.Fatalf("answered while follower 3 still holds offset 0: %+v", resp.Topics[0].Partitions[0])
	default:
	}
	f.reportLogStart(3, 50)
	resp := <-done
	if pr := resp.Topics[0].Partitions[0]; pr.ErrorCode != 0 || pr.LowWatermark != 50 {
		t.Fatalf("DeleteRecords: error %d, low watermark %d; want 0 and 50", pr.ErrorCode, pr.LowWatermark)
	}
	if start := f.b.partition(f.topic, 0).LogStartOffset(); start != 50 {
		t.Fatalf("leader's log start %d, want 50", start)
	}
}
