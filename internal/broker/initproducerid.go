package broker

// InitProducerId: versions 0-5. Idempotent producers (no transactional.id)
// get a fresh id here; ids come from blocks the controller allocates
// through the metadata log, so an id is never handed out twice, across
// restarts too. A transactional id goes to the transaction coordinator,
// which fences the id's previous producer by bumping its epoch.

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(22, 0, 5, (*Broker).handleInitProducerID) }

func (b *Broker) handleInitProducerID(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		return b.txnRequest(rc, req)
	}
	// An idempotent producer needs IdempotentWrite on the cluster or, since
	// KIP-679, Write on some topic.
	if !b.allowedCluster(rc, acl.OpIdempotentWrite) && !b.allowedAnyTopic(rc, acl.OpWrite) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	// KIP-360: an idempotent producer that re-initializes after an error
	// (v3+ with its old id) gets a fresh id too; a new id never collides
	// with the old one's sequence state.
	id, err := b.producerIDs.next(ctx)
	if err != nil {
		resp.ErrorCode = errorCode(err)
		return server.Result{Response: resp}
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return server.Result{Response: resp}
}

// producerIDBlockSize is how many ids one controller write reserves, as
// Kafka's AllocateProducerIds does.
const producerIDBlockSize = 1000

// producerIDAllocator hands out producer ids from reserved blocks.
type producerIDAllocator struct {
	meta   *metadata.Node
	mu     sync.Mutex
	nextID int64
	end    int64
}

func (a *producerIDAllocator) next(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nextID >= a.end {
		first, err := a.meta.AllocateProducerIDs(ctx, producerIDBlockSize)
		if err != nil {
			return -1, err
		}
		a.nextID, a.end = first, first+producerIDBlockSize
	}
	id := a.nextID
	a.nextID++
	return id, nil
}
