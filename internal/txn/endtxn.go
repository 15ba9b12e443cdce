package txn

// EndTxn: versions 0-5. v0-4 come from clients of transaction version 0 or
// 1 and follow its rules: the epoch must be the current one and stays. v5
// comes from clients of version 2: every commit and abort is written at a
// bumped epoch, which the response returns (with a new producer id once the
// epochs are exhausted), an abort needs no transaction, and a retry is known
// by the epoch before the bump (decideEndTxnV2). An Ongoing transaction is
// written PrepareCommit or PrepareAbort and answered once that is durable;
// Run then writes its markers and completes it. A retry after completion
// with the same result succeeds; the other result, or a commit of nothing,
// is INVALID_TXN_STATE; a retry while the markers are written is
// CONCURRENT_TRANSACTIONS. v0 and v1 answer PRODUCER_FENCED as
// INVALID_PRODUCER_EPOCH.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *Coordinator) endTxn(ctx context.Context, req *kmsg.EndTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = noProducerID, noProducerEpoch
	code, producerID, epoch := c.endTransaction(ctx, req)
	if code == 0 {
		resp.ProducerID, resp.ProducerEpoch = producerID, epoch
	}
	if code == kerr.ProducerFenced.Code && req.Version < 2 {
		code = kerr.InvalidProducerEpoch.Code
	}
	resp.ErrorCode = code
	return resp
}

// endTransaction returns the outcome and, on success, the producer id and
// epoch the client continues with.
func (c *Coordinator) endTransaction(ctx context.Context, req *kmsg.EndTxnRequest) (int16, int64, int16) {
	if req.TransactionalID == "" {
		return kerr.InvalidRequest.Code, noProducerID, noProducerEpoch
	}
	r := endRequest{producerID: req.ProducerID, epoch: req.ProducerEpoch, commit: req.Commit,
		version: endTxnTransactionVersion(req.Version)}
	newProducerID := noProducerID
	for {
		w, d, cur := c.prepareEnd(req.TransactionalID, r, newProducerID)
		switch {
		case d.needProducerID && newProducerID == noProducerID:
			var code int16
			if newProducerID, code = c.nextProducerID(ctx); code != 0 {
				return code, noProducerID, noProducerEpoch
			}
			continue
		case w == nil && d.needProducerID:
			return kerr.UnknownServerError.Code, noProducerID, noProducerEpoch // a fresh id was not enough: a bug
		case w == nil:
			// Answered without a write: a retry gets the producer id
			// and epoch the id holds now.
			return d.code, cur.producerID, cur.producerEpoch
		}
		c.persist(ctx, []*write{w})
		if w.code != 0 {
			return w.code, noProducerID, noProducerEpoch
		}
		producerID, epoch := endedAs(w.next)
		return 0, producerID, epoch
	}
}

// prepareEnd decides an EndTxn for id and begins its write; without a
// write it returns the id's state as it is. It takes the lock.
func (c *Coordinator) prepareEnd(id string, r endRequest, newProducerID int64) (*write, decision, txnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, code := c.lookupLocked(id)
	if code != 0 {
		return nil, answer(code), txnState{}
	}
	m := p.txns[id]
	if m == nil || m.placeholder {
		return nil, answer(kerr.InvalidProducerIDMapping.Code), txnState{}
	}
	d := decideEndTxn(&m.cur, m.pending != nil, r, newProducerID, c.clock.Now())
	if d.next == nil {
		return nil, d, m.cur
	}
	w, code := c.beginLocked(p, m, d.next)
	if code != 0 {
		return nil, answer(code), txnState{}
	}
	return w, d, txnState{}
}
