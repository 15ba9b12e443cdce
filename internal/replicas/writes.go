package replicas

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

// Write is a write to a partition led here (a produce, a group's offsets,
// a DeleteRecords), from the check that this broker may take it to the
// wait for its acknowledgement.
type Write struct {
	m    *Manager
	p    *Replica
	role *leaderRole
}

// NewWrite starts a write to p, which this broker must lead at the
// image's leader epoch (writeRole): NOT_LEADER_OR_FOLLOWER otherwise, and
// KAFKA_STORAGE_ERROR once the log directory failed (even before the
// apply loop has ended the leader roles).
func (m *Manager) NewWrite(p *Replica) (*Write, error) {
	if m.logDirOffline() {
		return nil, offlineError
	}
	role, err := m.writeRole(p)
	if err != nil {
		return nil, err
	}
	return &Write{m: m, p: p, role: role}, nil
}

// CheckISR refuses an acks=all write before anything is appended when the
// ISR is smaller than min.insync.replicas (NOT_ENOUGH_REPLICAS), so the
// producer may retry safely.
func (w *Write) CheckISR(acks int16) error {
	w.role.mu.Lock()
	defer w.role.mu.Unlock()
	return w.role.state.CheckProduce(acks, int(w.p.Config().MinInsyncReplicas))
}

// Appended wakes followers long-polling for the records just appended, so
// that they copy them while the leader fsyncs.
func (w *Write) Appended() { w.p.WakeFetchers() }

// Wait waits until the records up to last may be acknowledged: fsynced
// here (which, for an ISR of the leader alone, commits them) and, for
// acks=all, committed by the ISR; or until timeout, ctx, or the end of the
// leadership. Every acks value waits for the fsync: records become visible
// to consumers only once committed, acks=0 ones included.
func (w *Write) Wait(ctx context.Context, last storage.Offset, acks int16, timeout time.Duration) error {
	if err := w.p.WaitDurable(last); err != nil {
		select {
		case <-w.m.stopping:
			// Shutting down closed the log under the wait: the
			// client retries elsewhere, as after any leadership end.
			return kerr.NotLeaderForPartition
		default:
			return err
		}
	}
	w.m.onLeaderAppend(w.role)
	if acks != replication.AcksAll {
		return nil
	}
	return w.m.waitReplicated(ctx, w.role, last, int(w.p.Config().MinInsyncReplicas), timeout)
}

// WaitLowWatermark waits until every live follower moved its log start to
// offset (DeleteRecords' answer) and returns the low watermark.
func (w *Write) WaitLowWatermark(ctx context.Context, offset storage.Offset, timeout time.Duration) (storage.Offset, error) {
	return w.m.waitLowWatermark(ctx, w.role, offset, timeout)
}

// ErrNotAReplica is returned for a follower fetch from a broker that is not
// a replica of the partition, or of a position the leader cannot have
// given; the Fetch handler answers REPLICA_NOT_AVAILABLE.
var ErrNotAReplica = errors.New("replicas: fetch from a broker that is not a follower of this partition")

// FollowerRead says what a follower's fetch may read.
type FollowerRead struct {
	// UpTo is where the read stops: the leader's log end, fsynced or
	// not, so that the leader's fsync and the follower's copy overlap.
	UpTo storage.Offset
	// HighWatermark is the leader's, after this fetch moved it.
	HighWatermark storage.Offset
	// Hold is set when the leader's replication throttle gives this
	// follower nothing for now; Throttled when what it reads counts
	// against that throttle (RecordThrottled).
	Hold, Throttled bool
}

// FollowerFetch records follower's fetch of p from offset (its log end)
// with its broker epoch (KIP-903) and log start, which may move the high
// watermark and propose an ISR change. A partition not led here answers
// NOT_LEADER_OR_FOLLOWER.
func (m *Manager) FollowerFetch(p *Replica, follower int32, brokerEpoch int64, offset storage.Offset, logStart int64) (FollowerRead, error) {
	role := m.leaderRoleOf(p)
	if role == nil {
		return FollowerRead{}, kerr.NotLeaderForPartition
	}
	role.noteFollowerLogStart(follower, logStart)
	if err := m.onFollowerFetch(role, follower, brokerEpoch, offset); err != nil {
		return FollowerRead{}, errors.Join(ErrNotAReplica, err)
	}
	read := FollowerRead{UpTo: p.Log().LogEndOffset(), HighWatermark: p.HighWatermark()}
	// A leader that crashes with an unsynced tail never leads again at
	// this epoch (its restart re-registers and moves leadership), so
	// followers holding that tail cannot diverge from it within one epoch.
	if th := role.throttle.Load(); th != nil {
		read.Hold = th.hold(m.leaderQuota, follower)
		read.Throttled = !read.Hold
	}
	return read, nil
}

// RecordThrottled counts bytes sent to followers of throttled partitions
// against the leader replication throttle, as the response goes.
func (m *Manager) RecordThrottled(bytes int64) {
	if bytes > 0 {
		m.leaderQuota.Record(bytes)
	}
}
