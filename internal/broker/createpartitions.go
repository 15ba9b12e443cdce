package broker

// CreatePartitions: versions 0-3, with validate_only.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(37, 0, 3, (*Broker).handleCreatePartitions) }

func (b *Broker) handleCreatePartitions(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.CreatePartitionsRequest)
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	mutations := b.newMutationQuota(rc, req.Version >= 3)
	for _, rt := range req.Topics {
		out := kmsg.NewCreatePartitionsResponseTopic()
		out.Topic = rt.Topic
		var assignments [][]int32
		for _, a := range rt.Assignment {
			assignments = append(assignments, a.Replicas)
		}
		if !b.allowedTopic(rc, acl.OpAlter, rt.Topic) {
			out.ErrorCode = kerr.TopicAuthorizationFailed.Code
		} else if err := mutations.createPartitions(req.ValidateOnly, rt.Topic, rt.Count); err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), quotaMessage(err)
		} else if err := b.meta.CreatePartitions(ctx, rt.Topic, rt.Count, assignments, req.ValidateOnly); err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if !req.ValidateOnly {
		b.awaitLocalApply(ctx)
	}
	return mutations.result(resp)
}
