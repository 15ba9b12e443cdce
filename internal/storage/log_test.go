package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

func TestAppendAssignsOffsetsAndEpoch(t *testing.T) {
	tl := openTest(t, smallConfig())
	for i, recs := range []int{1, 5, 3} {
		b := makeBatch(recs, 10, 20, 30)
		info, err := tl.Append(b, 7)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := recordbatch.ParseHeader(b)
		if Offset(h.BaseOffset) != info.BaseOffset || h.PartitionLeaderEpoch != 7 {
			t.Fatalf("batch %d header not updated in place: %+v", i, h)
		}
		if info.LastOffset-info.BaseOffset != Offset(recs-1) {
			t.Fatalf("batch %d info %+v", i, info)
		}
		if recordbatch.Checksum(b[21:]) != h.CRC {
			t.Fatal("CRC broken by offset assignment")
		}
	}
	if got := tl.LogEndOffset(); got != 9 {
		t.Fatalf("log end %d, want 9", got)
	}
}

func TestAppendRejectsBadBatch(t *testing.T) {
	tl := openTest(t, smallConfig())
	good := makeBatch(1, 0, 0, 10)
	bad := map[string][]byte{
		"short":      good[:30],
		"length":     append(append([]byte(nil), good...), 1),
		"magic":      func() []byte { b := append([]byte(nil), good...); b[16] = 1; return b }(),
		"neg offset": func() []byte { b := append([]byte(nil), good...); b[23] = 0xff; return b }(),
	}
	for name, b := range bad {
		if _, err := tl.Append(b, 0); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if tl.LogEndOffset() != 0 {
		t.Fatal("bad batch appended")
	}
}

func TestReadRanges(t *testing.T) {
	tl := openTest(t, smallConfig())
	batches := tl.appendN(t, 40, 2, 100, 1000) // 161 bytes each, 6 per segment
	size := int64(len(batches[0]))
	tests := []struct {
		name      string
		from      Offset
		maxBytes  int64
		maxOffset Offset
		wantFirst Offset
		wantCount int
	}{
		{"start", 0, 1 << 20, 80, 0, 6},
		{"mid batch", 3, 1 << 20, 80, 2, 5},
		{"maxBytes one", 0, size, 80, 0, 1},
		{"maxBytes below one batch (KIP-74)", 0, 10, 80, 0, 1},
		{"maxBytes two and a half", 0, 2*size + size/2, 80, 0, 2},
		{"maxOffset bound", 0, 1 << 20, 5, 0, 2},
		{"maxOffset mid batch excludes it", 0, 1 << 20, 3, 0, 1},
		{"second segment", 13, 1 << 20, 80, 12, 6},
		{"last batch", 79, 1 << 20, 80, 78, 1},
		{"at maxOffset", 10, 1 << 20, 10, 10, 0},
		{"at log end", 80, 1 << 20, 80, 80, 0},
		{"maxOffset past end", 78, 1 << 20, 1000, 78, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tl.Read(tc.from, tc.maxBytes, tc.maxOffset)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			if s.Size != int64(tc.wantCount)*size {
				t.Fatalf("size %d, want %d batches", s.Size, tc.wantCount)
			}
			if tc.wantCount == 0 {
				return
			}
			got, err := s.ReadAll(nil)
			if err != nil {
				t.Fatal(err)
			}
			first := int(tc.wantFirst / 2)
			if want := concat(batches[first : first+tc.wantCount]); !bytes.Equal(got, want) {
				t.Fatal("bytes differ from appended batches")
			}
			var buf bytes.Buffer
			if n, err := s.WriteTo(&buf); err != nil || n != s.Size || !bytes.Equal(buf.Bytes(), got) {
				t.Fatalf("WriteTo n=%d err=%v", n, err)
			}
			if s.BaseOffset != tc.wantFirst || s.NextOffset != tc.wantFirst+Offset(2*tc.wantCount) {
				t.Fatalf("offsets %d..%d", s.BaseOffset, s.NextOffset)
			}
		})
	}
}

func TestReadOutOfRange(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 10, 1, 100, 0)
	if err := tl.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	for _, from := range []Offset{-1, 2, 11, 100} {
		if _, err := tl.Read(from, 100, 100); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Errorf("read %d: %v", from, err)
		}
	}
	for _, from := range []Offset{3, 10} {
		if _, err := tl.Read(from, 100, 100); err != nil {
			t.Errorf("read %d: %v", from, err)
		}
	}
}

