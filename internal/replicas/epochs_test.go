package replicas

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/partition"
)

// A replicated partition's leader saves its epoch history at the election,
// and a restarted broker reads it back.
func TestLeaderEpochCheckpointSavedAndLoaded(t *testing.T) {
	f := newFixture(t)
	p := f.partition()
	before := p.LeaderEpochs()
	if len(before) == 0 {
		t.Fatal("the leader has no epoch history")
	}
	path := filepath.Join(f.m.partitionDir(p), partition.LeaderEpochCheckpointName)
	if _, err := f.m.opts.FS.Stat(path); err != nil {
		t.Fatalf("no %s after the election: %v", partition.LeaderEpochCheckpointName, err)
	}
	f.restart()
	if after := f.partition().LeaderEpochs(); !slices.Equal(after, before) {
		t.Fatalf("epochs after the restart %v, before %v", after, before)
	}
}
