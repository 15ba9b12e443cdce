package broker

// AlterPartitionReassignments: version 0 (KIP-455). Starts reassignments
// (a partition's new replica list) or cancels them (null replicas); the
// controller decides and completes them once the new replicas are in sync.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(45, 0, 0, (*Broker).handleAlterPartitionAssignments) }

func (b *Broker) handleAlterPartitionAssignments(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.AlterPartitionAssignmentsRequest)
	if !b.allowedCluster(rc, acl.OpAlter) {
		resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	var reqs []metadata.Reassignment
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			reqs = append(reqs, metadata.Reassignment{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas})
		}
	}
	timeout := timeoutOf(req.TimeoutMillis)
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		errs, err := b.meta.AlterPartitionReassignments(ctx, reqs)
		if err != nil {
			resp.ErrorCode, resp.ErrorMessage = errorCode(err), errorMessage(err)
			return resp
		}
		i := 0
		for _, t := range req.Topics {
			rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode, rp.ErrorMessage = errorCode(errs[i]), errorMessage(errs[i])
				rt.Partitions = append(rt.Partitions, rp)
				i++
			}
			resp.Topics = append(resp.Topics, rt)
		}
		b.awaitLocalApply(ctx)
		return resp
	}}
}
