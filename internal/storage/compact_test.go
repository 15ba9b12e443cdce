package storage

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// produceUpdates appends rounds of updates to keys, in batches of
// perBatch records, and syncs.
func produceUpdates(t testing.TB, tl *testLog, codec recordbatch.Codec, keys, rounds, perBatch int) {
	t.Helper()
	var pending []kv
	flush := func() {
		if len(pending) == 0 {
			return
		}
		if _, err := tl.Append(keyedBatch(codec, tl.clock.Now().UnixMilli(), 7, pending...), 1); err != nil {
			t.Fatal(err)
		}
		pending = nil
	}
	for r := 0; r < rounds; r++ {
		for k := 0; k < keys; k++ {
			pending = append(pending, kv{keyName(k), val(fmt.Sprintf("v%d-%d", k, r))})
			if len(pending) == perBatch {
				flush()
			}
		}
	}
	flush()
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
}

func TestCompactKeepsLatestPerKey(t *testing.T) {
	for _, tc := range []struct {
		name     string
		codec    recordbatch.Codec
		perBatch int
	}{
		{"none/single", recordbatch.CodecNone, 1},
		{"none/batched", recordbatch.CodecNone, 7},
		{"gzip", recordbatch.CodecGzip, 5},
		{"snappy", recordbatch.CodecSnappy, 5},
		{"lz4", recordbatch.CodecLZ4, 5},
		{"zstd", recordbatch.CodecZstd, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTest(t, compactConfig())
			produceUpdates(t, tl, tc.codec, 20, 10, tc.perBatch)
			tl.rollActive(t)
			before := readRecords(t, tl.Log)
			want := latestModel(before)
			sizeBefore, end := tl.Size(), tl.LogEndOffset()

			stats := tl.compact(t, CompactOptions{DeleteRetention: time.Hour})
			got := readRecords(t, tl.Log)
			checkLatestOnly(t, got, want)
			if tl.Size() >= sizeBefore || tl.LogEndOffset() != end || stats.RecordsRemoved != int64(len(before)-len(got)) {
				t.Fatalf("size %d -> %d, end %d -> %d, stats %+v", sizeBefore, tl.Size(), end, tl.LogEndOffset(), stats)
			}
			for _, r := range got {
				if r.timestamp != want[r.key].timestamp {
					t.Fatalf("record %d timestamp changed", r.offset)
				}
			}
			checkIndexes(t, tl.Log)

			// Compacting again changes nothing; neither does a reopen.
			tl.compact(t, CompactOptions{DeleteRetention: time.Hour})
			tl.reopen(t)
			checkLatestOnly(t, readRecords(t, tl.Log), want)
			checkIndexes(t, tl.Log)
		})
	}
}

// checkLatestOnly checks that got holds exactly the latest record of each
// key, at its original offset.
func checkLatestOnly(t testing.TB, got []storedRecord, want map[string]storedRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records after compaction, want %d (one per key)", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[r.key]
		if !ok || w.offset != r.offset || !bytes.Equal(w.value, r.value) || (w.value == nil) != (r.value == nil) {
			t.Fatalf("record %+v, want %+v", r, w)
		}
	}
}

func TestCompactNeverTouchesActiveSegment(t *testing.T) {
	tl := openTest(t, compactConfig())
	produceUpdates(t, tl, recordbatch.CodecNone, 5, 4, 1)
	// Everything sits in segments; the last ones are in the active one.
	tl.compact(t, CompactOptions{})
	tl.mu.Lock()
	active := tl.activeLocked()
	activeBase, activeSize := active.baseOffset, active.size
	tl.mu.Unlock()
	recs := readRecords(t, tl.Log)
	n := 0
	for _, r := range recs {
		if r.offset >= activeBase {
			n++
		}
	}
	if activeSize == 0 || Offset(n) != tl.LogEndOffset()-activeBase {
		t.Fatalf("active segment lost records: %d of %d", n, tl.LogEndOffset()-activeBase)
	}
	if tl.FirstDirtyOffset() != activeBase {
		t.Fatalf("first dirty offset %d, active base %d", tl.FirstDirtyOffset(), activeBase)
	}
}

