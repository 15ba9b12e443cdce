package broker

// DescribeProducers: version 0. The idempotent producers each partition
// tracks, with their epoch and last sequence.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(61, 0, 0, (*Broker).handleDescribeProducers) }

func (b *Broker) handleDescribeProducers(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DescribeProducersRequest)
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range req.Topics {
		out := kmsg.NewDescribeProducersResponseTopic()
		out.Topic = rt.Topic
		for _, idx := range rt.Partitions {
			pr := kmsg.NewDescribeProducersResponseTopicPartition()
			pr.Partition = idx
			p, perr := b.replicas.Leader(rt.Topic, idx)
			if !b.allowedTopic(rc, acl.OpRead, rt.Topic) {
				perr = kerr.TopicAuthorizationFailed
			}
			if perr != nil {
				pr.ErrorCode = perr.Code
				out.Partitions = append(out.Partitions, pr)
				continue
			}
			for _, info := range p.Producers() {
				ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
				ap.ProducerID, ap.ProducerEpoch = info.ProducerID, int32(info.Epoch)
				ap.LastSequence, ap.LastTimestamp = info.LastSequence, info.LastTimestamp
				ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = info.CoordinatorEpoch, info.CurrentTxnStartOffset
				pr.ActiveProducers = append(pr.ActiveProducers, ap)
			}
			out.Partitions = append(out.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return server.Result{Response: resp}
}