func TestRollBySize(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 13, 1, 100, 0) // 6 batches of 161 bytes fit in 1024
	tl.mu.Lock()
	var bases []Offset
	for _, s := range tl.mu.segments {
		bases = append(bases, s.baseOffset)
		if s.size > tl.mu.cfg.SegmentBytes {
			t.Errorf("segment %d has %d bytes", s.baseOffset, s.size)
		}
	}
	tl.mu.Unlock()
	if len(bases) != 3 || bases[1] != 6 || bases[2] != 12 {
		t.Fatalf("segments %v", bases)
	}
	// Index files are written whole by the Sync that covers a rolled
	// segment; the active segment's wait for its roll or Close. A new
	// log's first checkpoint waits for the recovery point to move.
	names, _ := tl.fs.ReadDir(tl.opts.Dir)
	if want := []string{seg(0, logSuffix), seg(6, logSuffix), seg(12, logSuffix)}; !slices.Equal(names, want) {
		t.Fatalf("files before sync %v", names)
	}
	if err := tl.Sync(13); err != nil {
		t.Fatal(err)
	}
	names, _ = tl.fs.ReadDir(tl.opts.Dir)
	want := []string{seg(0, indexSuffix), seg(0, logSuffix), seg(0, timeIndexSuffix),
		seg(6, indexSuffix), seg(6, logSuffix), seg(6, timeIndexSuffix), seg(12, logSuffix), checkpointName}
	if !slices.Equal(names, want) {
		t.Fatalf("files after sync %v", names)
	}
}

func seg(base Offset, suffix string) string { return segmentName(base) + suffix }

func TestRollByTimeAndIndexFull(t *testing.T) {
	cfg := smallConfig()
	cfg.SegmentBytes = 1 << 20
	cfg.SegmentDuration = time.Hour
	tl := openTest(t, cfg)
	// segment.ms counts record time from the segment's first batch, as
	// Kafka: batches stamped 59 minutes later stay, one hour later rolls.
	tl.appendN(t, 1, 1, 10, 1_000_000)
	tl.appendN(t, 1, 1, 10, 1_000_000+(59*time.Minute).Milliseconds())
	if n := segmentCount(tl.Log); n != 1 {
		t.Fatalf("rolled early: %d segments", n)
	}
	tl.appendN(t, 1, 1, 10, 1_000_000+time.Hour.Milliseconds())
	if n := segmentCount(tl.Log); n != 2 {
		t.Fatalf("no roll after segment.ms of record time: %d segments", n)
	}
	// Batches without timestamps fall back to the segment's age.
	untimed := openTest(t, cfg)
	untimed.appendN(t, 2, 1, 10, -1)
	untimed.clock.Advance(59 * time.Minute)
	untimed.appendN(t, 1, 1, 10, -1)
	if n := segmentCount(untimed.Log); n != 1 {
		t.Fatalf("untimed: rolled early: %d segments", n)
	}
	untimed.clock.Advance(time.Minute)
	untimed.appendN(t, 1, 1, 10, -1)
	if n := segmentCount(untimed.Log); n != 2 {
		t.Fatalf("untimed: no roll after segment.ms: %d segments", n)
	}

	cfg = smallConfig()
	cfg.SegmentBytes = 1 << 20
	cfg.IndexIntervalBytes = 0
	cfg.SegmentIndexBytes = 3 * timeIndexEntryBytes
	tl = openTest(t, cfg)
	tl.appendN(t, 10, 1, 10, 0)
	if n := segmentCount(tl.Log); n < 3 {
		t.Fatalf("index full did not roll: %d segments", n)
	}
	if got := readAllBatches(t, tl.Log, 0); len(got) != 10*71 {
		t.Fatalf("read %d bytes", len(got))
	}
}

func segmentCount(l *Log) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.segments)
}

