package storage

import (
	"errors"
	"math"
	"math/rand"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// abortMarker is the abort marker of producer pid, as a coordinator writes
// it: one control record of type 0.
func abortMarker(pid int64) []byte {
	return recordbatch.Build(recordbatch.BuildSpec{Control: true, Transactional: true, Idempotent: true,
		ProducerID: pid, BaseTimestamp: 1000,
		Records: []recordbatch.Record{{Key: []byte{0, 0, 0, 0}, Value: []byte{0, 0, 0, 0, 0, 0}}}})
}

// abort appends data batches of a transaction of producer pid and its
// abort marker, records the aborted transaction and returns it. With
// back > 0 the transaction starts back offsets before the marker instead.
func (tl *testLog) abort(t testing.TB, pid int64, data int, back Offset) AbortedTxn {
	t.Helper()
	first := tl.LogEndOffset()
	tl.appendN(t, data, 1, 30, 1000)
	info, err := tl.Append(abortMarker(pid), 1)
	if err != nil {
		t.Fatal(err)
	}
	if back > 0 {
		first = max(0, info.BaseOffset-back)
	}
	a := AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: info.BaseOffset, LastStableOffset: info.BaseOffset + 1}
	if err := tl.AddAbortedTxn(a); err != nil {
		t.Fatalf("add %+v: %v", a, err)
	}
	return a
}

func allTxns(l *Log) []AbortedTxn { return l.AbortedTxns(0, math.MaxInt64) }

// txnsFrom returns the entries of want whose marker is at or after from.
func txnsFrom(want []AbortedTxn, from Offset) []AbortedTxn {
	var out []AbortedTxn
	for _, a := range want {
		if a.LastOffset >= from {
			out = append(out, a)
		}
	}
	return out
}

// segmentsWithTxns returns the bases of the segments holding a marker of
// txns.
func segmentsWithTxns(bases []Offset, txns []AbortedTxn) []Offset {
	var out []Offset
	for _, a := range txns {
		i, found := slices.BinarySearch(bases, a.LastOffset)
		if !found {
			i--
		}
		if !slices.Contains(out, bases[i]) {
			out = append(out, bases[i])
		}
	}
	return out
}

func checkTxns(t testing.TB, l *Log, want []AbortedTxn) {
	t.Helper()
	if got := allTxns(l); !slices.Equal(got, want) {
		t.Fatalf("aborted transactions\n got %+v\nwant %+v", got, want)
	}
}

// segmentBases lists the base offsets of the log's segments.
func segmentBases(l *Log) []Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Offset
	for _, s := range l.mu.segments {
		out = append(out, s.baseOffset)
	}
	return out
}

func txnIndexPath(tl *testLog, base Offset) string {
	return filepath.Join(tl.opts.Dir, segmentName(base)+txnIndexSuffix)
}

