package storage

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/testclock"
	"github.com/fjordhq/fjord/internal/vfs"
)

// txnFor is the aborted transaction whose marker of producer pid is at
// last: a pure function, so that the log alone says which entries the
// index must hold.
func txnFor(pid int64, last Offset) AbortedTxn {
	return AbortedTxn{ProducerID: pid, FirstOffset: max(0, last-2), LastOffset: last, LastStableOffset: last + 1}
}

// runTxnWorkload appends transactions of two keyed batches ended by an
// abort marker, with syncs, rolls, compaction, DeleteRecordsBefore and
// truncation in between, until the first error.
func runTxnWorkload(l *Log, clock *testclock.Clock, seed int64) error {
	rng := rand.New(rand.NewSource(seed))
	for round := 0; round < 14; round++ {
		for k := 0; k < 2; k++ {
			b := keyedBatch(recordbatch.CodecNone, clock.Now().UnixMilli(), -1, kv{keyName(rng.Intn(3)), val("v")})
			if _, err := l.Append(b, 1); err != nil {
				return err
			}
		}
		pid := seed*1000 + int64(round)
		info, err := l.Append(abortMarker(pid), 1)
		if err != nil {
			return err
		}
		if err := l.AddAbortedTxn(txnFor(pid, info.BaseOffset)); err != nil {
			return err
		}
		if err := txnWorkloadStep(l, clock, rng); err != nil {
			return err
		}
	}
	return nil
}

func txnWorkloadStep(l *Log, clock *testclock.Clock, rng *rand.Rand) error {
	switch rng.Intn(7) {
	case 0, 1:
		return l.Sync(l.LogEndOffset())
	case 2:
		clock.Advance(2 * time.Hour)
		if _, err := l.ApplyRetention(clock.Now()); err != nil {
			return err
		}
		return l.Sync(l.LogEndOffset())
	case 3:
		_, err := l.Compact(context.Background(), CompactOptions{Now: clock.Now(), DeleteRetention: time.Hour})
		return err
	case 4:
		return l.DeleteRecordsBefore(min(l.LogEndOffset(), l.LogStartOffset()+Offset(rng.Intn(4))))
	case 5:
		return l.TruncateTo(l.LogEndOffset() - Offset(rng.Intn(4)))
	}
	return nil
}

// rebuildTxns is the owner's part after Open: it adds back the entry of
// every marker from TxnIndexRebuildFrom on.
func rebuildTxns(l *Log) error {
	from := l.TxnIndexRebuildFrom()
	return l.ScanBatches(from, func(h recordbatch.Header) error {
		if !h.Control() || Offset(h.BaseOffset) < from {
			return nil
		}
		return l.AddAbortedTxn(txnFor(h.ProducerID, Offset(h.BaseOffset)))
	})
}

// checkTxnsMatchLog checks that the index holds exactly the entries of the
// markers in [log start, TxnIndexRebuildFrom): none lost, none stale.
func checkTxnsMatchLog(t *testing.T, l *Log, what string) {
	t.Helper()
	start, from := l.LogStartOffset(), l.TxnIndexRebuildFrom()
	var want []AbortedTxn
	err := l.ScanBatches(start, func(h recordbatch.Header) error {
		if h.Control() && Offset(h.BaseOffset) >= start && Offset(h.BaseOffset) < from {
			want = append(want, txnFor(h.ProducerID, Offset(h.BaseOffset)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := txnsFrom(allTxns(l), start)
	if !slices.Equal(got, want) {
		t.Fatalf("%s (rebuild from %d): entries\n got %+v\nwant %+v", what, from, got, want)
	}
}

// crashTxnWorkload runs the workload and crashes, then fails every file
// system operation from the nth on while it reopens (adding entries back),
// runs the workload again and closes; then it crashes and checks. With
// scanAll, the first reopen finds a recovery point of 0, so that every
// segment is scanned and its entries are added back.
func crashTxnWorkload(t *testing.T, n int64, scanAll bool) (ops int64) {
	fs := vfs.NewMem()
	clock := newClock()
	fs.SetNow(clock.Now)
	cfg := compactConfig()
	cfg.SegmentBytes = 500
	opts := Options{FS: fs, Dir: "/data/x-0", Config: cfg, Now: clock.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := runTxnWorkload(l, clock, 1); err != nil {
		t.Fatal(err)
	}
	fs.FailAt(1)
	l.Close()
	fs.Crash()
	if scanAll {
		cp, _, err := readCheckpoint(fs, opts.Dir)
		if err != nil {
			t.Fatal(err)
		}
		cp.recoveryPoint = 0
		if err := writeCheckpoint(fs, opts.Dir, cp); err != nil {
			t.Fatal(err)
		}
	}
	start := fs.Ops()
	fs.FailAt(n)
	if l, err := Open(opts); err == nil {
		if rebuildTxns(l) == nil && runTxnWorkload(l, clock, 2) == nil {
			l.Close()
		}
		fs.FailAt(1)
		l.Close()
	}
	ops = fs.Ops() - start
	fs.Crash()
	if l, err = Open(opts); err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	checkTxnsMatchLog(t, l, "after the crash")
	if err := rebuildTxns(l); err != nil {
		t.Fatalf("adding entries back: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(opts); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if from, end := l.TxnIndexRebuildFrom(), l.LogEndOffset(); from != end {
		t.Fatalf("TxnIndexRebuildFrom %d after a clean close, want the log end %d", from, end)
	}
	checkTxnsMatchLog(t, l, "after adding back and a clean close")
	return ops
}

// TestTxnIndexCrashAtEveryStep crashes at every file system operation of
// an Open that has entries to add back, and of appends, syncs, rolls,
// compaction, retention and truncation after it: the index must then hold
// exactly the entries of the markers below TxnIndexRebuildFrom.
func TestTxnIndexCrashAtEveryStep(t *testing.T) {
	for _, scanAll := range []bool{false, true} {
		total := crashTxnWorkload(t, 0, scanAll)
		if total < 50 {
			t.Fatalf("workload did only %d operations", total)
		}
		for n := int64(1); n <= total; n++ {
			t.Run(fmt.Sprintf("scanAll=%v/op%d", scanAll, n), func(t *testing.T) { crashTxnWorkload(t, n, scanAll) })
		}
	}
}
