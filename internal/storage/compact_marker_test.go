package storage

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// markerRetention is the delete.retention.ms of the marker tests.
const markerRetention = time.Hour

// storedMarker is a transaction marker read back from the log.
type storedMarker struct {
	offset  Offset
	pid     int64
	commit  bool
	horizon bool
}

func (m storedMarker) String() string {
	kind := "abort"
	if m.commit {
		kind = "commit"
	}
	if m.horizon {
		kind += "+horizon"
	}
	return fmt.Sprintf("%d:%d:%s", m.offset, m.pid, kind)
}

// markersOf lists the markers in the log, in offset order.
func markersOf(t testing.TB, l *Log) []storedMarker {
	t.Helper()
	raw := readAllBatches(t, l, l.LogStartOffset())
	var out []storedMarker
	for len(raw) > 0 {
		h, err := recordbatch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		b := raw[:h.TotalSize()]
		raw = raw[h.TotalSize():]
		if !h.Control() {
			continue
		}
		m, ok, err := recordbatch.ParseMarker(b)
		if err != nil || !ok {
			t.Fatalf("control batch at %d: ok %v, %v", h.BaseOffset, ok, err)
		}
		_, horizon := h.DeleteHorizon()
		out = append(out, storedMarker{offset: Offset(h.BaseOffset), pid: m.ProducerID, commit: m.Commit, horizon: horizon})
	}
	return out
}

func checkMarkers(t testing.TB, l *Log, want string) {
	t.Helper()
	if got := fmt.Sprint(markersOf(t, l)); got != want {
		t.Fatalf("markers %s, want %s", got, want)
	}
}

func (tl *testLog) mustAppend(t testing.TB, b []byte) Offset {
	t.Helper()
	info, err := tl.Append(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	return info.BaseOffset
}

// abortTxn appends an aborted transaction of pid with recs and indexes it.
func (tl *testLog) abortTxn(t testing.TB, pid int64, recs ...kv) AbortedTxn {
	t.Helper()
	first := tl.mustAppend(t, txnKeyedBatch(pid, recs...))
	marker := tl.mustAppend(t, txnMarker(pid, false))
	a := AbortedTxn{ProducerID: pid, FirstOffset: first, LastOffset: marker, LastStableOffset: marker + 1}
	if err := tl.AddAbortedTxn(a); err != nil {
		t.Fatal(err)
	}
	return a
}

// commitTxn appends a committed transaction of pid with recs.
func (tl *testLog) commitTxn(t testing.TB, pid int64, recs ...kv) {
	t.Helper()
	tl.mustAppend(t, txnKeyedBatch(pid, recs...))
	tl.mustAppend(t, txnMarker(pid, true))
}

// filler appends a plain batch, so that the batches around it are neither
// the first of the log nor the last of a segment.
func (tl *testLog) filler(t testing.TB, key string) {
	t.Helper()
	tl.mustAppend(t, keyedBatch(recordbatch.CodecNone, 1000, -1, kv{key, val("x")}))
}

func (tl *testLog) compactMarkers(t testing.TB) CompactStats {
	t.Helper()
	return tl.compact(t, CompactOptions{DeleteRetention: markerRetention})
}

// TestCompactCommittedMarkerAfterHorizon: a commit marker whose records
// were all superseded gets a delete horizon in the pass that removes them,
// stays until the horizon and goes in the first pass after it; the
// producer's next transaction, whose data is alive, keeps its marker.
func TestCompactCommittedMarkerAfterHorizon(t *testing.T) {
	tl := openTest(t, compactConfig())
	tl.filler(t, "x")                     // 0
	tl.commitTxn(t, 7, kv{"a", val("1")}) // 1-2
	tl.commitTxn(t, 7, kv{"a", val("2")}) // 3-4
	tl.filler(t, "y")                     // 5
	tl.rollActive(t)

	stats := tl.compactMarkers(t)
	if stats.MarkersMarked != 1 || stats.MarkersRemoved != 0 {
		t.Fatalf("first pass: %+v", stats)
	}
	checkMarkers(t, tl.Log, "[2:7:commit+horizon 4:7:commit]")
	if tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("marker due at once")
	}

	tl.clock.Advance(markerRetention / 2)
	if stats := tl.compactMarkers(t); stats.MarkersMarked != 0 || stats.MarkersRemoved != 0 {
		t.Fatalf("pass before the horizon: %+v", stats)
	}
	checkMarkers(t, tl.Log, "[2:7:commit+horizon 4:7:commit]")

	tl.clock.Advance(markerRetention / 2)
	if !tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("marker not due at its horizon")
	}
	if stats := tl.compactMarkers(t); stats.MarkersRemoved != 1 {
		t.Fatalf("pass after the horizon: %+v", stats)
	}
	checkMarkers(t, tl.Log, "[4:7:commit]")
	if tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("still due after the marker went")
	}
	tl.reopen(t)
	checkMarkers(t, tl.Log, "[4:7:commit]")
}

