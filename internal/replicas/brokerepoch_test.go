package replicas

import (
	"context"
	"slices"
	"testing"
	"time"
)

// fetchWithEpoch fetches partition 0 from offset as replica, with the
// broker epoch a Fetch v15 carries in ReplicaState (KIP-903).
func (f *fixture) fetchWithEpoch(replica int32, epoch, offset int64) {
	f.t.Helper()
	f.fetchAs(replica, epoch, offset, 0)
}

// proposalSettled waits until the leader has no ISR change in flight: the
// controller applied or refused the last one.
func (f *fixture) proposalSettled() {
	f.t.Helper()
	role := f.m.leaderRoleOf(f.partition())
	deadline := time.Now().Add(10 * time.Second)
	for {
		role.mu.Lock()
		pending := role.state.Pending()
		role.mu.Unlock()
		if pending == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("ISR change %+v still pending; image ISR %v", pending, f.isr())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) isr() []int32 {
	topic, _ := f.meta.Image().Topic(f.topic)
	return slices.Sorted(slices.Values(topic.Partitions[0].ISR))
}

// TestStaleBrokerEpochDoesNotJoinTheISR: a caught-up follower whose fetch
// carries a broker epoch other than its registration's (a fetch of its
// previous incarnation) is not added to the ISR; the same follower
// fetching with its current epoch is.
func TestStaleBrokerEpochDoesNotJoinTheISR(t *testing.T) {
	f := newFixture(t)
	// The sender takes the leader's ISR proposals to the controller.
	ctx, cancel := context.WithCancel(f.ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); f.m.alterPartitionLoop(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })
	br, ok := f.meta.Image().Broker(3)
	if !ok {
		t.Fatal("broker 3 not registered")
	}

	f.fetchWithEpoch(3, br.Epoch-1, 100)
	f.proposalSettled()
	if got := f.isr(); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("ISR after a stale-epoch fetch: %v, want [1 2]", got)
	}

	f.fetchWithEpoch(3, br.Epoch, 100)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Equal(f.isr(), []int32{1, 2, 3}) {
		if time.Now().After(deadline) {
			t.Fatalf("ISR after a current-epoch fetch: %v, want [1 2 3]", f.isr())
		}
		f.proposalSettled()
		f.fetchWithEpoch(3, br.Epoch, 100)
	}
}