// txnIndexFiles lists the bases of the segments that have a .txnindex.
func txnIndexFiles(t testing.TB, tl *testLog) []Offset {
	t.Helper()
	names, err := tl.fs.ReadDir(tl.opts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []Offset
	for _, name := range names {
		if stem, ok := strings.CutSuffix(name, txnIndexSuffix); ok {
			base, _ := parseSegmentName(stem + logSuffix)
			out = append(out, base)
		}
	}
	return out
}

// crashAndReopen stops the process (the log's Close fails at its first
// write), drops what was not made durable and opens the log again.
func (tl *testLog) crashAndReopen(t testing.TB) {
	t.Helper()
	tl.fs.FailAt(1)
	tl.Log.Close()
	tl.fs.Crash()
	l, err := Open(tl.opts)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	tl.Log = l
}

// readd adds back, as the owner of producer state does, the entries of
// want from TxnIndexRebuildFrom on.
func (tl *testLog) readd(t testing.TB, want []AbortedTxn) {
	t.Helper()
	for _, a := range txnsFrom(want, tl.TxnIndexRebuildFrom()) {
		if err := tl.AddAbortedTxn(a); err != nil {
			t.Fatalf("add back %+v: %v", a, err)
		}
	}
}

func TestAbortedTxnsOverlap(t *testing.T) {
	tl := openTest(t, smallConfig())
	rng := rand.New(rand.NewSource(1))
	var want []AbortedTxn
	for pid := int64(0); pid < 40; pid++ {
		// Some transactions start far back, in earlier segments.
		back := Offset(0)
		if rng.Intn(4) == 0 {
			back = Offset(rng.Intn(30))
		}
		want = append(want, tl.abort(t, pid, rng.Intn(3), back))
	}
	if n := len(segmentBases(tl.Log)); n < 4 {
		t.Fatalf("%d segments, want several", n)
	}
	checkTxns(t, tl.Log, want)
	end := tl.LogEndOffset()
	for from := Offset(0); from <= end; from++ {
		for upTo := from; upTo <= end+1; upTo++ {
			var naive []AbortedTxn
			for _, a := range want {
				if a.LastOffset >= from && a.FirstOffset < upTo {
					naive = append(naive, a)
				}
			}
			if got := tl.AbortedTxns(from, upTo); !slices.Equal(got, naive) {
				t.Fatalf("[%d, %d): got %+v, want %+v", from, upTo, got, naive)
			}
		}
	}
	// The fetch path allocates nothing when nothing overlaps.
	if allocs := testing.AllocsPerRun(100, func() { tl.AbortedTxns(end, end+1) }); allocs != 0 {
		t.Fatalf("empty query allocated %v times", allocs)
	}
}

func TestAddAbortedTxnRefuses(t *testing.T) {
	tl := openTest(t, smallConfig())
	a := tl.abort(t, 1, 2, 0)
	end := tl.LogEndOffset()
	tl.appendN(t, 1, 1, 30, 1000)
	for _, bad := range []AbortedTxn{
		{ProducerID: 2, FirstOffset: 0, LastOffset: a.LastOffset},     // not above the last entry
		{ProducerID: 2, FirstOffset: 0, LastOffset: a.LastOffset - 1}, // below it
		{ProducerID: 2, FirstOffset: 0, LastOffset: end + 1},          // not appended yet
		{ProducerID: 2, FirstOffset: end + 1, LastOffset: end},        // starts after its marker
		{ProducerID: 2, FirstOffset: -1, LastOffset: end},
		{ProducerID: 2, FirstOffset: 0, LastOffset: -1},
	} {
		if err := tl.AddAbortedTxn(bad); !errors.Is(err, ErrInvalidTxn) {
			t.Errorf("add %+v: %v, want ErrInvalidTxn", bad, err)
		}
	}
	checkTxns(t, tl.Log, []AbortedTxn{a})
	tl.Close()
	if err := tl.AddAbortedTxn(AbortedTxn{LastOffset: end}); !errors.Is(err, ErrClosed) {
		t.Fatalf("add after close: %v", err)
	}
}

func TestTxnIndexSurvivesCleanClose(t *testing.T) {
	tl := openTest(t, smallConfig())
	var want []AbortedTxn
	for pid := int64(0); pid < 12; pid++ {
		if pid%4 == 1 {
			tl.appendN(t, 12, 1, 100, 1000) // segments without aborts
		}
		want = append(want, tl.abort(t, pid, 2, 0))
	}
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
	if got, end := tl.TxnIndexRebuildFrom(), tl.LogEndOffset(); got != end {
		t.Fatalf("TxnIndexRebuildFrom %d after a clean close, want the log end %d", got, end)
	}
	// Only segments with aborted transactions have a file.
	bases := segmentBases(tl.Log)
	if files, with := txnIndexFiles(t, tl), segmentsWithTxns(bases, want); !slices.Equal(files, with) || len(with) == len(bases) {
		t.Fatalf("txnindex files %v, want %v, of segments %v", files, with, bases)
	}
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
}

func TestTxnIndexCrash(t *testing.T) {
	tl := openTest(t, smallConfig())
	var want []AbortedTxn
	for pid := int64(0); pid < 10; pid++ {
		want = append(want, tl.abort(t, pid, 2, 0))
	}
	// The Sync covers the rolled segments: their files are written.
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	bases := segmentBases(tl.Log)
	active := bases[len(bases)-1]
	tl.crashAndReopen(t)
	if got := tl.TxnIndexRebuildFrom(); got > active {
		t.Fatalf("TxnIndexRebuildFrom %d after a crash, want at most the active segment's base %d", got, active)
	}
	from := tl.TxnIndexRebuildFrom()
	checkTxns(t, tl.Log, want[:len(want)-len(txnsFrom(want, from))])
	tl.readd(t, want)
	checkTxns(t, tl.Log, want)

	// Entries of the active segment, never covered by a roll and a Sync,
	// are reported again after a second crash.
	want = append(want, tl.abort(t, 20, 1, 0))
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.crashAndReopen(t)
	if got := tl.TxnIndexRebuildFrom(); got > active || len(txnsFrom(allTxns(tl.Log), got)) != 0 {
		t.Fatalf("TxnIndexRebuildFrom %d, entries %+v", got, allTxns(tl.Log))
	}
	tl.readd(t, want)
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
}

// TestTxnIndexAddedAfterRoll: a roll between the marker's append and the
// add (a retention pass rolling by segment.ms) puts the entry in a rolled
// segment; the next Sync writes it.
func TestTxnIndexAddedAfterRoll(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 2, 1, 30, 1000)
	info, err := tl.Append(abortMarker(7), 1)
	if err != nil {
		t.Fatal(err)
	}
	tl.clock.Advance(2 * tl.Config().SegmentDuration)
	if _, err := tl.ApplyRetention(tl.clock.Now()); err != nil {
		t.Fatal(err)
	}
	a := AbortedTxn{ProducerID: 7, FirstOffset: 0, LastOffset: info.BaseOffset, LastStableOffset: info.BaseOffset + 1}
	if err := tl.AddAbortedTxn(a); err != nil {
		t.Fatal(err)
	}
	tl.appendN(t, 1, 1, 30, 1000)
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.crashAndReopen(t)
	checkTxns(t, tl.Log, []AbortedTxn{a})
}

