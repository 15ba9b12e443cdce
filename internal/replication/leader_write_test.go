package replication

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// Followers may copy what the leader wrote before its fsync; the high
// watermark still waits for the leader's own durable end.
func TestFollowerAheadOfLeaderDurableEnd(t *testing.T) {
	now := time.Unix(1000, 0)
	s, err := NewLeaderState(LeaderConfig{LeaderID: 1, LeaderEpoch: 3, Replicas: []BrokerID{1, 2, 3}, ISR: []BrokerID{1, 2, 3},
		LogEndOffset: 10, HighWatermark: 10, ReplicaLagTime: 5 * time.Second, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OnFollowerFetch(2, 20, now); !errors.Is(err, ErrFetchBeyondEnd) {
		t.Fatalf("a follower past everything the leader wrote: %v, want ErrFetchBeyondEnd", err)
	}
	s.OnLeaderWrite(20) // written, not fsynced
	for _, f := range []BrokerID{2, 3} {
		u, err := s.OnFollowerFetch(f, 20, now)
		if err != nil {
			t.Fatalf("follower %d at the leader's written end: %v", f, err)
		}
		if u.HighWatermark != 10 || u.HighWatermarkAdvanced {
			t.Fatalf("follower %d: high watermark %+v before the leader's fsync", f, u)
		}
	}
	u := s.OnLeaderAppend(20) // the leader's fsync
	if !u.HighWatermarkAdvanced || u.HighWatermark != 20 {
		t.Fatalf("after the leader's fsync: %+v, want high watermark 20", u)
	}
	// A follower ahead of the leader's durable end is in sync.
	s.OnLeaderWrite(30)
	if _, err := s.OnFollowerFetch(2, 30, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if update := s.Tick(now.Add(time.Minute)); update.Proposal != nil && !slices.Contains(update.Proposal.NewISR, 2) {
		t.Fatalf("follower 2, ahead of the leader's durable end, proposed out of the ISR: %+v", update.Proposal)
	}
}
