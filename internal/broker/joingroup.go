package broker

// JoinGroup: versions 0-9. A new member gets MEMBER_ID_REQUIRED with its id
// first (v4+, KIP-394); the response waits for the join phase to end. v0,
// which Kafka 4.0 removed and 4.1 serves again, has no rebalance timeout:
// the session timeout stands in for it, as in Kafka. Rules in
// internal/group.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(11, 0, 9, (*Broker).handleJoinGroup) }

func (b *Broker) handleJoinGroup(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