// TestCompactCommittedMarkerWithData: a commit marker whose transaction
// still has a record is kept, without a horizon, however often and late
// the log is compacted.
func TestCompactCommittedMarkerWithData(t *testing.T) {
	tl := openTest(t, compactConfig())
	tl.filler(t, "x")
	tl.commitTxn(t, 7, kv{"a", val("1")}, kv{"b", val("1")}) // 1-2, 3
	tl.commitTxn(t, 7, kv{"a", val("2")})                    // 4, 5
	tl.filler(t, "y")
	tl.rollActive(t)
	for range 4 {
		if stats := tl.compactMarkers(t); stats.MarkersMarked != 0 || stats.MarkersRemoved != 0 {
			t.Fatalf("markers touched: %+v", stats)
		}
		checkMarkers(t, tl.Log, "[3:7:commit 5:7:commit]")
		tl.clock.Advance(2 * markerRetention)
		if tl.TombstonesDue(tl.clock.Now()) {
			t.Fatal("due with nothing to remove")
		}
	}
	var values []string
	for _, r := range readRecords(t, tl.Log) {
		if r.offset != 3 && r.offset != 5 { // the markers' control records
			values = append(values, fmt.Sprintf("%d:%s=%s", r.offset, r.key, r.value))
		}
	}
	if got, want := fmt.Sprint(values), "[0:x=x 2:b=1 4:a=2 6:y=x]"; got != want {
		t.Fatalf("records %s, want %s", got, want)
	}
}

// TestCompactAbortMarkerAfterHorizon: an aborted transaction's records go
// in the first pass, which gives its marker a horizon; the marker and its
// transaction index entry go together after the horizon, also from the
// files a reopen reads.
func TestCompactAbortMarkerAfterHorizon(t *testing.T) {
	tl := openTest(t, compactConfig())
	tl.filler(t, "x")
	aborted := tl.abortTxn(t, 7, kv{"a", val("aborted")}) // 1, 2
	tl.commitTxn(t, 7, kv{"b", val("1")})                 // 3, 4
	tl.filler(t, "y")
	tl.rollActive(t)

	stats := tl.compactMarkers(t)
	if stats.MarkersMarked != 1 || stats.RecordsRemoved != 1 {
		t.Fatalf("first pass: %+v", stats)
	}
	checkMarkers(t, tl.Log, "[2:7:abort+horizon 4:7:commit]")
	for _, r := range readRecords(t, tl.Log) {
		if r.key == "a" {
			t.Fatalf("aborted record %d kept", r.offset)
		}
	}
	// The entry stays with its marker: a read_committed consumer meets the
	// marker that ends the skipping it starts.
	checkTxns(t, tl.Log, []AbortedTxn{aborted})

	tl.clock.Advance(markerRetention)
	if stats := tl.compactMarkers(t); stats.MarkersRemoved != 1 {
		t.Fatalf("pass after the horizon: %+v", stats)
	}
	checkMarkers(t, tl.Log, "[4:7:commit]")
	checkTxns(t, tl.Log, nil)
	if files := txnIndexFiles(t, tl); len(files) != 0 {
		t.Fatalf("txnindex files %v left", files)
	}
	tl.reopen(t)
	checkTxns(t, tl.Log, nil)
	if got, end := tl.TxnIndexRebuildFrom(), tl.LogEndOffset(); got != end {
		t.Fatalf("TxnIndexRebuildFrom %d, want the log end %d", got, end)
	}
}

