package broker

// EndTxn: versions 0-4, handled by the transaction coordinator
// (internal/txn): commits or aborts; v5 (transaction version 2) is not served yet.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(26, 0, 4, (*Broker).handleEndTxn) }

func (b *Broker) handleEndTxn(_ context.Context, _ *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(req)
}
