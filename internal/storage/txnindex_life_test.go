package storage

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// abortMany records n aborted transactions of one data batch each.
func (tl *testLog) abortMany(t testing.TB, n int) []AbortedTxn {
	t.Helper()
	var out []AbortedTxn
	for pid := int64(0); pid < int64(n); pid++ {
		out = append(out, tl.abort(t, pid, 1, 0))
	}
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkTxnFiles(t testing.TB, tl *testLog, want []AbortedTxn) {
	t.Helper()
	bases := segmentBases(tl.Log)
	active := bases[len(bases)-1]
	var rolled []AbortedTxn
	for _, a := range want {
		if a.LastOffset < active {
			rolled = append(rolled, a)
		}
	}
	// The active segment's file is written when it is rolled or closed.
	files := slices.DeleteFunc(txnIndexFiles(t, tl), func(b Offset) bool { return b == active })
	if with := segmentsWithTxns(bases, rolled); !slices.Equal(files, with) {
		t.Fatalf("txnindex files %v, want %v, of segments %v", files, with, bases)
	}
}

func TestTxnIndexRetention(t *testing.T) {
	tl := openTest(t, smallConfig())
	want := tl.abortMany(t, 20)
	bases := segmentBases(tl.Log)
	if err := tl.DeleteRecordsBefore(bases[2]); err != nil {
		t.Fatal(err)
	}
	want = txnsFrom(want, bases[2])
	checkTxns(t, tl.Log, want)
	checkTxnFiles(t, tl, want)

	cfg := tl.Config()
	cfg.RetentionBytes = 1
	tl.SetConfig(cfg)
	if _, err := tl.ApplyRetention(tl.clock.Now()); err != nil {
		t.Fatal(err)
	}
	want = txnsFrom(want, bases[len(bases)-1])
	checkTxns(t, tl.Log, want)
	checkTxnFiles(t, tl, want)
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
}

func TestTxnIndexTruncate(t *testing.T) {
	tl := openTest(t, smallConfig())
	want := tl.abortMany(t, 20)
	bases := segmentBases(tl.Log)
	// Cut just after the first marker of the second segment.
	kept := txnsFrom(want, bases[1])[0]
	if err := tl.TruncateTo(kept.LastOffset + 1); err != nil {
		t.Fatal(err)
	}
	want = txnsBelow(want, kept.LastOffset+1)
	checkTxns(t, tl.Log, want)
	checkTxnFiles(t, tl, want)
	for pid := int64(100); pid < 110; pid++ {
		want = append(want, tl.abort(t, pid, 1, 0))
	}
	tl.reopen(t)
	checkTxns(t, tl.Log, want)

	// Cut the segment's first marker too. Batches of many records then
	// cover the offsets its old entries had: once it is rolled and
	// synced, its stale file must not bring them back.
	if err := tl.TruncateTo(kept.LastOffset); err != nil {
		t.Fatal(err)
	}
	want = txnsBelow(want, kept.LastOffset)
	tl.appendN(t, 12, 50, 100, 1000)
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if bases := segmentBases(tl.Log); len(bases) < 4 || bases[2] < kept.LastOffset+20 {
		t.Fatalf("segments %v: the truncated one was not rolled past its old entries", bases)
	}
	tl.crashAndReopen(t)
	checkTxns(t, tl.Log, want)

	if err := tl.TruncateFullyAndStartAt(tl.LogEndOffset() + 10); err != nil {
		t.Fatal(err)
	}
	checkTxns(t, tl.Log, nil)
	tl.reopen(t)
	checkTxns(t, tl.Log, nil)
	if files := txnIndexFiles(t, tl); len(files) != 0 {
		t.Fatalf("txnindex files %v left after emptying the log", files)
	}
}

func TestTxnIndexCompaction(t *testing.T) {
	cfg := compactConfig()
	cfg.SegmentBytes = 400
	tl := openTest(t, cfg)
	var want []AbortedTxn
	for round := 0; round < 12; round++ {
		first := tl.LogEndOffset()
		for k := 0; k < 3; k++ {
			b := keyedBatch(recordbatch.CodecNone, 1000, -1, kv{keyName(k), val(fmt.Sprint(round))})
			if _, err := tl.Append(b, 1); err != nil {
				t.Fatal(err)
			}
		}
		info, err := tl.Append(abortMarker(int64(round)), 1)
		if err != nil {
			t.Fatal(err)
		}
		a := AbortedTxn{ProducerID: int64(round), FirstOffset: first, LastOffset: info.BaseOffset, LastStableOffset: info.BaseOffset + 1}
		if err := tl.AddAbortedTxn(a); err != nil {
			t.Fatal(err)
		}
		want = append(want, a)
	}
	tl.rollActive(t)
	before := len(segmentBases(tl.Log))
	// Bigger segments let the cleaner merge several into one.
	cfg.SegmentBytes = 4000
	tl.SetConfig(cfg)
	if stats := tl.compact(t, CompactOptions{}); stats.SegmentsCleaned == 0 || stats.RecordsRemoved == 0 {
		t.Fatalf("nothing compacted: %+v", stats)
	}
	if after := len(segmentBases(tl.Log)); after >= before {
		t.Fatalf("%d segments after compaction, %d before: none merged", after, before)
	}
	checkTxns(t, tl.Log, want)
	checkTxnFiles(t, tl, want)
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
	if got, end := tl.TxnIndexRebuildFrom(), tl.LogEndOffset(); got != end {
		t.Fatalf("TxnIndexRebuildFrom %d, want the log end %d", got, end)
	}
}

// TestTxnIndexCorruptFile: a .txnindex that fails any check is not loaded;
// Open succeeds and reports the segment for rebuilding.
func TestTxnIndexCorruptFile(t *testing.T) {
	setLast := func(i int, v uint64) func([]byte) []byte {
		return func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[i*abortedTxnBytes+18:], v)
			return b
		}
	}
	for _, tc := range []struct {
		name   string
		change func([]byte) []byte
	}{
		{"torn", func(b []byte) []byte { return b[:len(b)-1] }},
		{"version", func(b []byte) []byte { b[1] = 1; return b }},
		{"first after last", func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[10:], binary.BigEndian.Uint64(b[18:])+1)
			return b
		}},
		{"outside the segment", setLast(1, 1<<40)},
		{"before the segment", setLast(0, 0)},
		{"out of order", func(b []byte) []byte { return append(b[abortedTxnBytes:2*abortedTxnBytes], b[:abortedTxnBytes]...) }},
		{"too large", func(b []byte) []byte { return make([]byte, 10000*abortedTxnBytes) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTest(t, smallConfig())
			want := tl.abortMany(t, 20)
			bases := segmentBases(tl.Log)
			tl.Close()
			mutateFile(t, tl.fs, txnIndexPath(tl, bases[1]), tc.change)
			tl.reopen(t)
			if got := tl.TxnIndexRebuildFrom(); got != bases[1] {
				t.Fatalf("TxnIndexRebuildFrom %d, want the damaged segment's base %d", got, bases[1])
			}
			checkTxns(t, tl.Log, txnsBelow(want, bases[1]))
			tl.readd(t, want)
			tl.reopen(t)
			checkTxns(t, tl.Log, want)
			if got, end := tl.TxnIndexRebuildFrom(), tl.LogEndOffset(); got != end {
				t.Fatalf("TxnIndexRebuildFrom %d after rebuilding, want the log end %d", got, end)
			}
		})
	}
}

// TestTxnIndexConcurrent adds entries back into rolled segments while
// appends and syncs write their files and readers query them.
func TestTxnIndexConcurrent(t *testing.T) {
	tl := openTest(t, smallConfig())
	want := tl.abortMany(t, 40)
	tl.Close()
	if err := writeCheckpoint(tl.fs, tl.opts.Dir, checkpoint{}); err != nil {
		t.Fatal(err)
	}
	tl.reopen(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	failures := make(chan error, 3)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got := tl.AbortedTxns(0, math.MaxInt64)
			if !slices.IsSortedFunc(got, func(a, b AbortedTxn) int { return cmp.Compare(a.LastOffset, b.LastOffset) }) {
				failures <- fmt.Errorf("entries out of order: %+v", got)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if _, err := tl.Append(makeBatch(1, 1000, 1000, 200), 1); err != nil {
				failures <- err
				return
			}
			if err := tl.Sync(tl.LogEndOffset()); err != nil {
				failures <- err
				return
			}
		}
	}()
	tl.readd(t, want)
	close(stop)
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.crashAndReopen(t)
	tl.readd(t, want)
	checkTxns(t, tl.Log, want)
}
