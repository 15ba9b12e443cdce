package broker

// OffsetDelete: versions 0-0. Offsets of topics the group is subscribed to are refused with GROUP_SUBSCRIBED_TO_TOPIC.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func (b *Broker) registerOffsetDelete(r server.Routes) {
	r[47] = server.Route{MinVersion: 0, MaxVersion: 0, Handle: b.handleOffsetDelete}
}

func (b *Broker) handleOffsetDelete(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(rc, req)
}
