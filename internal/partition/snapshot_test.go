package partition

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// TestCleanReopenReplaysNothing: after a clean close the state comes from
// the snapshot at the log end, with no batch read, and equals the state
// before, down to a retry of the oldest batch in a producer's window.
func TestCleanReopenReplaysNothing(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	g := newGen(t, p, 0, 0)
	g.run(90)
	before := stateOf(p)
	if d := before.diff(fullScan(t, p)); d != "" {
		t.Fatalf("live state against a full scan: %s", d)
	}
	if len(before.txns) == 0 || len(before.aborted) == 0 || len(before.epochs) < 3 {
		t.Fatalf("workload too thin: %+v", before)
	}
	mustClose(t, p)
	files := snapshotFiles(t, fs)
	if len(files) < 2 || len(files) > maxSnapshots || files[len(files)-1] != int64(before.end) {
		t.Fatalf("snapshots %v, want 2..%d ending at %d", files, maxSnapshots, before.end)
	}

	ops := fs.Ops()
	p = openPartition(t, fs, snapCfg())
	if p.rebuilt.batches != 0 || p.rebuilt.snapshot != int64(before.end) {
		t.Fatalf("rebuild %+v, want none from the snapshot at %d", p.rebuilt, before.end)
	}
	if fs.Ops() != ops {
		t.Fatalf("opening a cleanly closed partition wrote: %d operations", fs.Ops()-ops)
	}
	if d := stateOf(p).diff(before); d != "" {
		t.Fatal(d)
	}
	window := g.sent[1][len(g.sent[1])-maxBatchesPerProducer]
	res, err := appendOne(t, p, window.b, window.h)
	if err != nil || !res.Duplicate || res.BaseOffset != window.res.BaseOffset {
		t.Fatalf("retry of the oldest batch in the window: %+v %v, want duplicate at %d", res, err, window.res.BaseOffset)
	}
	mustClose(t, p)
}

// TestCrashReopenReplaysFromRollSnapshot: after a crash the log's
// recovery begins at the active segment, and so does the replay, from the
// snapshot taken when it was rolled.
func TestCrashReopenReplaysFromRollSnapshot(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	g := newGen(t, p, 0, 0)
	g.run(90)
	before := stateOf(p)
	fs.Crash()
	p = openPartition(t, fs, snapCfg())
	if p.rebuilt.snapshot <= 0 || p.rebuilt.batches == 0 || p.rebuilt.batches > 12 {
		t.Fatalf("rebuild %+v of %d batches, want a few from a roll snapshot", p.rebuilt, g.batches)
	}
	if d := stateOf(p).diff(before); d != "" {
		t.Fatal(d)
	}
	mustClose(t, p)
}

// TestTruncateBelowSnapshots: a follower's truncation deletes the
// snapshots above the new end and rebuilds from the newest one left; what
// it rebuilds is what a full scan gives, before and after a reopen.
func TestTruncateBelowSnapshots(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	newGen(t, p, 0, 0).run(90)
	files := snapshotFiles(t, fs)
	cut := storage.Offset(files[len(files)-3] + 1)
	if err := p.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	end := p.LogEndOffset()
	if got := snapshotFiles(t, fs); !slices.Equal(got, files[:len(files)-2]) || got[len(got)-1] > int64(end) {
		t.Fatalf("after truncation to %d snapshots %v (before %v)", end, got, files)
	}
	if p.rebuilt.snapshot != files[len(files)-3] || p.rebuilt.batches > 2 {
		t.Fatalf("rebuild %+v, want from %d", p.rebuilt, files[len(files)-3])
	}
	if d := stateOf(p).diff(fullScan(t, p)); d != "" {
		t.Fatal(d)
	}
	g := newGen(t, p, 100, 20) // the truncated producers' sequences moved back
	g.run(30)
	before := stateOf(p)
	if d := before.diff(fullScan(t, p)); d != "" {
		t.Fatalf("after appending past the truncation: %s", d)
	}
	mustClose(t, p)
	p = openPartition(t, fs, snapCfg())
	if d := stateOf(p).diff(before); d != "" || p.rebuilt.batches != 0 {
		t.Fatalf("after reopen: %s, rebuild %+v", d, p.rebuilt)
	}

	if err := p.TruncateFullyAndStartAt(p.LogEndOffset() + 5); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, fs); len(got) != 0 {
		t.Fatalf("snapshots %v after restarting the log", got)
	}
	mustClose(t, p)
	p = openPartition(t, fs, snapCfg())
	if p.producers.Len() != 0 || len(stateOf(p).txns) != 0 {
		t.Fatalf("producer state of the old log after a restart: %v", p.Producers())
	}
	mustClose(t, p)
}

