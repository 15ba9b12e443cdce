package broker

// DescribeTopicPartitions: version 0 (KIP-966). The paginated topic and
// partition listing that Kafka's Java admin client (3.7+, so
// `kafka-topics --describe`) prefers over Metadata: topics in name order,
// at most ResponsePartitionLimit partitions (capped at
// max.request.partition.size.limit, 2000), and a cursor to resume from.
// Eligible leader replicas are not kept (no KIP-966 ELR yet), so those
// lists are empty.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

// maxDescribePartitions is Kafka's max.request.partition.size.limit.
const maxDescribePartitions = 2000

func init() { registerAPI(75, 0, 0, (*Broker).handleDescribeTopicPartitions) }

func (b *Broker) handleDescribeTopicPartitions(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeTopicPartitionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTopicPartitionsResponse)
	img := b.meta.Image()

	var names []string
	if len(req.Topics) == 0 {
		for _, t := range img.Topics() {
			if b.allowedTopic(rc, acl.OpDescribe, t.Name) {
				names = append(names, t.Name)
			}
		}
	} else {
		for _, t := range req.Topics {
			names = append(names, t.Topic)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)

	limit := int(req.ResponsePartitionLimit)
	if limit <= 0 || limit > maxDescribePartitions {
		limit = maxDescribePartitions
	}
	firstPartition := int32(0)
	if c := req.Cursor; c != nil {
		i, _ := slices.BinarySearch(names, c.Topic)
		names = names[i:]
		if len(names) > 0 && names[0] == c.Topic {
			firstPartition = max(c.Partition, 0)
		}
	}

	for i, name := range names {
		t, ok := img.Topic(name)
		if !b.allowedTopic(rc, acl.OpDescribe, name) {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.ErrorCode, rt.Topic = kerr.TopicAuthorizationFailed.Code, &name
			resp.Topics = append(resp.Topics, rt)
			firstPartition = 0
			continue
		}
		if !ok {
			rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
			rt.ErrorCode, rt.Topic = kerr.UnknownTopicOrPartition.Code, &name
			resp.Topics = append(resp.Topics, rt)
			firstPartition = 0
			continue
		}
		rt := kmsg.NewDescribeTopicPartitionsResponseTopic()
		rt.Topic, rt.TopicID, rt.IsInternal = &name, t.ID, isInternalTopic(name)
		rt.Partitions = []kmsg.DescribeTopicPartitionsResponseTopicPartition{}
		for _, p := range t.Partitions {
			if p.Partition < firstPartition {
				continue
			}
			if limit == 0 {
				resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: name, Partition: p.Partition}
				break
			}
			rt.Partitions = append(rt.Partitions, describedPartition(img, p))
			limit--
		}
		firstPartition = 0
		if len(rt.Partitions) > 0 || resp.NextCursor == nil {
			resp.Topics = append(resp.Topics, rt)
		}
		if resp.NextCursor != nil {
			break
		}
		if limit == 0 && i+1 < len(names) {
			// The next topic starts the next page.
			resp.NextCursor = &kmsg.DescribeTopicPartitionsResponseNextCursor{Topic: names[i+1], Partition: 0}
			break
		}
	}
	return server.Result{Response: resp}
}

func describedPartition(img *metadata.Image, p metadata.PartitionImage) kmsg.DescribeTopicPartitionsResponseTopicPartition {
	dp := kmsg.NewDescribeTopicPartitionsResponseTopicPartition()
	dp.Partition, dp.LeaderID, dp.LeaderEpoch = p.Partition, p.Leader, p.LeaderEpoch
	dp.Replicas, dp.ISR = p.Replicas, p.ISR
	dp.EligibleLeaderReplicas, dp.LastKnownELR = []int32{}, []int32{}
	dp.OfflineReplicas = offlineReplicas(img, p.Replicas)
	if p.Leader < 0 {
		dp.ErrorCode = kerr.LeaderNotAvailable.Code
	}
	return dp
}

// offlineReplicas are the replicas whose broker is fenced or unknown.
func offlineReplicas(img *metadata.Image, replicas []int32) []int32 {
	out := []int32{}
	for _, id := range replicas {
		if br, ok := img.Broker(id); !ok || br.Fenced {
			out = append(out, id)
		}
	}
	return out
}
