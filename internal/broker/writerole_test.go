package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// TestNoWriteWithoutTheLeaderRole is the broker half of issue 12: the
// metadata image names a broker leader before becomeLeader has set up the
// partition's leader role (subscribers run after the image is published),
// and still names it for a moment after dropLeaderRole when leadership
// moves. A produce, or a group's offsets write, in that window was taken
// as a write to a single-replica partition: appended and acknowledged after
// the local fsync alone, records no follower had, lost at the next
// election. It must be refused, retriably, and write nothing.
func TestNoWriteWithoutTheLeaderRole(t *testing.T) {
	f := newThrottleFixture(t)
	p := f.b.partition(f.topic, 0)
	end := p.LogEndOffset()
	f.b.dropLeaderRole(p) // the image still names broker 1 leader

	for _, acks := range []int16{-1, 1} {
		pr := f.produceRequest(acks)
		if pr.ErrorCode != kerr.NotLeaderForPartition.Code {
			t.Errorf("produce with acks=%d and no leader role: error code %d, want NOT_LEADER_OR_FOLLOWER", acks, pr.ErrorCode)
		}
	}
	log := offsetsLog{p: p, b: f.b}
	if _, err := log.Append([]group.Record{{Key: []byte("k"), Value: []byte("v")}}); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Errorf("offsets append with no leader role: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
	if err := log.WaitDurable(int64(end)); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Errorf("offsets wait with no leader role: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
	if got := p.LogEndOffset(); got != end {
		t.Fatalf("log end moved from %d to %d without a leader role", end, got)
	}

	// The role of the image's epoch back, the same produce is taken.
	topic, _ := f.meta.Image().Topic(f.topic)
	f.b.applyRole(topic, p, topic.Partitions[0])
	if pr := f.produceRequest(1); pr.ErrorCode != 0 {
		t.Fatalf("produce with the leader role: error code %d", pr.ErrorCode)
	}
	if got := p.LogEndOffset(); got != end+1 {
		t.Fatalf("log end %d after one record, want %d", got, end+1)
	}
}

// produceRequest produces one record to partition 0 and returns the
// partition's answer.
func (f *throttleFixture) produceRequest(acks int16) kmsg.ProduceResponseTopicPartition {
	f.t.Helper()
	batch := recordbatch.Build(recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
		BaseTimestamp: f.clock.Now().UnixMilli(), Records: []recordbatch.Record{{Value: []byte("v")}}})
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, acks, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = f.topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	res := f.b.handleProduce(f.ctx, nil, req)
	resp, ok := res.Response.(*kmsg.ProduceResponse)
	if !ok && res.Pending != nil {
		ctx, cancel := context.WithCancel(f.ctx)
		defer cancel()
		resp, ok = res.Pending(ctx).(*kmsg.ProduceResponse)
	}
	if !ok {
		f.t.Fatalf("produce answered with %T", res.Response)
	}
	return resp.Topics[0].Partitions[0]
}
