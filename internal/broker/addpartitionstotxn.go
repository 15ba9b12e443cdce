package broker

// AddPartitionsToTxn: versions 0-5, handled by the transaction coordinator
// (internal/txn): one client's transaction (v0-3) or, batched, the leaders' KIP-890 verification (v4+).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(24, 0, 5, (*Broker).handleAddPartitionsToTxn) }

func (b *Broker) handleAddPartitionsToTxn(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(rc, req)
}
