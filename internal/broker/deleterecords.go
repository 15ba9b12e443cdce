package broker

// DeleteRecords: versions 0-2. Moves each partition's log start offset
// forward (offset -1 means up to the high watermark); whole segments below
// it are deleted. A replicated partition answers once every live replica
// moved its log start there too (the low watermark), or REQUEST_TIMED_OUT.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
)

func init() { registerAPI(21, 0, 2, (*Broker).handleDeleteRecords) }

func (b *Broker) handleDeleteRecords(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.DeleteRecordsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	type pending struct {
		write  *replicas.Write
		offset storage.Offset
		resp   *kmsg.DeleteRecordsResponseTopicPartition
	}
	var waits []pending
	for _, rt := range req.Topics {
		out := kmsg.NewDeleteRecordsResponseTopic()
		out.Topic = rt.Topic
		out.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, 0, len(rt.Partitions))
		for _, rp := range rt.Partitions {
			// The partitions' array is allocated once, so a pending wait
			// can hold a pointer into it.
			out.Partitions = append(out.Partitions, kmsg.NewDeleteRecordsResponseTopicPartition())
			pr := &out.Partitions[len(out.Partitions)-1]
			pr.Partition = rp.Partition
			p, perr := b.replicas.Leader(rt.Topic, rp.Partition)
			switch {
			case !b.allowedTopic(rc, acl.OpDelete, rt.Topic):
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case perr != nil:
				pr.ErrorCode = perr.Code
			case isInternalTopic(rt.Topic):
				pr.ErrorCode = kerr.TopicAuthorizationFailed.Code
			default:
				write, err := b.replicas.NewWrite(p)
				if err != nil {
					pr.ErrorCode, pr.LowWatermark = errorCode(err), -1
					break
				}
				low, err := p.DeleteRecordsBefore(storage.Offset(rp.Offset))
				pr.ErrorCode, pr.LowWatermark = errorCode(err), int64(low)
				if err != nil {
					pr.LowWatermark = -1
				} else {
					// Answered once the followers deleted them too.
					waits = append(waits, pending{write: write, offset: low, resp: pr})
				}
			}
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(waits) == 0 {
		return server.Result{Response: resp}
	}
	timeout := time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		// One timeout for the whole request, as Kafka's delayed
		// DeleteRecords: the context carries it across the waits.
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		for _, w := range waits {
			low, err := w.write.WaitLowWatermark(ctx, w.offset, timeout)
			w.resp.ErrorCode, w.resp.LowWatermark = errorCode(err), int64(low)
			if err != nil {
				w.resp.LowWatermark = -1
			}
		}
		return resp
	}}
}
