package replicas

import (
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/storage"
)

// Replica is one partition replica hosted here: its log (the embedded
// partition) and the high watermark, the offset below which its records
// are committed and visible to consumers. The high watermark has one
// owner: while this broker leads the partition, its leader state
// (replication.LeaderState, over the ISR) moves it; while it follows, the
// leader's fetch responses do. Every partition led here has a leader state,
// a one-replica partition with an ISR of itself.
//
// Fetches waiting for records register a channel (NotifyOnChange) that is
// signalled when the high watermark moves or, on a leader, when records
// arrive that followers may copy.
type Replica struct {
	*partition.Partition

	mu struct {
		sync.Mutex
		highWatermark storage.Offset
		waiters       []chan struct{}
	}
}

func newReplica(p *partition.Partition, highWatermark storage.Offset) *Replica {
	r := &Replica{Partition: p}
	r.mu.highWatermark = min(max(highWatermark, p.LogStartOffset()), p.LogEndOffset())
	return r
}

// HighWatermark is the offset below which records are committed.
func (r *Replica) HighWatermark() storage.Offset {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.highWatermark
}

// LastStableOffset is the offset below which read_committed consumers
// read: the high watermark, held back by the first transaction not yet
// ended by a committed marker.
func (r *Replica) LastStableOffset() storage.Offset {
	return r.LastStableOffsetAt(r.HighWatermark())
}

// advanceHighWatermark raises the high watermark to offset, bounded by the
// log end, and wakes waiting fetches. It never lowers it: a new leader may
// briefly report a lower one than its predecessor, and records once visible
// stay visible.
func (r *Replica) advanceHighWatermark(offset storage.Offset) {
	offset = min(offset, r.LogEndOffset())
	r.mu.Lock()
	if offset <= r.mu.highWatermark {
		r.mu.Unlock()
		return
	}
	r.mu.highWatermark = offset
	r.wakeAndUnlock()
}

// resetHighWatermark sets the high watermark after the log was cut: a
// follower's truncation (only an unclean election makes a follower lose
// committed records) or a restart at the leader's log start.
func (r *Replica) resetHighWatermark(offset storage.Offset) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.highWatermark = offset
}

// WakeFetchers wakes every waiting fetch though the high watermark did not
// move: followers long-poll a leader for records above it.
func (r *Replica) WakeFetchers() {
	r.mu.Lock()
	r.wakeAndUnlock()
}

// wakeAndUnlock notifies and clears the waiters; it is called with r.mu
// held and releases it before notifying.
func (r *Replica) wakeAndUnlock() {
	waiters := r.mu.waiters
	r.mu.waiters = nil
	r.mu.Unlock()
	for _, w := range waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// NotifyOnChange registers ch to receive a value (without blocking) the
// next time the high watermark moves or records arrive on a leader. A
// long-polling fetch registers one channel with every partition it reads.
func (r *Replica) NotifyOnChange(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.waiters = append(r.mu.waiters, ch)
}

// StopNotify removes ch from the waiters, so a finished fetch leaves no
// reference behind on idle partitions.
func (r *Replica) StopNotify(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range r.mu.waiters {
		if w == ch {
			r.mu.waiters = append(r.mu.waiters[:i], r.mu.waiters[i+1:]...)
			return
		}
	}
}

// DeleteRecordsBefore advances the log start offset (DeleteRecords): -1
// means up to the high watermark, and no offset may pass it, as in Kafka
// (OFFSET_OUT_OF_RANGE).
func (r *Replica) DeleteRecordsBefore(offset storage.Offset) (storage.Offset, error) {
	hw := r.HighWatermark()
	if offset < 0 {
		offset = hw
	}
	if offset > hw {
		return 0, kerr.OffsetOutOfRange
	}
	return r.Partition.DeleteRecordsBefore(offset)
}
