package broker

// TxnOffsetCommit: versions 0-4. A transactional producer's offsets (KIP-98, KIP-447) go to the group coordinator, which writes them to __consumer_offsets as one transactional batch of the producer and keeps them pending, invisible to OffsetFetch, until the producer's marker lands there. v3+ carries the member id, generation and instance id, checked against the group; a fenced producer epoch answers INVALID_PRODUCER_EPOCH, as Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(28, 0, 4, (*Broker).handleTxnOffsetCommit) }

func (b *Broker) handleTxnOffsetCommit(_ context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(rc, req)
}
