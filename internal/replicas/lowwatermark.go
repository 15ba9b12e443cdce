package replicas

// The low watermark of a replicated partition: the lowest log start offset
// over the leader and its live followers, as each follower reports its own
// in every fetch. DeleteRecords answers once it reached the requested
// offset, as Kafka's delayed DeleteRecords: the records are then gone from
// every replica, not only from the leader.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/storage"
)

// followerLogStarts is a leader role's view of its followers' log starts
// (guarded by the role's mu).
type followerLogStarts struct {
	starts map[int32]storage.Offset
	// moved is closed and replaced whenever a follower's log start moves.
	moved chan struct{}
}

func newFollowerLogStarts() followerLogStarts {
	return followerLogStarts{starts: map[int32]storage.Offset{}, moved: make(chan struct{})}
}

// noteFollowerLogStart records follower's log start from its fetch; a
// negative value (a fetch version without it) is ignored.
func (role *leaderRole) noteFollowerLogStart(follower int32, start int64) {
	if start < 0 {
		return
	}
	role.mu.Lock()
	defer role.mu.Unlock()
	if old, ok := role.logStarts.starts[follower]; ok && old == storage.Offset(start) {
		return
	}
	role.logStarts.starts[follower] = storage.Offset(start)
	close(role.logStarts.moved)
	role.logStarts.moved = make(chan struct{})
}

// lowWatermark is the lowest log start over the leader and the followers
// that are live and have reported one, and a channel closed when a
// follower's log start next moves.
func (m *Manager) lowWatermark(role *leaderRole) (storage.Offset, <-chan struct{}) {
	img := m.meta.Image()
	low := role.p.LogStartOffset()
	role.mu.Lock()
	defer role.mu.Unlock()
	for id, start := range role.logStarts.starts {
		if br, ok := img.Broker(id); ok && !br.Fenced && start < low {
			low = start
		}
	}
	return low, role.logStarts.moved
}

// waitLowWatermark waits until every live replica's log start reached
// offset, for at most timeout; it returns the low watermark then.
func (m *Manager) waitLowWatermark(ctx context.Context, role *leaderRole, offset storage.Offset, timeout time.Duration) (storage.Offset, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		low, moved := m.lowWatermark(role)
		if low >= offset {
			return low, nil
		}
		select {
		case <-moved:
		case <-role.ended:
			return 0, kerr.NotLeaderForPartition
		case <-m.stopping:
			return 0, kerr.NotLeaderForPartition
		case <-timer.C:
			return 0, kerr.RequestTimedOut
		case <-ctx.Done():
			return 0, kerr.RequestTimedOut
		}
	}
}
