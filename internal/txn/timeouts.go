package txn

import (
	"context"
	"time"
)

// abortTimedOut aborts every Ongoing transaction older than its timeout, at
// a bumped epoch so that its producer is fenced (Kafka's
// abortTimedOutTransactions), by the rules of the cluster's transaction
// version. The aborts of a partition share one batch; markers and
// completion follow as for an EndTxn. An abort that needs a fresh producer
// id (version 2 at an exhausted epoch) gets it first, without the lock; one
// that cannot is retried at the next check.
func (c *Coordinator) abortTimedOut(ctx context.Context) {
	defer c.stepped()
	producerIDs := c.allocateProducerIDs(ctx, c.timedOutNeedingProducerID(c.clock.Now()))
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
			newProducerID := noProducerID
			if fenceNeedsProducerID(&m.cur, c.cfg.TransactionVersion) {
				if len(producerIDs) == 0 {
					continue
				}
				newProducerID, producerIDs = producerIDs[0], producerIDs[1:]
			}
			next := fence(&m.cur, c.cfg.TransactionVersion, newProducerID, now)
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

// timedOutNeedingProducerID counts the timed-out transactions whose abort
// needs a fresh producer id.
func (c *Coordinator) timedOutNeedingProducerID(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.mu.partitions {
		if p.loading {
			continue
		}
		for _, m := range p.txns {
			if m.pending == nil && m.cur.timedOut(now) && fenceNeedsProducerID(&m.cur, c.cfg.TransactionVersion) {
				n++
			}
		}
	}
	return n
}

// allocateProducerIDs allocates up to n producer ids, fewer when the quorum
// cannot give them now.
func (c *Coordinator) allocateProducerIDs(ctx context.Context, n int) []int64 {
	var ids []int64
	for range n {
		id, code := c.nextProducerID(ctx)
		if code != 0 {
			break
		}
		ids = append(ids, id)
	}
	return ids
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
