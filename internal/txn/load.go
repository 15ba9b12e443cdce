package txn

import (
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// loadRetryBackoff is how long a partition whose log could not be read
// waits before Run reads it again; requests meanwhile get
// COORDINATOR_LOAD_IN_PROGRESS.
const loadRetryBackoff = time.Second

// dispatchLoadsLocked starts reading the partitions elected and not loaded,
// and returns when the next retry is due (zero: none).
func (c *Coordinator) dispatchLoadsLocked(wg *sync.WaitGroup, now time.Time) time.Time {
	var next time.Time
	for _, p := range c.mu.partitions {
		if !p.loading || p.loadRunning {
			continue
		}
		if p.loadRetryAt.After(now) {
			if next.IsZero() || p.loadRetryAt.Before(next) {
				next = p.loadRetryAt
			}
			continue
		}
		p.loadRunning = true
		wg.Go(func() { c.load(p) })
	}
	return next
}

// load reads p's log, then serves its ids: latest value per key wins, a
// tombstone deletes, a corrupt record is logged and skipped.
func (c *Coordinator) load(p *partition) {
	defer c.stepped()
	start := c.clock.Now()
	states := map[string]*txnState{}
	records, skipped := 0, 0
	err := p.log.Load(p.ctx, func(key, value []byte) error {
		records++
		id, s, err := decodeRecord(key, value)
		if err != nil {
			skipped++
			c.logger.Warn("skipping __transaction_state record", "partition", p.index, "err", err)
			return nil
		}
		if s == nil || s.state == kmsg.TransactionStateDead {
			delete(states, id) // Kafka writes a tombstone, never Dead
			return nil
		}
		states[id] = s
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	p.loadRunning = false
	if !c.currentLocked(p) {
		return
	}
	if err != nil {
		c.logger.Error("loading transaction coordinator partition", "partition", p.index, "err",
			fmt.Errorf("reading __transaction_state-%d: %w", p.index, err))
		p.loadRetryAt = c.clock.Now().Add(loadRetryBackoff)
		c.signal()
		return
	}
	c.serveLoadedLocked(p, states)
	c.logger.Debug("loaded transaction coordinator partition", "partition", p.index, "epoch", p.epoch,
		"transactional_ids", len(states), "records", records, "skipped", skipped, "took", c.clock.Now().Sub(start))
}

// serveLoadedLocked installs the loaded ids and finishes the transactions
// the previous coordinator left prepared: their markers are sent again (a
// partition ignores a marker it already has) and they complete.
func (c *Coordinator) serveLoadedLocked(p *partition, states map[string]*txnState) {
	p.txns = make(map[string]*txnMetadata, len(states))
	for id, s := range states {
		m := &txnMetadata{id: id, cur: *s}
		p.txns[id] = m
		if s.state == kmsg.TransactionStatePrepareEpochFence {
			// Kafka never writes this state: it fences in memory and
			// writes PrepareAbort at the bumped epoch. Should a log hold
			// it, the fence is finished the same way: the epoch in the
			// record is the bumped one, and the abort completes.
			m.cur.state = kmsg.TransactionStatePrepareAbort
			c.logger.Warn("finishing a PrepareEpochFence as an abort", "transactional_id", id)
		}
		if m.cur.preparing() {
			c.enqueueMarkersLocked(p, m)
		}
	}
	p.loading = false
}
