package e2e

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGroupCommitsPipelinedInOrder sends many OffsetCommits for one
// partition back to back on one connection, each a higher offset, before
// reading any answer: the group coordinator must apply them in the order
// they were sent, as Kafka does for every request of a connection, so the
// committed offset is the last one. sarama sends its consumer group's
// commits this way, from one goroutine per partition over a shared
// connection; applied out of order, a commit went back to an earlier offset
// and a record was consumed twice after the next rebalance.
func TestGroupCommitsPipelinedInOrder(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "order")
	createTopic(t, ctx, adm, topic, 1, nil)
	const groupID = "pipelined-commits"
	// A first commit through kadm creates __consumer_offsets and finds the
	// coordinator, which on one broker is this broker.
	first := kadm.Offsets{}
	first.Add(kadm.Offset{Topic: topic, Partition: 0, At: 0, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, groupID, first); err != nil || resp.Error() != nil {
		t.Fatalf("first commit: %v %v", err, resp.Error())
	}

	const commits = 200
	c := dialWire(t, srv.Addr)
	for i := 1; i <= commits; i++ {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 8
		req.Group = groupID
		req.Generation = -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Offset = int64(i)
		rp.LeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		c.send(req)
	}
	for i := 1; i <= commits; i++ {
		frame, err := c.readFrame()
		if err != nil {
			t.Fatalf("reading answer %d: %v", i, err)
		}
		// Answers come in request order: correlation ids 1, 2, ...
		if got := int32(binary.BigEndian.Uint32(frame)); got != int32(i) {
			t.Fatalf("answer %d has correlation id %d", i, got)
		}
	}
	if got := committedOffsets(t, ctx, adm, groupID, topic)[0]; got != commits {
		t.Fatalf("committed offset %d after %d pipelined commits, want the last one, %d", got, commits, commits)
	}
}
