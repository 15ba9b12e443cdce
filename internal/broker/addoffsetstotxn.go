package broker

// AddOffsetsToTxn: versions 0-4, handled by the transaction coordinator
// (internal/txn): adds a group's __consumer_offsets partition to the transaction.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(25, 0, 4, (*Broker).handleAddOffsetsToTxn) }

func (b *Broker) handleAddOffsetsToTxn(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(rc, req)
}
