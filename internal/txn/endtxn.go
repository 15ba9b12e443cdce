package txn

// EndTxn: versions 0-5, by transaction version 1's rules (the epoch must be
// the current one and stays). An Ongoing transaction is written
// PrepareCommit or PrepareAbort and answered once that is durable; Run then
// writes its markers and completes it. A retry after completion with the
// same result succeeds; the other result, or an Empty id, is
// INVALID_TXN_STATE; a retry while the markers are written is
// CONCURRENT_TRANSACTIONS. v0 and v1 answer PRODUCER_FENCED as
// INVALID_PRODUCER_EPOCH. v5+ returns the producer id and epoch.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *Coordinator) endTxn(ctx context.Context, req *kmsg.EndTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducerID, noProducerEpoch
	code, s := c.endTransaction(ctx, req)
	if code == 0 {
		resp.ProducerID, resp.ProducerEpoch = s.producerID, s.producerEpoch
	}
	if code == kerr.ProducerFenced.Code && req.Version < 2 {
		code = kerr.InvalidProducerEpoch.Code
	}
	resp.ErrorCode = code
	return resp
}

// endTransaction returns the outcome and, on success, the id's state.
func (c *Coordinator) endTransaction(ctx context.Context, req *kmsg.EndTxnRequest) (int16, txnState) {
	if req.TransactionalID == "" {
		return kerr.InvalidRequest.Code, txnState{}
	}
	c.mu.Lock()
	p, code := c.lookupLocked(req.TransactionalID)
	if code != 0 {
		c.mu.Unlock()
		return code, txnState{}
	}
	m := p.txns[req.TransactionalID]
	if m == nil {
		c.mu.Unlock()
		return kerr.InvalidProducerIDMapping.Code, txnState{}
	}
	d := decideEndTxn(&m.cur, m.pending != nil, req.ProducerID, req.ProducerEpoch, req.Commit,
		transactionVersionOf(req.Version), c.clock.Now())
	if d.next == nil {
		s := m.cur
		c.mu.Unlock()
		return d.code, s
	}
	w, code := c.beginLocked(p, m, d.next)
	c.mu.Unlock()
	if code != 0 {
		return code, txnState{}
	}
	c.persist(ctx, []*write{w})
	return w.code, *w.next
}
