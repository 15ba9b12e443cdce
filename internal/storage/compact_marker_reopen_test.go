package storage_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/testclock"
	"github.com/fjordhq/fjord/internal/vfs"
)

// These tests live outside package storage because they need the partition
// (the producer state and the last stable offset), which imports storage.

const reopenDir = "p"

// markerLog is a partition over a log in a memory file system, and what
// reopening it needs.
type markerLog struct {
	t     *testing.T
	fs    *vfs.MemFS
	clock *testclock.Clock
	p     *partition.Partition
}

func newMarkerLog(t *testing.T) *markerLog {
	t.Helper()
	m := &markerLog{t: t, fs: vfs.NewMem(), clock: testclock.At(time.UnixMilli(1_700_000_000_000))}
	m.fs.SetNow(m.clock.Now)
	if err := m.fs.MkdirAll(reopenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.open()
	return m
}

func (m *markerLog) open() {
	m.t.Helper()
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = 1024
	cfg.RetentionDuration = -1
	log, err := storage.Open(storage.Options{FS: m.fs, Dir: reopenDir, Config: cfg, Now: m.clock.Now})
	if err != nil {
		m.t.Fatal(err)
	}
	p, err := partition.New("t", [16]byte{1}, 0, log, 0)
	if err != nil {
		m.t.Fatal(err)
	}
	m.p = p
}

func (m *markerLog) append(pid int64, seq int32, transactional bool, key, value string) {
	m.t.Helper()
	spec := recordbatch.BuildSpec{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, BaseTimestamp: 1000,
		Records: []recordbatch.Record{{Key: []byte(key), Value: []byte(value)}}}
	if pid >= 0 {
		spec.Idempotent, spec.Transactional, spec.ProducerID, spec.ProducerEpoch, spec.BaseSequence = true, transactional, pid, 0, seq
	}
	b := recordbatch.Build(spec)
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.p.Append(b, h, m.clock.Now().UnixMilli()); err != nil {
		m.t.Fatalf("append %s=%s of producer %d: %v", key, value, pid, err)
	}
}

func (m *markerLog) marker(pid int64, commit bool) {
	m.t.Helper()
	mk := recordbatch.Marker{ProducerID: pid, ProducerEpoch: 0, CoordinatorEpoch: 1, Commit: commit}
	if _, err := m.p.AppendMarker(mk, m.clock.Now().UnixMilli()); err != nil {
		m.t.Fatal(err)
	}
}

func (m *markerLog) compact() storage.CompactStats {
	m.t.Helper()
	log := m.p.Log()
	if err := log.Sync(log.LogEndOffset()); err != nil {
		m.t.Fatal(err)
	}
	stats, err := log.Compact(context.Background(), storage.CompactOptions{
		Now: m.clock.Now(), DeleteRetention: time.Hour,
		Bounded: true, UpperBound: m.p.LastStableOffsetAt(log.LogEndOffset()),
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return stats
}

func (m *markerLog) close() {
	m.t.Helper()
	if err := m.p.Close(); err != nil {
		m.t.Fatal(err)
	}
}

// rest appends, after producer 7's first transaction (a=1, committed),
// an aborted transaction of producer 8, a second transaction of each
// (producer 7's supersedes its first), and plain batches, so that all of
// them lie in segments the cleaner may compact.
func (m *markerLog) rest() {
	m.t.Helper()
	m.append(8, 0, true, "b", "aborted")
	m.marker(8, false)
	m.append(7, 1, true, "a", "2")
	m.marker(7, true)
	m.append(8, 1, true, "c", "1")
	m.marker(8, true)
	for i := range 12 {
		m.append(-1, 0, false, fmt.Sprint("filler-", i), string(make([]byte, 100)))
	}
}

// hasBatchAt reports whether a batch starts at offset.
func (m *markerLog) hasBatchAt(offset storage.Offset) bool {
	m.t.Helper()
	found := false
	err := m.p.Log().ScanBatches(m.p.LogStartOffset(), func(h recordbatch.Header) error {
		found = found || storage.Offset(h.BaseOffset) == offset
		return nil
	})
	if err != nil {
		m.t.Fatal(err)
	}
	return found
}

// check asserts that no transaction is open and none is listed as aborted,
// and that producers 7 and 8 are at sequence 1 of epoch 0.
func (m *markerLog) check(when string) {
	m.t.Helper()
	end := m.p.LogEndOffset()
	if got := m.p.LastStableOffsetAt(end); got != end {
		m.t.Fatalf("%s: last stable offset %d, want the log end %d", when, got, end)
	}
	if got := m.p.AbortedTxns(0, end); len(got) != 0 {
		m.t.Fatalf("%s: aborted transactions %+v, want none", when, got)
	}
	var producers []string
	for _, pi := range m.p.Producers() {
		producers = append(producers, fmt.Sprintf("%d:e%d:s%d:t%d", pi.ProducerID, pi.Epoch, pi.LastSequence, pi.CurrentTxnStartOffset))
	}
	if got, want := fmt.Sprint(producers), "[7:e0:s1:t-1 8:e0:s1:t-1]"; got != want {
		m.t.Fatalf("%s: producers %s, want %s", when, got, want)
	}
}

// TestCompactedMarkersReopen: after a commit and an abort marker were
// removed, reopening the partition, after a crash, from its snapshot or by
// replaying the whole log, finds no transaction open (the last stable
// offset is not held back), none aborted, and the producers' sequences
// intact, so they go on producing.
func TestCompactedMarkersReopen(t *testing.T) {
	m := newMarkerLog(t)
	m.append(-1, 0, false, "x", "0")
	m.append(7, 0, true, "a", "1")
	m.marker(7, true)
	m.rest()
	if got := m.p.AbortedTxns(0, m.p.LogEndOffset()); len(got) != 1 {
		t.Fatalf("aborted transactions before compaction %+v", got)
	}

	if stats := m.compact(); stats.MarkersMarked != 2 {
		t.Fatalf("first compaction: %+v", stats)
	}
	m.clock.Advance(time.Hour)
	if stats := m.compact(); stats.MarkersRemoved != 2 {
		t.Fatalf("compaction after the horizon: %+v", stats)
	}
	m.check("after compaction")

	m.fs.Crash()
	m.open()
	m.check("reopened after a crash")

	m.close()
	m.open()
	m.check("reopened from the snapshot")

	m.close()
	snapshots, err := producerstate.ListSnapshotFiles(m.fs, reopenDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := producerstate.RemoveSnapshotFiles(m.fs, reopenDir, snapshots, true); err != nil {
		t.Fatal(err)
	}
	m.open()
	m.check("reopened replaying the whole log")

	m.append(7, 2, true, "a", "3")
	if got, want := m.p.LastStableOffsetAt(m.p.LogEndOffset()), m.p.LogEndOffset()-1; got != want {
		t.Fatalf("last stable offset %d with a new transaction open, want its first offset %d", got, want)
	}
	m.marker(7, true)
	if got, end := m.p.LastStableOffsetAt(m.p.LogEndOffset()), m.p.LogEndOffset(); got != end {
		t.Fatalf("last stable offset %d after the new transaction, want %d", got, end)
	}
	m.close()
}

// TestCompactedMarkerSnapshotInsideTransaction: a producer state snapshot
// taken at a segment roll between a transaction's data and its marker
// still holds the transaction open after the marker went; reopening from
// that snapshot ends it at the producer's next marker, so nothing is left
// open and the last stable offset is not held back.
func TestCompactedMarkerSnapshotInsideTransaction(t *testing.T) {
	for pad := 0; pad < 300; pad++ {
		m := newMarkerLog(t)
		for range 7 {
			m.append(-1, 0, false, "x", string(make([]byte, 100)))
		}
		// Superseded with the others, so the segments merge later and the
		// transaction's data batch stops being its segment's last.
		m.append(-1, 0, false, "x", string(make([]byte, pad)))
		m.append(7, 0, true, "a", "1")
		marker := m.p.LogEndOffset()
		m.marker(7, true)
		snapshots, err := producerstate.ListSnapshotFiles(m.fs, reopenDir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(snapshots, int64(marker)) {
			m.close()
			continue
		}
		m.rest()
		for range 4 {
			m.compact()
			m.clock.Advance(time.Hour)
		}
		if m.hasBatchAt(marker) {
			t.Fatalf("marker at %d kept", marker)
		}
		m.check("after compaction")
		m.close()
		snapshots, err = producerstate.ListSnapshotFiles(m.fs, reopenDir)
		if err != nil {
			t.Fatal(err)
		}
		others := slices.DeleteFunc(snapshots, func(o int64) bool { return o == int64(marker) })
		if err := producerstate.RemoveSnapshotFiles(m.fs, reopenDir, others, true); err != nil {
			t.Fatal(err)
		}
		m.open()
		m.check("reopened from the snapshot inside the transaction")
		m.close()
		return
	}
	t.Fatal("no layout put a segment roll between the transaction's data and its marker")
}
