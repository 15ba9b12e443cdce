package txn

// InitProducerId: versions 0-5. Without a transactional id, a fresh producer
// id at epoch 0 (an idempotent producer). With one: a new id gets a producer
// id at epoch 0; an idle one the next epoch (a new producer id once the
// epochs are exhausted); an Ongoing one is aborted at a bumped epoch, which
// fences the old producer (by the rules of the cluster's transaction
// version, fence in state.go), and answered CONCURRENT_TRANSACTIONS so that
// the client retries; a prepared one CONCURRENT_TRANSACTIONS. v3+ (KIP-360) may
// carry the client's producer id and epoch, to recover at the current or the
// previous epoch; anything else is PRODUCER_FENCED, INVALID_PRODUCER_EPOCH
// below v4.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *Coordinator) initProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducerID, noProducerEpoch
	var code int16
	if req.TransactionalID == nil {
		var id int64
		if id, code = c.nextProducerID(ctx); code == 0 {
			resp.ProducerID, resp.ProducerEpoch = id, 0
		}
	} else {
		code = c.initTransactional(ctx, req, resp)
	}
	if code == kerr.ProducerFenced.Code && req.Version < 4 {
		// Clients before v4 do not know PRODUCER_FENCED.
		code = kerr.InvalidProducerEpoch.Code
	}
	resp.ErrorCode = code
	return resp
}

func (c *Coordinator) initTransactional(ctx context.Context, req *kmsg.InitProducerIDRequest, resp *kmsg.InitProducerIDResponse) int16 {
	id := *req.TransactionalID
	var expected *producerIDAndEpoch
	switch {
	case id == "":
		return kerr.InvalidRequest.Code
	case req.ProducerID == noProducerID && req.ProducerEpoch == noProducerEpoch:
	case req.ProducerID == noProducerID || req.ProducerEpoch == noProducerEpoch:
		return kerr.InvalidRequest.Code
	default:
		expected = &producerIDAndEpoch{producerID: req.ProducerID, epoch: req.ProducerEpoch}
	}
	timeout := time.Duration(req.TransactionTimeoutMillis) * time.Millisecond
	if timeout <= 0 || timeout > c.cfg.MaxTimeout {
		return kerr.InvalidTransactionTimeout.Code
	}
	newProducerID := noProducerID
	for {
		c.mu.Lock()
		w, d := c.prepareInitLocked(id, timeout, expected, newProducerID)
		c.mu.Unlock()
		switch {
		case d.needProducerID && newProducerID == noProducerID:
			var code int16
			if newProducerID, code = c.nextProducerID(ctx); code != 0 {
				return code
			}
			continue
		case w == nil && d.needProducerID:
			return kerr.UnknownServerError.Code // a fresh id was not enough: a bug
		case w == nil:
			return d.code
		}
		c.persist(ctx, []*write{w})
		switch {
		case w.code != 0:
			return w.code
		case w.next.preparing():
			// The ongoing transaction of the fenced producer is
			// aborting; the client retries and gets the next epoch.
			return kerr.ConcurrentTransactions.Code
		}
		resp.ProducerID, resp.ProducerEpoch = w.next.producerID, w.next.producerEpoch
		return 0
	}
}

// prepareInitLocked decides InitProducerId for id and begins its write. A
// new id needs a fresh producer id first: the decision asks for one, and the
// caller comes back with it.
func (c *Coordinator) prepareInitLocked(id string, timeout time.Duration, expected *producerIDAndEpoch,
	newProducerID int64) (*write, decision) {
	p, code := c.lookupLocked(id)
	if code != 0 {
		return nil, answer(code)
	}
	now := c.clock.Now()
	m := p.txns[id]
	if m == nil {
		if newProducerID == noProducerID {
			return nil, decision{needProducerID: true}
		}
		m = &txnMetadata{id: id, placeholder: true, cur: txnState{
			producerID: newProducerID, previousProducerID: noProducerID, nextProducerID: noProducerID,
			producerEpoch: noProducerEpoch, lastProducerEpoch: noProducerEpoch, nextProducerEpoch: noProducerEpoch,
			timeout: timeout, lastUpdate: now,
		}}
		p.txns[id] = m
		newProducerID = noProducerID // spent on the new id
	}
	d := decideInit(&m.cur, m.pending != nil, timeout, expected, newProducerID, c.cfg.TransactionVersion, now)
	if d.next == nil {
		if m.placeholder && m.pending == nil {
			delete(p.txns, id)
		}
		return nil, d
	}
	w, code := c.beginLocked(p, m, d.next)
	if code != 0 {
		return nil, answer(code)
	}
	return w, d
}

// nextProducerID allocates a producer id, or answers the error a client
// retries.
func (c *Coordinator) nextProducerID(ctx context.Context) (int64, int16) {
	if c.producerIDs == nil {
		return noProducerID, kerr.CoordinatorNotAvailable.Code
	}
	id, err := c.producerIDs(ctx)
	if err != nil {
		c.logger.Warn("allocating a producer id", "err", err)
		code := codeOf(err)
		if code == kerr.UnknownServerError.Code || code == kerr.RequestTimedOut.Code {
			code = kerr.CoordinatorNotAvailable.Code
		}
		return noProducerID, code
	}
	return id, 0
}