// TestTxnIndexRebuiltSegmentsStayUntrusted: segments Open scanned lose
// their entries until the owner adds them back and a Sync writes them; a
// crash before that reports them again, and a stale file is never trusted.
func TestTxnIndexRebuiltSegmentsStayUntrusted(t *testing.T) {
	tl := openTest(t, smallConfig())
	var want []AbortedTxn
	for pid := int64(0); pid < 10; pid++ {
		want = append(want, tl.abort(t, pid, 2, 0))
	}
	tl.Close()
	// A recovery point of 0 has every segment scanned.
	if err := writeCheckpoint(tl.fs, tl.opts.Dir, checkpoint{}); err != nil {
		t.Fatal(err)
	}
	tl.reopen(t)
	for range 2 {
		if got := tl.TxnIndexRebuildFrom(); got != 0 || len(allTxns(tl.Log)) != 0 {
			t.Fatalf("TxnIndexRebuildFrom %d, entries %+v; want 0 and none", got, allTxns(tl.Log))
		}
		// Until entries are added back, and written, Open does not
		// trust the segments' files.
		tl.crashAndReopen(t)
	}
	tl.readd(t, want)
	tl.crashAndReopen(t)
	if got := tl.TxnIndexRebuildFrom(); got != 0 {
		t.Fatalf("TxnIndexRebuildFrom %d after a crash before any Sync, want 0", got)
	}
	// The owner leaves out the transactions of one segment: its file,
	// removed at the Sync, must not bring them back.
	bases := segmentBases(tl.Log)
	dropped := slices.DeleteFunc(txnsBelow(want, bases[2]), func(a AbortedTxn) bool { return a.LastOffset < bases[1] })
	want = slices.DeleteFunc(want, func(a AbortedTxn) bool { return slices.Contains(dropped, a) })
	if len(dropped) == 0 {
		t.Fatal("no transaction in the second segment")
	}
	tl.readd(t, want)
	tl.appendN(t, 1, 1, 30, 1000)
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	bases = segmentBases(tl.Log)
	tl.crashAndReopen(t)
	if got, active := tl.TxnIndexRebuildFrom(), bases[len(bases)-1]; got != active {
		t.Fatalf("TxnIndexRebuildFrom %d, want the active segment's base %d", got, active)
	}
	checkTxns(t, tl.Log, want[:len(want)-len(txnsFrom(want, bases[len(bases)-1]))])
	tl.readd(t, want)
	tl.reopen(t)
	checkTxns(t, tl.Log, want)
}

// BenchmarkAbortedTxns is the read_committed fetch's query near the tail of
// a log of many segments and aborted transactions.
func BenchmarkAbortedTxns(b *testing.B) {
	tl := openTest(b, smallConfig())
	for pid := int64(0); pid < 1000; pid++ {
		tl.abort(b, pid, 1, 0)
	}
	end := tl.LogEndOffset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(tl.AbortedTxns(end-100, end-50)) == 0 {
			b.Fatal("no aborted transactions")
		}
	}
}
