package broker

// JoinGroup: versions 0-9. A new member gets MEMBER_ID_REQUIRED with its id first (v4+, KIP-394); the response waits for the join phase to end. Rules in internal/group.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func (b *Broker) registerJoinGroup(r server.Routes) {
	r[11] = server.Route{MinVersion: 0, MaxVersion: 9, Handle: b.handleJoinGroup}
}

func (b *Broker) handleJoinGroup(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(rc, req)
}
