package replicas

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// DeleteRecords on a replicated partition answers once every live
// replica's log start reached the offset: the low watermark.
func TestDeleteRecordsWaitsForTheLowWatermark(t *testing.T) {
	f := newFixture(t) // high watermark 100, followers 2 and 3
	reportLogStart := func(replica int32, logStart int64) {
		t.Helper()
		f.fetchAs(replica, -1, 100, logStart)
	}
	reportLogStart(2, 0)
	reportLogStart(3, 0)

	p := f.partition()
	write, err := f.m.NewWrite(p)
	if err != nil {
		t.Fatal(err)
	}
	low, err := p.DeleteRecordsBefore(50)
	if err != nil || low != 50 {
		t.Fatalf("DeleteRecordsBefore: %d, %v", low, err)
	}
	// Follower 3 still holds offset 0: the wait can only time out.
	reportLogStart(2, 50)
	if _, err := write.WaitLowWatermark(f.ctx, 50, 20*time.Millisecond); !errors.Is(err, kerr.RequestTimedOut) {
		t.Fatalf("low watermark wait while follower 3 holds offset 0: %v, want REQUEST_TIMED_OUT", err)
	}
	reportLogStart(3, 50)
	if low, err := write.WaitLowWatermark(f.ctx, 50, time.Minute); err != nil || low != 50 {
		t.Fatalf("low watermark %d, %v; want 50", low, err)
	}
	if start := p.LogStartOffset(); start != 50 {
		t.Fatalf("leader's log start %d, want 50", start)
	}

	// A leadership that ended ends the wait.
	write, err = f.m.NewWrite(p)
	if err != nil {
		t.Fatal(err)
	}
	f.m.dropLeaderRole(p)
	if _, err := write.WaitLowWatermark(f.ctx, 60, time.Minute); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("wait after the leadership ended: %v, want NOT_LEADER_OR_FOLLOWER", err)
	}
}
