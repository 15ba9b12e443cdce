package replication

import (
	"context"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/testclock"
)

// TestFetcherFollowerThrottle drives the follower quota with a stopped
// clock: a throttled partition that has not caught up sits out every fetch
// once its quota is spent, while an unthrottled partition from the same
// leader replicates in full; refilling the quota lets one more response
// through, releasing the throttle lets the partition catch up, and once
// caught up it is never held again.
func TestFetcherFollowerThrottle(t *testing.T) {
	l := newFakeLeader()
	slow, fast := TopicPartition{Topic: "t", Partition: 0}, TopicPartition{Topic: "t", Partition: 1}
	l.lead(t, slow, newTestPartition(t, 0), 1, []BrokerID{1, 2}, []BrokerID{1})
	l.lead(t, fast, newTestPartition(t, 1), 1, []BrokerID{1, 2}, []BrokerID{1})
	l.produce(t, slow, "a", 20)
	l.produce(t, fast, "b", 20)

	clock := testclock.At(time.Unix(1000, 0))
	quota := NewQuota(clock.Now)
	quota.SetRate(10) // below one batch: every response overdraws it
	f := NewFetcher(context.Background(), FetcherConfig{ReplicaID: 2, Dial: l.dial,
		MaxWait: 20 * time.Millisecond, Backoff: 5 * time.Millisecond, PartitionMaxBytes: 300, Quota: quota})
	t.Cleanup(f.Close)
	slowReplica, fastReplica := newTestPartition(t, 0), newTestPartition(t, 1)
	f.SetThrottled(slow, true) // before Follow: kept until Follow picks it up
	for tp, r := range map[TopicPartition]FollowerReplica{slow: slowReplica, fast: fastReplica} {
		if err := f.Follow(1, tp, r, 1); err != nil {
			t.Fatal(err)
		}
	}

	waitFor(t, fastReplica, "the unthrottled partition to catch up", func() bool { return fastReplica.HighWatermark() == 40 })
	waitFor(t, slowReplica, "the throttled partition to be held", func() bool { return quota.ThrottledSends() >= 3 })
	held := slowReplica.LogEndOffset()
	if held == 0 || held >= 40 {
		t.Fatalf("throttled replica at %d: want the first response only (0 < LEO < 40)", held)
	}
	// More rounds with the clock stopped move nothing.
	sends := quota.ThrottledSends()
	waitFor(t, slowReplica, "more held rounds", func() bool { return quota.ThrottledSends() >= sends+2 })
	if got := slowReplica.LogEndOffset(); got != held {
		t.Fatalf("throttled replica moved from %d to %d with its quota spent", held, got)
	}

	clock.Advance(time.Hour) // refills one second's worth: one more response
	waitFor(t, slowReplica, "one more response after the refill", func() bool { return slowReplica.LogEndOffset() > held })

	f.SetThrottled(slow, false)
	waitFor(t, slowReplica, "the released partition to catch up", func() bool { return slowReplica.HighWatermark() == 40 })

	// Caught up, the replica is in sync: a spent quota no longer holds it.
	f.SetThrottled(slow, true)
	quota.Record(1 << 20)
	l.produce(t, slow, "c", 2)
	waitFor(t, slowReplica, "the in-sync throttled replica to keep up", func() bool { return slowReplica.HighWatermark() == 44 })
}