func TestCompactNullKeysAndControlBatches(t *testing.T) {
	tl := openTest(t, compactConfig())
	mustAppend := func(b []byte) {
		if _, err := tl.Append(b, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(keyedBatch(recordbatch.CodecNone, 1000, -1, kv{"a", val("1")}, kv{"", val("no key")}))
	control := recordbatch.Build(recordbatch.BuildSpec{Control: true, Transactional: true, Idempotent: true, ProducerID: 9,
		BaseTimestamp: 1000, Records: []recordbatch.Record{{Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 0}}}})
	mustAppend(control)
	mustAppend(keyedBatch(recordbatch.CodecNone, 1000, -1, kv{"a", val("2")}))
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.rollActive(t)
	tl.compact(t, CompactOptions{})
	raw := readAllBatches(t, tl.Log, 0)
	if !bytes.Contains(raw, control[recordbatch.HeaderSize:]) {
		t.Fatal("control batch was changed or removed")
	}
	var values []string
	for _, r := range readRecords(t, tl.Log) {
		if r.offset != 2 {
			values = append(values, r.key+"="+string(r.value))
		}
	}
	if fmt.Sprint(values) != "[a=2]" {
		t.Fatalf("records %v, want only a=2 (null key dropped)", values)
	}
}

func TestCompactTombstonesAfterDeleteRetention(t *testing.T) {
	tl := openTest(t, compactConfig())
	produceUpdates(t, tl, recordbatch.CodecZstd, 6, 3, 3)
	for _, k := range []int{1, 4} {
		if _, err := tl.Append(keyedBatch(recordbatch.CodecZstd, tl.clock.Now().UnixMilli(), -1, kv{keyName(k), nil}), 1); err != nil {
			t.Fatal(err)
		}
	}
	tl.rollActive(t)
	want := latestModel(readRecords(t, tl.Log))
	const retention = time.Hour
	stats := tl.compact(t, CompactOptions{DeleteRetention: retention})
	if stats.TombstonesMarked == 0 {
		t.Fatal("no batch got a delete horizon")
	}
	// Tombstones stay (older values of their keys are gone) until the horizon.
	checkLatestOnly(t, readRecords(t, tl.Log), want)
	tl.clock.Advance(retention / 2)
	if tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("tombstones due before delete.retention.ms")
	}
	tl.compact(t, CompactOptions{DeleteRetention: retention})
	checkLatestOnly(t, readRecords(t, tl.Log), want)

	tl.clock.Advance(retention)
	if !tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("tombstones not due after delete.retention.ms")
	}
	tl.compact(t, CompactOptions{DeleteRetention: retention})
	delete(want, keyName(1))
	delete(want, keyName(4))
	checkLatestOnly(t, readRecords(t, tl.Log), want)
	if tl.TombstonesDue(tl.clock.Now()) {
		t.Fatal("tombstones still due after removal")
	}
}

func TestCompactMultiPassTinyMap(t *testing.T) {
	const keys = 200
	build := func(budget int64) (*testLog, CompactStats) {
		tl := openTest(t, compactConfig())
		produceUpdates(t, tl, recordbatch.CodecNone, keys, 3, 4)
		tl.rollActive(t)
		return tl, tl.compact(t, CompactOptions{DedupeBufferBytes: budget})
	}
	big, bigStats := build(0)
	tiny, tinyStats := build(minDedupeBufferBytes)
	if bigStats.Passes != 1 || tinyStats.Passes < keys*3/(minDedupeBufferBytes/offsetMapEntryBytes) {
		t.Fatalf("passes: big %d, tiny %d", bigStats.Passes, tinyStats.Passes)
	}
	want := latestModel(readRecords(t, big.Log))
	checkLatestOnly(t, readRecords(t, tiny.Log), want)
	if len(want) != keys {
		t.Fatalf("%d keys", len(want))
	}
}

