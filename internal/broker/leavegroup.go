package broker

// LeaveGroup: versions 0-5. v3+ removes a batch of members, static ones by group.instance.id.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func (b *Broker) registerLeaveGroup(r server.Routes) {
	r[13] = server.Route{MinVersion: 0, MaxVersion: 5, Handle: b.handleLeaveGroup}
}

func (b *Broker) handleLeaveGroup(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(rc, req)
}
