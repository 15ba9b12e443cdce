package txn

import (
	"context"
)

// abortTimedOut aborts every Ongoing transaction older than its timeout, at
// a bumped epoch so that its producer is fenced (Kafka's
// abortTimedOutTransactions). The aborts of a partition share one batch;
// markers and completion follow as for an EndTxn.
func (c *Coordinator) abortTimedOut(ctx context.Context) {
	defer c.stepped()
	now := c.clock.Now()
	var writes []*write
	c.mu.Lock()
	for _, p := range c.mu.partitions {
		if p.loading {
			continue
		}
		for _, m := range p.txns {
			if m.pending != nil || !m.cur.timedOut(now) {
				continue
			}
			next := fence(&m.cur, now)
			if w, code := c.beginLocked(p, m, &next); code == 0 {
				writes = append(writes, w)
			}
		}
	}
	c.mu.Unlock()
	if len(writes) == 0 {
		return
	}
	c.persist(ctx, writes)
	for _, w := range writes {
		if w.code != 0 {
			c.logger.Warn("abort of timed-out transaction not written; retried at the next check",
				"transactional_id", w.m.id, "code", w.code)
			continue
		}
		c.logger.Info("aborting timed-out transaction", "transactional_id", w.m.id,
			"producer_id", w.next.producerID, "producer_epoch", w.next.producerEpoch)
	}
}

// expireIDs removes, with a tombstone, the ids idle (Empty, CompleteCommit or
// CompleteAbort) for transactional.id.expiration.ms (Kafka's
// removeExpiredTransactionalIds).
func (c *Coordinator) expireIDs(ctx context.Context) {
	defer c.stepped()
	now := c.clock.Now()
	var writes []*write
	c.mu.Lock()
	for _, p := range c.mu.partitions {
		if p.loading {
			continue
		}
		for _, m := range p.txns {
			if m.pending != nil || m.job != nil || m.placeholder || !m.cur.expired(now, c.cfg.IDExpiration) {
				continue
			}
			if w, code := c.beginLocked(p, m, nil); code == 0 {
				writes = append(writes, w)
			}
		}
	}
	c.mu.Unlock()
	if len(writes) == 0 {
		return
	}
	c.persist(ctx, writes)
	expired := 0
	for _, w := range writes {
		if w.code == 0 {
			expired++
		}
	}
	c.logger.Info("expired transactional ids", "expired", expired, "failed", len(writes)-expired)
}