func TestCompactMinCompactionLag(t *testing.T) {
	tl := openTest(t, compactConfig())
	produceUpdates(t, tl, recordbatch.CodecNone, 4, 5, 1)
	tl.rollActive(t)
	n := len(readRecords(t, tl.Log))
	// The records are younger than the lag (the clock moved 2h): nothing
	// is cleanable.
	tl.compact(t, CompactOptions{MinCompactionLag: 3 * time.Hour})
	if got := len(readRecords(t, tl.Log)); got != n {
		t.Fatalf("%d records, want %d untouched", got, n)
	}
	if r := tl.DirtyRatio(tl.clock.Now(), 3*time.Hour); r != 0 {
		t.Fatalf("dirty ratio %v inside the lag", r)
	}
	if r := tl.DirtyRatio(tl.clock.Now(), 0); r != 1 {
		t.Fatalf("dirty ratio %v, want 1", r)
	}
	tl.compact(t, CompactOptions{MinCompactionLag: time.Hour})
	if got := len(readRecords(t, tl.Log)); got != 4 {
		t.Fatalf("%d records, want 4", got)
	}
	if r := tl.DirtyRatio(tl.clock.Now(), 0); r != 0 {
		t.Fatalf("dirty ratio %v after compaction", r)
	}
}

// TestCompactConcurrentReaders runs appends, reads and compactions at once:
// every full scan sees offsets only grow and no record twice, and the
// latest value of each key is always there.
func TestCompactConcurrentReaders(t *testing.T) {
	cfg := compactConfig()
	cfg.SegmentBytes = 600
	tl := openTest(t, cfg)
	const keys = 10
	produceUpdates(t, tl, recordbatch.CodecNone, keys, 1, 1)
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(3)
	go func() { // producer
		defer wg.Done()
		// Bounded, so that the log (and each compaction) stays small.
		for i := 0; !done.Load() && i < 1500; i++ {
			b := keyedBatch(recordbatch.CodecNone, 1000, -1, kv{keyName(i % keys), val(fmt.Sprint(i))})
			if _, err := tl.Append(b, 1); err != nil {
				errs <- err
				return
			}
			if err := tl.Sync(tl.LogEndOffset()); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := 0; r < 2; r++ {
		go func() { // reader
			defer wg.Done()
			for !done.Load() {
				if err := scanOnce(tl.Log, keys); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	cleaned := 0
	for i := 0; i < 30; i++ {
		stats, err := tl.Compact(context.Background(), CompactOptions{Now: tl.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		cleaned += stats.SegmentsCleaned
	}
	if cleaned == 0 {
		t.Fatal("no segment was compacted")
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := scanOnce(tl.Log, keys); err != nil {
		t.Fatal(err)
	}
}

// scanOnce reads the whole log as a consumer would.
func scanOnce(l *Log, keys int) error {
	// A consumer's fetch is bounded by the high watermark, which is at or
	// past every compacted segment; the current log end plays that role.
	// Reading to the current end, a consumer must meet every key: a record
	// is only removed for a later one of its key, still ahead of it.
	from := l.LogStartOffset()
	prev := Offset(-1)
	seen := map[string]bool{}
	for from < l.LogEndOffset() {
		s, err := l.Read(from, 4096, l.LogEndOffset())
		if err != nil {
			return err
		}
		raw, err := s.ReadAll(nil)
		s.Release()
		if err != nil {
			return err
		}
		for len(raw) > 0 {
			h, _ := recordbatch.ParseHeader(raw)
			recs, err := recordbatch.Records(raw[:h.TotalSize()], 1<<20)
			if err != nil {
				return fmt.Errorf("batch %d: %w", h.BaseOffset, err)
			}
			for _, r := range recs {
				o := Offset(h.BaseOffset) + Offset(r.OffsetDelta)
				if o < from {
					continue // before the fetch offset, as a consumer skips
				}
				if o <= prev {
					return fmt.Errorf("offset %d after %d", o, prev)
				}
				prev = o
				seen[string(r.Key)] = true
			}
			raw = raw[h.TotalSize():]
		}
		if s.NextOffset <= from {
			return fmt.Errorf("read at %d made no progress", from)
		}
		from = s.NextOffset
	}
	if len(seen) != keys {
		return fmt.Errorf("scan saw %d keys, want %d", len(seen), keys)
	}
	return nil
}
