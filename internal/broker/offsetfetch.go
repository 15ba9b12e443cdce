package broker

// OffsetFetch: versions 0-9. v8+ fetches several groups at once; null
// topics (v2+) fetch every committed offset. require_stable (v7+) answers
// UNSTABLE_OFFSET_COMMIT for a partition with transactional offsets
// pending. v0, which Kafka 4 removed (KIP-896), read the offsets that old
// Kafka kept in ZooKeeper for OffsetCommit v0; fjord keeps those with the
// group's other commits, so v0 reads what v1 reads. v0 and v1 have no
// group-level error code: a group's error is told on each partition asked
// for (offsetFetchErrorOnPartitions).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(9, 0, 9, (*Broker).handleOffsetFetch) }

func (b *Broker) handleOffsetFetch(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	res := b.groupRequest(ctx, rc, kreq)
	if req := kreq.(*kmsg.OffsetFetchRequest); req.Version < 2 {
		res = mapResponse(res, func(resp kmsg.Response) { offsetFetchErrorOnPartitions(req, resp.(*kmsg.OffsetFetchResponse)) })
	}
	return res
}

// offsetFetchErrorOnPartitions puts a group-level error, which v0 and v1
// cannot carry, on every partition asked for, with offset -1 and empty
// metadata, as Kafka's OffsetFetchRequest.getErrorResponse does for them.
// A response with a group error holds no partition of req.Topics: those
// it holds are the ones authorization refused (filterOffsetFetch took
// them out of the request), which keep their own error.
func offsetFetchErrorOnPartitions(req *kmsg.OffsetFetchRequest, resp *kmsg.OffsetFetchResponse) {
	if resp.ErrorCode == 0 {
		return
	}
	noMetadata := ""
	for _, rt := range req.Topics {
		t := kmsg.NewOffsetFetchResponseTopic()
		t.Topic = rt.Topic
		for _, p := range rt.Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.Metadata, rp.ErrorCode = p, -1, &noMetadata, resp.ErrorCode
			t.Partitions = append(t.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, t)
	}
}

// mapResponse applies change to the response of res, now or, for a
// pending result, when it is ready.
func mapResponse(res server.Result, change func(kmsg.Response)) server.Result {
	if res.Response != nil {
		change(res.Response)
	}
	if pending := res.Pending; pending != nil {
		res.Pending = func(ctx context.Context) kmsg.Response {
			resp := pending(ctx)
			if resp != nil {
				change(resp)
			}
			return resp
		}
	}
	return res
}
