package replication

import (
	"testing"
	"time"
)

// BenchmarkOnFollowerFetch is the leader's work per follower fetch.
func BenchmarkOnFollowerFetch(b *testing.B) {
	b.ReportAllocs()
	now := time.Unix(0, 0)
	s, err := NewLeaderState(LeaderConfig{LeaderID: 1, LeaderEpoch: 1, Replicas: []BrokerID{1, 2, 3},
		ISR: []BrokerID{1, 2, 3}, LogEndOffset: 0, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		leo := Offset(i + 1)
		s.OnLeaderAppend(leo)
		now = now.Add(time.Millisecond)
		if _, err := s.OnFollowerFetch(BrokerID(2+i%2), leo, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAckReady(b *testing.B) {
	b.ReportAllocs()
	s, err := NewLeaderState(LeaderConfig{LeaderID: 1, Replicas: []BrokerID{1, 2, 3}, ISR: []BrokerID{1, 2, 3}, LogEndOffset: 100, HighWatermark: 100})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if d := s.AckReady(50, AcksAll, 2); !d.Done {
			b.Fatal("not done")
		}
	}
}