func TestOffsetIndexLookup(t *testing.T) {
	ix := offsetIndex{baseOffset: 5}
	ix.setEntries([]offsetEntry{{10, 0}, {20, 500}, {35, 900}})
	tests := []struct {
		target Offset
		want   int64
	}{{0, 0}, {3, 0}, {10, 0}, {19, 0}, {20, 500}, {34, 500}, {35, 900}, {1000, 900}}
	for _, tc := range tests {
		if got := ix.lookup(tc.target); got != tc.want {
			t.Errorf("lookup(%d) = %d, want %d", tc.target, got, tc.want)
		}
	}
	tix := timeIndex{entries: []timeEntry{{100, 0}, {200, 5}, {300, 9}}}
	for _, tc := range []struct {
		ts   int64
		want Offset
		ok   bool
	}{{50, 0, false}, {100, 0, false}, {101, 0, true}, {250, 5, true}, {301, 9, true}} {
		got, ok := tix.lastBelow(tc.ts)
		if got != tc.want || ok != tc.ok {
			t.Errorf("lastBelow(%d) = %d %v", tc.ts, got, ok)
		}
	}
}

func TestIndexesWritten(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 6, 1, 100, 0)
	tl.mu.Lock()
	s := tl.mu.segments[0]
	entries := s.index.entries()
	tl.mu.Unlock()
	// 161-byte batches, interval 200: an entry every second batch after the first.
	want := []offsetEntry{{2, 322}, {4, 644}}
	if len(entries) != len(want) || entries[0] != want[0] || entries[1] != want[1] {
		t.Fatalf("entries %v", entries)
	}
	// The active segment's index file is written by Close.
	tl.Close()
	info, err := tl.fs.Stat(s.path(indexSuffix))
	if err != nil || info.Size != int64(len(want))*offsetIndexEntryBytes {
		t.Fatalf("index file %+v: %v", info, err)
	}
}

func TestFindBatchByTimestamp(t *testing.T) {
	tl := openTest(t, smallConfig())
	// Timestamps: batch i has max 1000+10*i, except batch 7 which is old.
	for i := 0; i < 30; i++ {
		ts := int64(1000 + 10*i)
		if i == 7 {
			ts = 5
		}
		if _, err := tl.Append(makeBatch(1, ts, ts, 100), 0); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ts     int64
		want   Offset
		exists bool
	}{
		{0, 0, true}, {1000, 0, true}, {1001, 1, true}, {1065, 8, true},
		{1100, 10, true}, {1290, 29, true}, {1291, 0, false},
	}
	for _, tc := range tests {
		b, found, err := tl.FindBatchByTimestamp(tc.ts)
		if err != nil || found != tc.exists {
			t.Fatalf("ts %d: found=%v err=%v", tc.ts, found, err)
		}
		if found {
			h, _ := recordbatch.ParseHeader(b)
			if Offset(h.BaseOffset) != tc.want {
				t.Errorf("ts %d: batch %d, want %d", tc.ts, h.BaseOffset, tc.want)
			}
		}
	}
	if err := tl.DeleteRecordsBefore(12); err != nil {
		t.Fatal(err)
	}
	b, found, _ := tl.FindBatchByTimestamp(0)
	if h, _ := recordbatch.ParseHeader(b); !found || h.BaseOffset != 12 {
		t.Fatalf("below log start returned: %d", h.BaseOffset)
	}
	tl.reopen(t)
	b, found, _ = tl.FindBatchByTimestamp(1205)
	if h, _ := recordbatch.ParseHeader(b); !found || h.BaseOffset != 21 {
		t.Fatalf("after reopen: %d", h.BaseOffset)
	}
}

func TestMaxTimestampBatch(t *testing.T) {
	tl := openTest(t, smallConfig())
	if _, found, _ := tl.MaxTimestampBatch(); found {
		t.Fatal("empty log has a max timestamp batch")
	}
	for _, ts := range []int64{5, 50, 9, 50, 7, 7, 7, 3} {
		tl.Append(makeBatch(1, ts, ts, 100), 0)
	}
	check := func(want Offset) {
		t.Helper()
		b, found, err := tl.MaxTimestampBatch()
		h, _ := recordbatch.ParseHeader(b)
		if err != nil || !found || Offset(h.BaseOffset) != want {
			t.Fatalf("max batch %d found=%v err=%v, want %d", h.BaseOffset, found, err, want)
		}
	}
	check(1)
	tl.reopen(t)
	check(1)
	if err := tl.DeleteRecordsBefore(2); err != nil {
		t.Fatal(err)
	}
	check(3)
	if err := tl.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	check(4)
}