// TestCompactKeepsMarkersProducerStateNeeds: the marker of a transaction
// whose last data batch is its producer's last is kept, and so is that
// batch, empty (its sequence), even when its records are superseded or
// aborted; so is a marker that is its producer's last batch (its epochs).
func TestCompactKeepsMarkersProducerStateNeeds(t *testing.T) {
	tl := openTest(t, compactConfig())
	tl.filler(t, "x")
	aborted := tl.abortTxn(t, 7, kv{"a", val("aborted")}) // 1, 2
	tl.commitTxn(t, 8, kv{"b", val("1")})                 // 3, 4
	tl.mustAppend(t, txnMarker(9, true))                  // 5: a transaction without data here
	tl.mustAppend(t, keyedBatch(recordbatch.CodecNone, 1000, -1, kv{"b", val("2")}))
	tl.filler(t, "y")
	tl.rollActive(t)
	for range 3 {
		if stats := tl.compactMarkers(t); stats.MarkersMarked != 0 || stats.MarkersRemoved != 0 {
			t.Fatalf("markers touched: %+v", stats)
		}
		tl.clock.Advance(2 * markerRetention)
	}
	checkMarkers(t, tl.Log, "[2:7:abort 4:8:commit 5:9:commit]")
	checkTxns(t, tl.Log, []AbortedTxn{aborted})
	var kept []int64
	raw := readAllBatches(t, tl.Log, 0)
	for len(raw) > 0 {
		h, err := recordbatch.ParseHeader(raw)
		if err != nil {
			t.Fatal(err)
		}
		if h.Transactional() && !h.Control() {
			kept = append(kept, h.BaseOffset)
		}
		raw = raw[h.TotalSize():]
	}
	if !slices.Equal(kept, []int64{1, 3}) {
		t.Fatalf("transactional data batches %v, want the producers' last ones [1 3]", kept)
	}
	for _, r := range readRecords(t, tl.Log) {
		if r.key == "a" || r.offset == 3 {
			t.Fatalf("record %d kept", r.offset)
		}
	}
}

// TestCompactMarkersBeyondUpperBound: nothing at or past the first
// unstable offset changes, however late, while the markers below it go.
func TestCompactMarkersBeyondUpperBound(t *testing.T) {
	tl := openTest(t, compactConfig())
	tl.filler(t, "x")
	tl.commitTxn(t, 7, kv{"a", val("1")}) // 1, 2
	tl.commitTxn(t, 7, kv{"a", val("2")}) // 3, 4
	tl.filler(t, "y")
	tl.rollActive(t)
	open := tl.mustAppend(t, txnKeyedBatch(9, kv{"a", val("open")}))
	tl.commitTxn(t, 10, kv{"b", val("1")})
	tl.commitTxn(t, 10, kv{"b", val("2")})
	tl.filler(t, "z")
	tl.rollActive(t)
	tl.mustAppend(t, txnMarker(9, true))
	tl.filler(t, "w")
	tl.rollActive(t)

	beyond := readAllBatches(t, tl.Log, open)
	opts := CompactOptions{DeleteRetention: markerRetention, Bounded: true, UpperBound: open}
	for range 3 {
		tl.compact(t, opts)
		tl.clock.Advance(2 * markerRetention)
	}
	if got := readAllBatches(t, tl.Log, open); !bytes.Equal(got, beyond) {
		t.Fatal("batches past the upper bound changed")
	}
	checkMarkers(t, tl.Log, fmt.Sprintf("[4:7:commit %d:10:commit %d:10:commit %d:9:commit]", open+2, open+4, open+6))

	// Once the transaction ended, the markers past it are cleaned too.
	opts.UpperBound = math.MaxInt64
	tl.compact(t, opts)
	tl.clock.Advance(markerRetention)
	tl.compact(t, opts)
	checkMarkers(t, tl.Log, fmt.Sprintf("[4:7:commit %d:10:commit %d:9:commit]", open+4, open+6))
}
