package partition

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// crashSetup is a partition with a synced workload behind it.
func crashSetup(t *testing.T) (*vfs.MemFS, *Partition, *gen) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	g := newGen(t, p, 0, 0)
	g.run(40)
	return fs, p, g
}

// snapshotTriggers write a snapshot: Close at the log end, and an append
// that rolls a segment at its base. Errors are expected once the file
// system fails.
var snapshotTriggers = map[string]func(p *Partition, g *gen){
	"close": func(p *Partition, _ *gen) { _ = p.Close() },
	"roll": func(p *Partition, g *gen) {
		b, h := batch(g.pidBase+5, 0, 0, 30)
		_, _ = g.tryAppend(b, h)
	},
}

// TestSnapshotWriteCrashAtEveryOp fails every file operation of a
// snapshot's trigger in turn, from the first to the last, crashes and
// reopens: the state is always what a full scan of the recovered log
// gives, and after a close, whose log was synced, the state before.
func TestSnapshotWriteCrashAtEveryOp(t *testing.T) {
	for name, trigger := range snapshotTriggers {
		fs, p, g := crashSetup(t)
		files := snapshotFiles(t, fs)
		ops := fs.Ops()
		trigger(p, g)
		n := fs.Ops() - ops
		if got := snapshotFiles(t, fs); slices.Equal(got, files) {
			t.Fatalf("%s wrote no snapshot: %v", name, got)
		}
		for k := int64(1); k <= n; k++ {
			t.Run(fmt.Sprintf("%s/%d", name, k), func(t *testing.T) {
				fs, p, g := crashSetup(t)
				before := stateOf(p)
				fs.FailAt(k)
				trigger(p, g)
				fs.Crash()
				q := openPartition(t, fs, snapCfg())
				got := stateOf(q)
				if d := got.diff(fullScan(t, q)); d != "" {
					t.Fatalf("against a full scan: %s", d)
				}
				if d := got.diff(before); name == "close" && d != "" {
					t.Fatalf("against the state before: %s", d)
				}
				mustClose(t, q)
			})
		}
	}
}

// TestRelaxedFlushCrashDropsSnapshotsAboveLogEnd: with flush.messages
// relaxed, roll snapshots describe batches a crash loses. Reopening
// deletes them, durably, before anything is appended, so that new batches
// at the same offsets are never described by them, through a second crash.
func TestRelaxedFlushCrashDropsSnapshotsAboveLogEnd(t *testing.T) {
	cfg := snapCfg()
	cfg.FlushMessages = 1 << 20
	fs := vfs.NewMem()
	p := openPartition(t, fs, cfg)
	g := newGen(t, p, 0, 0)
	g.sync = false
	g.run(30)
	if err := p.Log().Sync(p.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	durable := int64(p.LogEndOffset())
	g.run(60)
	if files := snapshotFiles(t, fs); files[len(files)-1] <= durable {
		t.Fatalf("no snapshot above the durable end %d: %v", durable, files)
	}
	fs.Crash()

	p = openPartition(t, fs, cfg)
	end := int64(p.LogEndOffset())
	if files := snapshotFiles(t, fs); len(files) > 0 && files[len(files)-1] > end {
		t.Fatalf("snapshots %v above the recovered log end %d", files, end)
	}
	if d := stateOf(p).diff(fullScan(t, p)); d != "" {
		t.Fatal(d)
	}
	// No roll from here on, so no fsync of the directory but New's makes
	// the deletions durable.
	big := cfg
	big.SegmentBytes = 1 << 30
	p.Log().SetConfig(big)
	g = newGen(t, p, 1000, 50)
	g.sync = false
	g.run(60)
	if err := p.Log().Sync(p.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	p = openPartition(t, fs, cfg)
	if d := stateOf(p).diff(fullScan(t, p)); d != "" {
		t.Fatalf("after the second crash: %s", d)
	}
	mustClose(t, p)
}

// TestSnapshotsUnderRandomFaults runs seeded histories of appends, syncs,
// truncations, clean restarts and crashes (some in the middle of an I/O
// that fails): after every reopen the state is what a full scan gives.
func TestSnapshotsUnderRandomFaults(t *testing.T) {
	for seed := int64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			cfg := snapCfg()
			if seed%2 == 0 {
				cfg.FlushMessages = 1 << 20
			}
			fs := vfs.NewMem()
			p := openPartition(t, fs, cfg)
			for round := range 12 {
				p = randomRound(t, fs, p, cfg, rng, int64(round+1)*100)
				if d := stateOf(p).diff(fullScan(t, p)); d != "" {
					t.Fatalf("round %d: %s", round, d)
				}
			}
			mustClose(t, p)
		})
	}
}

// randomRound appends with fresh producers, then truncates, restarts or
// crashes, and returns the partition open again.
func randomRound(t *testing.T, fs *vfs.MemFS, p *Partition, cfg storage.Config, rng *rand.Rand, pidBase int64) *Partition {
	g := newGen(t, p, pidBase, p.LatestEpoch()+1)
	g.sync = rng.Intn(2) == 0
	g.run(5 + rng.Intn(40))
	switch rng.Intn(4) {
	case 0:
		end := p.LogEndOffset()
		if err := p.TruncateTo(end - storage.Offset(rng.Intn(int(end-p.LogStartOffset())+1))); err != nil {
			t.Fatal(err)
		}
		return p
	case 1:
		mustClose(t, p)
	case 2:
		fs.Crash()
	case 3:
		fs.FailAt(int64(1 + rng.Intn(12)))
		b, h := batch(pidBase+7, 0, 0, 1+rng.Intn(30))
		_, _ = g.tryAppend(b, h)
		_ = p.Close()
		fs.Crash()
	}
	return openPartition(t, fs, cfg)
}
