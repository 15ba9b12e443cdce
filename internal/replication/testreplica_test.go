package replication

import (
	"sync"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/storage"
)

// testReplica is a FollowerReplica for the fetcher's tests: a partition's
// log and a high watermark moved by the leader's responses (on the
// leader's side, by the test), with waiters woken when it moves. The
// replica manager's Replica is the real one.
type testReplica struct {
	*partition.Partition
	mu      sync.Mutex
	hw      storage.Offset
	waiters []chan struct{}
}

var _ FollowerReplica = (*testReplica)(nil)

func (r *testReplica) HighWatermark() Offset {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hw
}

// AdvanceHighWatermark raises the high watermark, never past the log end,
// and wakes the waiters.
func (r *testReplica) AdvanceHighWatermark(offset Offset) {
	offset = min(offset, r.LogEndOffset())
	r.mu.Lock()
	if offset > r.hw {
		r.hw = offset
	}
	waiters := r.waiters
	r.waiters = nil
	r.mu.Unlock()
	for _, w := range waiters {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (r *testReplica) UpdateFollowerHighWatermark(leaderHighWatermark Offset) {
	r.AdvanceHighWatermark(min(leaderHighWatermark, r.DurableEnd()))
}

func (r *testReplica) TruncateTo(offset Offset) error {
	if err := r.Partition.TruncateTo(offset); err != nil {
		return err
	}
	r.mu.Lock()
	r.hw = min(r.hw, r.LogEndOffset())
	r.mu.Unlock()
	return nil
}

func (r *testReplica) TruncateFullyAndStartAt(offset Offset) error {
	if err := r.Partition.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	r.mu.Lock()
	r.hw = offset
	r.mu.Unlock()
	return nil
}

func (r *testReplica) NotifyOnAppend(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiters = append(r.waiters, ch)
}

func (r *testReplica) StopNotify(ch chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, w := range r.waiters {
		if w == ch {
			r.waiters = append(r.waiters[:i], r.waiters[i+1:]...)
			return
		}
	}
}
