package replicas

// ISR changes on their way to the controller (Kafka's
// AlterPartitionManager). A leader's state proposes at most one change per
// partition at a time (replication.LeaderState); the queue holds the
// partitions with a change to send, at most one entry each, and one
// goroutine sends whatever is queued when it is free as one AlterPartitions
// request: a broker that restarts rejoins the ISR of every partition it
// hosts at about the same time, and one request and one metadata log entry
// for all of them is what keeps a rolling restart short.
//
// The answer to each change is applied to its leader state by what it
// proves (replication.ISRChangeOutcome). A request that got no answer, or
// one proving nothing, is sent again after isrChangeRetryBackoff: until its
// outcome is known the change keeps counting for the high watermark, so
// nothing is lost by waiting, only the ISR's change is delayed.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replication"
)

// isrChangeTimeout bounds one AlterPartitions round trip, forwarding to the
// controller included.
const isrChangeTimeout = 10 * time.Second

// isrChangeRetryBackoff is the pause before sending again changes whose
// outcome is unknown: usually the controller is moving, which takes about
// an election timeout.
const isrChangeRetryBackoff = 100 * time.Millisecond

// isrChangeQueue holds the ISR changes waiting to be sent, one per leader
// role (the latest proposal of a role replaces an earlier one not sent
// yet). It is bounded by the number of partitions this broker leads.
type isrChangeQueue struct {
	wake chan struct{} // signalled, without blocking, when a change is queued
	mu   struct {
		sync.Mutex
		changes map[*leaderRole]replication.ISRChange
	}
}

func (q *isrChangeQueue) init() {
	q.wake = make(chan struct{}, 1)
	q.mu.changes = map[*leaderRole]replication.ISRChange{}
}

func (q *isrChangeQueue) queue(role *leaderRole, change replication.ISRChange) {
	q.mu.Lock()
	q.mu.changes[role] = change
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// queuedISRChange is one change taken from the queue for a request.
type queuedISRChange struct {
	role   *leaderRole
	change replication.ISRChange
}

// take removes up to limit queued changes, skipping roles that ended.
func (q *isrChangeQueue) take(limit int) []queuedISRChange {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queuedISRChange
	for role, change := range q.mu.changes {
		if len(out) == limit {
			break
		}
		delete(q.mu.changes, role)
		if !role.hasEnded() {
			out = append(out, queuedISRChange{role, change})
		}
	}
	return out
}

// ISRChanges returns how many times the committed ISR of a partition led
// here shrank and grew since the manager started (Kafka's IsrShrinksPerSec
// and IsrExpandsPerSec), whether the change was this leader's
// AlterPartition or the controller's (fencing a broker).
func (m *Manager) ISRChanges() (shrinks, expands uint64) {
	return m.isrShrinks.Load(), m.isrExpands.Load()
}

// alterPartitionLoop sends queued ISR changes until ctx ends.
func (m *Manager) alterPartitionLoop(ctx context.Context) {
	q := &m.isrChanges
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		for batch := q.take(metadata.MaxAlterPartitionBatch); len(batch) > 0; batch = q.take(metadata.MaxAlterPartitionBatch) {
			retry := m.sendISRChanges(ctx, batch)
			if len(retry) == 0 {
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(isrChangeRetryBackoff):
			}
			for _, r := range retry {
				q.queue(r.role, r.change)
			}
		}
	}
}

// sendISRChanges sends one AlterPartitions request and applies its answers.
// It returns the changes to send again.
func (m *Manager) sendISRChanges(ctx context.Context, batch []queuedISRChange) (retry []queuedISRChange) {
	reqs := make([]metadata.AlterPartitionRequest, len(batch))
	for i, c := range batch {
		reqs[i] = metadata.AlterPartitionRequest{TopicID: c.role.topicID, Partition: c.role.p.Index, LeaderID: m.opts.NodeID,
			LeaderEpoch: c.change.LeaderEpoch, PartitionEpoch: c.change.PartitionEpoch, NewISR: c.change.NewISR,
			NewISRBrokerEpochs: m.isrBrokerEpochs(c.role, c.change.NewISR)}
	}
	callCtx, cancel := context.WithTimeout(ctx, isrChangeTimeout)
	results, err := m.meta.AlterPartitions(callCtx, reqs)
	cancel()
	if err != nil && ctx.Err() == nil {
		m.logger.Info("ISR changes not answered; sending them again", "partitions", len(batch), "err", err)
	}
	for i, c := range batch {
		var update replication.Update
		switch {
		case err != nil:
			update = m.refuseISRChange(c, replication.ISRChangeUnknown, err)
		case results[i].Err != nil:
			update = m.refuseISRChange(c, isrChangeOutcome(results[i].Err), results[i].Err)
		default:
			update = m.answerISRChange(c, results[i].Partition)
		}
		if update.Proposal != nil {
			retry = append(retry, queuedISRChange{c.role, *update.Proposal})
			update.Proposal = nil
		}
		m.applyLeaderUpdate(c.role, update)
	}
	return retry
}

func (m *Manager) answerISRChange(c queuedISRChange, pi metadata.PartitionImage) replication.Update {
	c.role.mu.Lock()
	held := c.role.state.PartitionEpoch()
	update, err := c.role.state.OnISRChangeAnswered(c.change, partitionState(pi))
	c.role.mu.Unlock()
	if err != nil {
		m.logger.Warn("applying the controller's ISR answer", "topic", c.role.p.Topic, "partition", c.role.p.Index, "err", err)
	}
	if pi.LeaderEpoch == c.role.leaderEpoch && pi.PartitionEpoch > held {
		m.logISRChange(c.role, pi, "controller")
	}
	return update
}

func (m *Manager) refuseISRChange(c queuedISRChange, outcome replication.ISRChangeOutcome, err error) replication.Update {
	if outcome != replication.ISRChangeUnknown {
		m.logger.Info("ISR change refused", "topic", c.role.p.Topic, "partition", c.role.p.Index, "isr", c.change.NewISR,
			"partitionEpoch", c.change.PartitionEpoch, "err", err)
	}
	c.role.mu.Lock()
	defer c.role.mu.Unlock()
	return c.role.state.OnISRChangeRefused(c.change, outcome)
}

// isrChangeOutcome classifies the controller's refusal of one partition's
// ISR change by what it proves (Kafka's handleAlterPartitionError). Only
// INELIGIBLE_REPLICA proves that the change was refused at the partition
// epoch it was made at and so was never applied; the codes saying the
// controller holds a newer state (or none) leave the change pending until
// the image shows that state; anything else proves nothing.
func isrChangeOutcome(err error) replication.ISRChangeOutcome {
	switch {
	case errors.Is(err, kerr.IneligibleReplica):
		return replication.ISRChangeRejected
	case errors.Is(err, kerr.InvalidUpdateVersion), errors.Is(err, kerr.FencedLeaderEpoch),
		errors.Is(err, kerr.UnknownTopicID), errors.Is(err, kerr.UnknownTopicOrPartition),
		errors.Is(err, kerr.InvalidRequest):
		return replication.ISRChangeStale
	}
	return replication.ISRChangeUnknown
}
