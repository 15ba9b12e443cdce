package broker

// IncrementalAlterConfigs: versions 0-1 (set, delete, append, subtract per
// config, KIP-339).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(44, 0, 1, (*Broker).handleIncrementalAlterConfigs) }

func (b *Broker) handleIncrementalAlterConfigs(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = rr.ResourceType, rr.ResourceName
		var ops []metadata.ConfigOp
		for _, c := range rr.Configs {
			op := metadata.ConfigOp{Name: c.Name, Op: metadata.OpType(c.Op)}
			if c.Value != nil {
				op.Value = *c.Value
			}
			ops = append(ops, op)
		}
		resType, err := b.configResource(rr.ResourceType, rr.ResourceName)
		if err == nil {
			err = b.authorizeConfigs(rc, acl.OpAlterConfigs, rr.ResourceType, rr.ResourceName)
		}
		if err == nil {
			err = b.meta.AlterConfigs(ctx, resType, rr.ResourceName, ops, req.ValidateOnly)
		}
		out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return server.Result{Response: resp}
}