// TestSegmentStarts: each segment's first readable offset and its newest
// record's age, the file's modification time standing in where no batch
// has a timestamp; segments below the log start are left out.
func TestSegmentStarts(t *testing.T) {
	tl := openTest(t, smallConfig())
	// Six 161-byte batches fill a 1024-byte segment: 0-5, 6-11, 12-13.
	for i := range 14 {
		ts := int64(1000 + 10*i)
		if i >= 12 {
			ts = -1
		}
		if _, err := tl.Append(makeBatch(1, ts, ts, 100), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tl.DeleteRecordsBefore(3); err != nil {
		t.Fatal(err)
	}
	got, err := tl.SegmentStarts()
	if err != nil {
		t.Fatal(err)
	}
	want := []SegmentStart{{3, 1050, 966}, {6, 1110, 966}, {12, tl.clock.Now().UnixMilli(), 322}}
	if !slices.Equal(got, want) {
		t.Fatalf("starts %+v, want %+v", got, want)
	}
	if err := tl.DeleteRecordsBefore(14); err != nil {
		t.Fatal(err)
	}
	if got, _ := tl.SegmentStarts(); len(got) != 1 || got[0].Offset != 14 {
		t.Fatalf("after deleting every record: %+v", got)
	}
}

func TestScanBatches(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 20, 3, 50, 0)
	var bases []int64
	err := tl.ScanBatches(10, func(h recordbatch.Header) error {
		bases = append(bases, h.BaseOffset)
		return nil
	})
	if err != nil || len(bases) != 17 || bases[0] != 9 || bases[16] != 57 {
		t.Fatalf("bases %v err %v", bases, err)
	}
	stop := errors.New("stop")
	if err := tl.ScanBatches(0, func(recordbatch.Header) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("error not returned: %v", err)
	}
}

func TestReopenRestoresEverything(t *testing.T) {
	tl := openTest(t, smallConfig())
	batches := tl.appendN(t, 25, 2, 100, 1000)
	if err := tl.DeleteRecordsBefore(14); err != nil {
		t.Fatal(err)
	}
	start, end, size := tl.LogStartOffset(), tl.LogEndOffset(), tl.Size()
	tl.reopen(t)
	if tl.LogStartOffset() != start || tl.LogEndOffset() != end || tl.Size() != size || tl.DurableOffset() != end {
		t.Fatalf("after reopen start=%d end=%d size=%d durable=%d; want %d %d %d",
			tl.LogStartOffset(), tl.LogEndOffset(), tl.Size(), tl.DurableOffset(), start, end, size)
	}
	if got := readAllBatches(t, tl.Log, 14); !bytes.Equal(got, concat(batches[7:])) {
		t.Fatal("bytes differ after reopen")
	}
	more := tl.appendN(t, 3, 1, 10, 0)
	h, _ := recordbatch.ParseHeader(more[0])
	if Offset(h.BaseOffset) != end {
		t.Fatalf("offset after reopen %d, want %d", h.BaseOffset, end)
	}
}

func TestSliceSurvivesRetention(t *testing.T) {
	tl := openTest(t, smallConfig())
	batches := tl.appendN(t, 20, 1, 100, 0)
	s, err := tl.Read(0, 1<<20, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.DeleteRecordsBefore(15); err != nil {
		t.Fatal(err)
	}
	if ok, _ := vfsExists(tl, "/data/topic-0/00000000000000000000.log"); ok {
		t.Fatal("segment file not deleted")
	}
	got, err := s.ReadAll(nil)
	if err != nil || !bytes.Equal(got, concat(batches[:6])) {
		t.Fatalf("slice unreadable after deletion: %v", err)
	}
	s.Release()
	s.Release()
}

func vfsExists(tl *testLog, name string) (bool, error) {
	_, err := tl.fs.Stat(name)
	return err == nil, nil
}

func TestClosedLog(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.Close()
	if _, err := tl.Append(makeBatch(1, 0, 0, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := tl.Read(0, 1, 1); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if err := tl.Sync(1); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if err := tl.Close(); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 10, 1, 100, 0)
	if err := tl.Delete(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := vfsExists(tl, tl.opts.Dir); ok {
		t.Fatal("directory survives Delete")
	}
}
