package broker

// SyncGroup: versions 0-5. The leader's assignment ends the rebalance; followers wait for it. v5 checks the protocol type and name.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func (b *Broker) registerSyncGroup(r server.Routes) {
	r[14] = server.Route{MinVersion: 0, MaxVersion: 5, Handle: b.handleSyncGroup}
}

func (b *Broker) handleSyncGroup(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(rc, req)
}
