package broker

// OffsetDelete: versions 0-0. Offsets of topics the group is subscribed to are refused with GROUP_SUBSCRIBED_TO_TOPIC.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(47, 0, 0, (*Broker).handleOffsetDelete) }

func (b *Broker) handleOffsetDelete(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
