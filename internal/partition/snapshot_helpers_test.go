package partition

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// snapCfg rolls a segment every few batches, so that snapshots pile up.
func snapCfg() storage.Config {
	c := storage.DefaultConfig()
	c.SegmentBytes = 600
	return c
}

// sent is a batch the workload appended, for retries.
type sent struct {
	b   []byte
	h   recordbatch.Header
	res AppendResult
}

// gen drives a deterministic workload of idempotent producers past their
// window, transactions committed, aborted and left open, plain batches and
// leader elections. Producer ids start at pidBase, so that a second gen
// on the same partition has producers of its own.
type gen struct {
	t       *testing.T
	p       *Partition
	pidBase int64
	sync    bool // wait for each append to be durable
	epoch   int32
	seqs    map[int64]int32
	open    map[int64]bool
	sent    map[int64][]sent
	batches int
}

func newGen(t *testing.T, p *Partition, pidBase int64, epoch int32) *gen {
	return &gen{t: t, p: p, pidBase: pidBase, epoch: epoch, sync: true,
		seqs: map[int64]int32{}, open: map[int64]bool{}, sent: map[int64][]sent{}}
}

// append appends one batch and fails the test on error.
func (g *gen) append(b []byte, h recordbatch.Header) AppendResult {
	g.t.Helper()
	res, err := g.tryAppend(b, h)
	if err != nil {
		g.t.Fatal(err)
	}
	return res
}

func (g *gen) tryAppend(b []byte, h recordbatch.Header) (AppendResult, error) {
	res, err := appendOne(g.t, g.p, b, h)
	if err == nil {
		g.batches++
		if g.sync {
			err = g.p.WaitDurable(res.LastOffset)
		}
	}
	return res, err
}

func (g *gen) idempotent(pid int64, n int, transactional bool) {
	g.t.Helper()
	pid += g.pidBase
	b, h := batch(pid, 0, g.seqs[pid], n)
	if transactional {
		b, h = txnBatch(pid, 0, g.seqs[pid], n)
		g.open[pid] = true
	}
	g.seqs[pid] += int32(n)
	g.sent[pid] = append(g.sent[pid], sent{b: b, h: h, res: g.append(b, h)})
}

func (g *gen) end(pid int64, commit bool) {
	g.t.Helper()
	pid += g.pidBase
	if !g.open[pid] {
		return
	}
	res := mustMarker(g.t, g.p, pid, 0, commit)
	g.batches++
	g.open[pid] = false
	if g.sync {
		if err := g.p.WaitDurable(res.LastOffset); err != nil {
			g.t.Fatal(err)
		}
	}
}

// run appends n steps of the workload.
func (g *gen) run(n int) {
	g.t.Helper()
	for i := range n {
		txnPID := int64(10 + (i/7)%3)
		switch i % 7 {
		case 0:
			g.idempotent(1, 2, false)
		case 1:
			g.idempotent(2, 1, false)
		case 2:
			g.idempotent(txnPID, 2, true)
		case 3:
			b, h := batch(-1, -1, -1, 2)
			g.append(b, h)
		case 4:
			g.end(txnPID, (i/7)%4 != 1)
		case 5:
			g.idempotent(3, 3, false)
		case 6:
			if i%21 == 6 {
				g.epoch++
				g.p.BecomeLeader(g.epoch)
			}
			g.idempotent(4, 1, false)
		}
	}
}

// state is everything a rebuild must reproduce.
type state struct {
	producers  []byte // the Manager's canonical encoding
	txns       []producerstate.Txn
	epochs     []EpochStart
	lso        []int64 // at a few high watermarks
	aborted    []storage.AbortedTxn
	start, end storage.Offset
}

func stateOf(p *Partition) state {
	p.appendMu.Lock()
	s := state{producers: p.producers.EncodeSnapshot(producerstate.Snapshot{}), txns: p.txns.snapshot()}
	p.appendMu.Unlock()
	s.epochs = p.LeaderEpochs()
	s.start, s.end = p.LogStartOffset(), p.LogEndOffset()
	s.aborted = p.AbortedTxns(0, math.MaxInt64)
	// On a copy: the tracker forgets spans below the high watermarks it
	// is asked about.
	var copied txnTracker
	copied.restore(s.txns)
	for _, hw := range []storage.Offset{s.start, (s.start + s.end) / 2, s.end - 3, s.end} {
		s.lso = append(s.lso, copied.lastStableOffset(int64(max(hw, s.start))))
	}
	return s
}

func (s state) diff(o state) string {
	switch {
	case !bytes.Equal(s.producers, o.producers):
		return "producers differ"
	case !slices.Equal(s.txns, o.txns):
		return fmt.Sprintf("transactions %v, want %v", s.txns, o.txns)
	case !slices.Equal(s.epochs, o.epochs):
		return fmt.Sprintf("epochs %v, want %v", s.epochs, o.epochs)
	case !slices.Equal(s.lso, o.lso):
		return fmt.Sprintf("last stable offsets %v, want %v", s.lso, o.lso)
	case !slices.Equal(s.aborted, o.aborted):
		return fmt.Sprintf("aborted %v, want %v", s.aborted, o.aborted)
	case s.start != o.start || s.end != o.end:
		return fmt.Sprintf("log [%d, %d), want [%d, %d)", s.start, s.end, o.start, o.end)
	}
	return ""
}

// fullScan is the state rebuilt from every batch of p's log, ignoring
// snapshots and touching no file.
func fullScan(t *testing.T, p *Partition) state {
	t.Helper()
	q := &Partition{Topic: p.Topic, Index: p.Index, log: p.log}
	q.appendMu.Lock()
	q.mu.Lock()
	err := q.rebuildLocked(math.MaxInt64, true)
	q.mu.Unlock()
	q.appendMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return stateOf(q)
}

// snapshotFiles lists the snapshot offsets in the partition directory.
func snapshotFiles(t *testing.T, fs vfs.FS) []int64 {
	t.Helper()
	names, err := fs.ReadDir("p")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, name := range names {
		if o, ok := producerstate.ParseSnapshotFileName(name); ok {
			out = append(out, o)
		}
	}
	return out
}

// overwrite replaces a file's content durably.
func overwrite(t *testing.T, fs vfs.FS, name string, edit func(b []byte) []byte) {
	t.Helper()
	path := filepath.Join("p", name)
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := f.Size()
	b := make([]byte, size)
	_, _ = f.ReadAt(b, 0)
	f.Close()
	if f, err = fs.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(edit(b)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func mustClose(t *testing.T, p *Partition) {
	t.Helper()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
