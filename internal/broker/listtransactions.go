package broker

// ListTransactions: versions 0-1, handled by the transaction coordinator
// (internal/txn): each broker lists the ids its coordinator owns; v1 filters by duration.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(66, 0, 1, (*Broker).handleListTransactions) }

func (b *Broker) handleListTransactions(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(rc, req)
}
