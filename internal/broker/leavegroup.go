package broker

// LeaveGroup: versions 0-5. v3+ removes a batch of members, static ones by group.instance.id.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(13, 0, 5, (*Broker).handleLeaveGroup) }

func (b *Broker) handleLeaveGroup(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
