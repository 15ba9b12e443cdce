package broker

// DeleteRecords: versions 0-2. Moves each partition's log start offset
// forward (offset -1 means up to the high watermark); whole segments below
// it are deleted.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func (b *Broker) registerDeleteRecords(r server.Routes) {
	r[21] = server.Route{MinVersion: 0, MaxVersion: 2, Handle: b.handleDeleteRecords}
}

func (b *Broker) handleDeleteRecords(_ context.Context, _ *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		out := kmsg.NewDeleteRecordsResponseTopic()
		out.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			pr := kmsg.NewDeleteRecordsResponseTopicPartition()
			pr.Partition = rp.Partition
			p, perr := b.leaderPartition(rt.Topic, rp.Partition)
			switch {
			case perr != nil:
				pr.ErrorCode = perr.Code
			case isInternalTopic(rt.Topic):
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			default:
				low, err := p.DeleteRecordsBefore(storage.Offset(rp.Offset))
				pr.ErrorCode, pr.LowWatermark = errorCode(err), int64(low)
				if err != nil {
					pr.LowWatermark = -1
				}
			}
			out.Partitions = append(out.Partitions, pr)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return server.Result{Response: resp}
}