// TestRetentionBelowSnapshots: retention deletes the snapshots below the
// new log start, and the state, producers of deleted batches included,
// survives a reopen without a replay.
func TestRetentionBelowSnapshots(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	newGen(t, p, 0, 0).run(90)
	cfg := snapCfg()
	cfg.RetentionBytes = 1500
	p.Log().SetConfig(cfg)
	if n, err := p.Log().ApplyRetention(time.UnixMilli(2000)); err != nil || n == 0 {
		t.Fatalf("retention deleted %d segments: %v", n, err)
	}
	p.ExpireProducers(0) // the retention pass's partition step
	start := p.LogStartOffset()
	files := snapshotFiles(t, fs)
	if len(files) == 0 || files[0] < int64(start) {
		t.Fatalf("snapshots %v with the log starting at %d", files, start)
	}
	if _, err := p.DeleteRecordsBefore(storage.Offset(files[1])); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, fs); !slices.Equal(got, files[1:]) {
		t.Fatalf("after DeleteRecords snapshots %v, want %v", got, files[1:])
	}
	before := stateOf(p)
	if full := fullScan(t, p); before.diff(full) == "" {
		t.Fatal("retention removed no producer: the test shows nothing")
	}
	mustClose(t, p)
	p = openPartition(t, fs, snapCfg())
	if d := stateOf(p).diff(before); d != "" || p.rebuilt.batches != 0 {
		t.Fatalf("after reopen: %s, rebuild %+v", d, p.rebuilt)
	}
	// Truncating below the log start restarts the log empty: no snapshot
	// of the old one may describe it.
	if err := p.TruncateTo(p.LogStartOffset() - 1); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, fs); len(got) != 0 || p.producers.Len() != 0 {
		t.Fatalf("after truncating below the log start: snapshots %v, producers %v", got, p.Producers())
	}
	mustClose(t, p)
}

// TestCorruptSnapshotFallsBack: a damaged snapshot is skipped and deleted,
// and an older one or the whole log used instead.
func TestCorruptSnapshotFallsBack(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	newGen(t, p, 0, 0).run(90)
	before := stateOf(p)
	mustClose(t, p)
	files := snapshotFiles(t, fs)
	flip := func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }
	overwrite(t, fs, producerstate.SnapshotFileName(files[len(files)-1]), flip)
	p = openPartition(t, fs, snapCfg())
	if p.rebuilt.snapshot != files[len(files)-2] || p.rebuilt.batches == 0 {
		t.Fatalf("rebuild %+v, want from the older snapshot %d", p.rebuilt, files[len(files)-2])
	}
	if d := stateOf(p).diff(before); d != "" {
		t.Fatal(d)
	}
	if got := snapshotFiles(t, fs); slices.Contains(got, files[len(files)-1]) {
		t.Fatalf("corrupt snapshot kept: %v", got)
	}
	mustClose(t, p) // writes a good one at the end again
	for _, o := range snapshotFiles(t, fs) {
		overwrite(t, fs, producerstate.SnapshotFileName(o), func(b []byte) []byte { return b[:len(b)-1] })
	}
	p = openPartition(t, fs, snapCfg())
	if p.rebuilt.snapshot != -1 || p.rebuilt.batches != countBatches(t, p) {
		t.Fatalf("rebuild %+v, want a full scan", p.rebuilt)
	}
	if d := stateOf(p).diff(before); d != "" {
		t.Fatal(d)
	}
	mustClose(t, p)
}

// countBatches counts the batches of p's log.
func countBatches(t *testing.T, p *Partition) int {
	t.Helper()
	n := 0
	if err := p.log.ScanBatches(p.LogStartOffset(), func(recordbatch.Header) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTxnIndexRebuiltBelowSnapshot: when the log could not load a
// segment's transaction index, the rebuild starts from a snapshot at or
// below that segment so that every aborted transaction is indexed again.
func TestTxnIndexRebuiltBelowSnapshot(t *testing.T) {
	fs := vfs.NewMem()
	p := openPartition(t, fs, snapCfg())
	newGen(t, p, 0, 0).run(90)
	before := stateOf(p)
	mustClose(t, p)
	names, _ := fs.ReadDir("p")
	var damaged string
	for _, name := range names {
		if strings.HasSuffix(name, ".txnindex") && damaged == "" {
			damaged = name
		}
	}
	if damaged == "" {
		t.Fatalf("no transaction index among %v", names)
	}
	overwrite(t, fs, damaged, func(b []byte) []byte { return b[:5] })
	p = openPartition(t, fs, snapCfg())
	from := p.Log().TxnIndexRebuildFrom()
	if p.rebuilt.snapshot > int64(from) || p.rebuilt.from > from {
		t.Fatalf("rebuild %+v, must start at or below %d", p.rebuilt, from)
	}
	if d := stateOf(p).diff(before); d != "" {
		t.Fatal(d)
	}
	mustClose(t, p)
}
