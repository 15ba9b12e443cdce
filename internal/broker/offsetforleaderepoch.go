package broker

// OffsetForLeaderEpoch: versions 0-4. For each partition, the end offset of
// the largest leader epoch not above the requested one, which a follower or
// a consumer uses to detect log truncation (KIP-101, KIP-320). v0 and v1,
// which Kafka 4 removed (KIP-896), were sent by followers: v0 answers the
// end offset without its epoch, and neither names the sender (v3+).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(23, 0, 4, (*Broker).handleOffsetForLeaderEpoch) }

func (b *Broker) handleOffsetForLeaderEpoch(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(req.Topics))
	for ti, rt := range req.Topics {
		out := &resp.Topics[ti]
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(rt.Partitions))
		// Followers need ClusterAction, consumers Describe on the topic;
		// before v3 the sender is not named and either will do, as Kafka.
		var denied int16
		switch {
		case req.Version < 3:
			if !b.allowedCluster(rc, acl.OpClusterAction) && !b.allowedTopic(rc, acl.OpDescribe, rt.Topic) {
				denied = kerr.TopicAuthorizationFailed.Code
			}
		case req.ReplicaID >= 0 && !b.allowedCluster(rc, acl.OpClusterAction):
			denied = kerr.ClusterAuthorizationFailed.Code
		case req.ReplicaID < 0 && !b.allowedTopic(rc, acl.OpDescribe, rt.Topic):
			denied = kerr.TopicAuthorizationFailed.Code
		}
		for pi, rp := range rt.Partitions {
			pr := &out.Partitions[pi]
			*pr = kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			pr.Partition = rp.Partition
			if denied != 0 {
				pr.ErrorCode = denied
				continue
			}
			p, perr := b.replicas.Leader(rt.Topic, rp.Partition)
			if perr != nil {
				pr.ErrorCode = perr.Code
				continue
			}
			if code := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); code != 0 {
				pr.ErrorCode = code
				continue
			}
			pr.LeaderEpoch, pr.EndOffset = p.EndOffsetForEpoch(rp.LeaderEpoch)
		}
	}
	return server.Result{Response: resp}
}
