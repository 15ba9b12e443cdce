package replicas

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestNoWriteWithoutTheLeaderRole is the broker half of issue 12: the
// metadata image names a broker leader before becomeLeader has set up the
// partition's leader role (subscribers run after the image is published),
// and still names it for a moment after dropLeaderRole when leadership
// moves. A write (a produce, a group's offsets, a DeleteRecords) in that
// window was taken as a write to a single-replica partition: appended and
// acknowledged after the local fsync alone, records no follower had, lost
// at the next election. It must be refused, retriably.
func TestNoWriteWithoutTheLeaderRole(t *testing.T) {
	f := newFixture(t)
	p := f.partition()
	f.m.dropLeaderRole(p) // the image still names broker 1 leader
	if _, err := f.m.NewWrite(p); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("a write with no leader role: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}

	// The role of the image's epoch back, the write is taken and waits for
	// the ISR.
	topic, _ := f.meta.Image().Topic(f.topic)
	f.m.applyRole(topic, p, topic.Partitions[0])
	write, err := f.m.NewWrite(p)
	if err != nil {
		t.Fatalf("a write with the leader role: %v", err)
	}
	if err := write.CheckISR(-1); err != nil {
		t.Fatalf("ISR [1 2] with min.insync.replicas 1: %v", err)
	}
	f.produce(1)
	last := p.LogEndOffset() - 1
	if err := write.Wait(f.ctx, last, 1, time.Second); err != nil {
		t.Fatalf("acks=1 wait: %v", err)
	}
	// Follower 2, in the ISR, has not fetched the record: the wait can
	// only time out.
	if err := write.Wait(f.ctx, last, -1, 20*time.Millisecond); !errors.Is(err, kerr.RequestTimedOut) {
		t.Fatalf("acks=all before the in-sync follower fetched: %v, want REQUEST_TIMED_OUT", err)
	}
	f.fetch(2, int64(last)+1)
	if err := write.Wait(f.ctx, last, -1, time.Minute); err != nil {
		t.Fatalf("acks=all after the follower fetched: %v", err)
	}
}

// TestAcknowledgementWaitsEndOnShutdown: a write waiting for the ISR, from
// a caller without a deadline (the group coordinator's), ends when the
// manager shuts down instead of holding the shutdown.
func TestAcknowledgementWaitsEndOnShutdown(t *testing.T) {
	f := newFixture(t)
	p := f.partition()
	write, err := f.m.NewWrite(p)
	if err != nil {
		t.Fatal(err)
	}
	f.produce(1) // follower 2, in the ISR, does not fetch it
	done := make(chan error, 1)
	go func() { done <- write.Wait(context.Background(), p.LogEndOffset()-1, -1, time.Hour) }()
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("wait at shutdown: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
}
