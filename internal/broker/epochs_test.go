package broker

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/partition"
)

// A replicated partition's leader saves its epoch history at the election,
// and a restarted broker reads it back.
func TestLeaderEpochCheckpointSavedAndLoaded(t *testing.T) {
	f := newThrottleFixture(t)
	p := f.b.partition(f.topic, 0)
	before := p.LeaderEpochs()
	if len(before) == 0 {
		t.Fatal("the leader has no epoch history")
	}
	path := filepath.Join(f.b.partitionDir(p), partition.LeaderEpochCheckpointName)
	if _, err := f.b.opts.FS.Stat(path); err != nil {
		t.Fatalf("no %s after the election: %v", partition.LeaderEpochCheckpointName, err)
	}
	if err := f.b.Close(); err != nil {
		t.Fatal(err)
	}
	b := New(f.b.opts)
	if err := b.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if after := b.partition(f.topic, 0).LeaderEpochs(); !slices.Equal(after, before) {
		t.Fatalf("epochs after the restart %v, before %v", after, before)
	}
}
