package broker

// EndTxn: versions 0-5, handled by the transaction coordinator
// (internal/txn): commits or aborts. v5 comes from producers of transaction
// version 2 (KIP-890 part 2): the producer epoch is bumped on every commit
// and abort, and the response returns the producer id and epoch to go on
// with.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(26, 0, 5, (*Broker).handleEndTxn) }

func (b *Broker) handleEndTxn(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(rc, req)
}
