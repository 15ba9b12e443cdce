package broker

// DescribeTransactions: versions 0-0, handled by the transaction coordinator
// (internal/txn): answered by each id's coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(65, 0, 0, (*Broker).handleDescribeTransactions) }

func (b *Broker) handleDescribeTransactions(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.txnRequest(rc, req)
}
