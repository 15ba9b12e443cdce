package storage

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestSegmentsToDelete(t *testing.T) {
	now := time.UnixMilli(100_000)
	seg := func(size int64, next Offset, tsMs int64) retentionInput {
		return retentionInput{sizeBytes: size, nextOffset: next, largestTimestamp: time.UnixMilli(tsMs)}
	}
	rolled := []retentionInput{seg(100, 10, 1_000), seg(100, 20, 50_000), seg(100, 30, 98_000)}
	tests := []struct {
		name     string
		total    int64
		bytes    int64
		duration time.Duration
		logStart Offset
		want     int
	}{
		{"unlimited", 350, -1, -1, 0, 0},
		{"time keeps younger", 350, -1, 60 * time.Second, 0, 1},
		{"time all old", 350, -1, time.Second, 0, 3},
		{"size", 350, 200, -1, 0, 1},
		{"size exact", 350, 150, -1, 0, 2},
		{"size zero", 350, 0, -1, 0, 3},
		{"below log start", 350, -1, -1, 20, 2},
		{"stops at first kept", 350, -1, -1, 10, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.RetentionBytes, cfg.RetentionDuration = tc.bytes, tc.duration
			if got := segmentsToDelete(rolled, tc.total, cfg, now, tc.logStart); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRetentionByTime(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionDuration = time.Hour
	cfg.SegmentDuration = 2 * time.Hour
	tl := openTest(t, cfg)
	base := tl.clock.Now().UnixMilli()
	tl.appendN(t, 13, 1, 100, base) // segments [0,6) [6,12) [12,13)
	if n, err := tl.ApplyRetention(tl.clock.Now()); err != nil || n != 0 {
		t.Fatalf("deleted %d err %v", n, err)
	}
	tl.clock.Advance(time.Hour + time.Second)
	n, err := tl.ApplyRetention(tl.clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("deleted %d err %v", n, err)
	}
	if tl.LogStartOffset() != 12 {
		t.Fatalf("log start %d", tl.LogStartOffset())
	}
	// The active segment is rolled once older than segment.ms, and then
	// expires like any other.
	tl.clock.Advance(time.Hour)
	n, err = tl.ApplyRetention(tl.clock.Now())
	if err != nil || n != 1 || tl.LogStartOffset() != 13 || tl.LogEndOffset() != 13 {
		t.Fatalf("deleted %d err %v start %d", n, err, tl.LogStartOffset())
	}
	tl.reopen(t)
	if tl.LogStartOffset() != 13 || tl.LogEndOffset() != 13 {
		t.Fatalf("after reopen start %d end %d", tl.LogStartOffset(), tl.LogEndOffset())
	}
}

func TestRetentionByTimeWithoutTimestamps(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionDuration = time.Hour
	tl := openTest(t, cfg)
	for i := 0; i < 7; i++ {
		tl.Append(makeBatch(1, -1, -1, 100), 0)
	}
	tl.clock.Advance(2 * time.Hour) // file modification time is the fake clock's
	if n, err := tl.ApplyRetention(tl.clock.Now()); err != nil || n != 1 {
		t.Fatalf("deleted %d err %v", n, err)
	}
}

func TestRetentionBySize(t *testing.T) {
	cfg := smallConfig()
	cfg.RetentionBytes = 1500
	tl := openTest(t, cfg)
	// 3220 bytes: 966+966+966+322. Like Kafka, a segment goes only if the
	// log without it still holds retention.bytes.
	batches := tl.appendN(t, 20, 1, 100, 0)
	n, err := tl.ApplyRetention(tl.clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("deleted %d err %v", n, err)
	}
	tl.SetConfig(func() Config { c := cfg; c.RetentionBytes = 1200; return c }())
	if n, err = tl.ApplyRetention(tl.clock.Now()); err != nil || n != 1 {
		t.Fatalf("deleted %d err %v", n, err)
	}
	if tl.Size() != 966+322 || tl.LogStartOffset() != 12 {
		t.Fatalf("size %d start %d", tl.Size(), tl.LogStartOffset())
	}
	if got := readAllBatches(t, tl.Log, 12); !bytes.Equal(got, concat(batches[12:])) {
		t.Fatal("remaining bytes differ")
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 20, 1, 100, 0)
	if err := tl.DeleteRecordsBefore(21); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("past end: %v", err)
	}
	if err := tl.DeleteRecordsBefore(7); err != nil {
		t.Fatal(err)
	}
	if tl.LogStartOffset() != 7 || segmentCount(tl.Log) != 3 {
		t.Fatalf("start %d segments %d", tl.LogStartOffset(), segmentCount(tl.Log))
	}
	if err := tl.DeleteRecordsBefore(5); err != nil || tl.LogStartOffset() != 7 {
		t.Fatalf("went backwards: %v %d", err, tl.LogStartOffset())
	}
	if err := tl.DeleteRecordsBefore(20); err != nil {
		t.Fatal(err)
	}
	if tl.LogStartOffset() != 20 || segmentCount(tl.Log) != 1 || tl.Size() != 322 {
		t.Fatalf("start %d segments %d size %d", tl.LogStartOffset(), segmentCount(tl.Log), tl.Size())
	}
	s, err := tl.Read(20, 100, 100)
	if err != nil || s.Size != 0 {
		t.Fatalf("read at end: %v %d", err, s.Size)
	}
	tl.reopen(t)
	if tl.LogStartOffset() != 20 || tl.LogEndOffset() != 20 {
		t.Fatalf("reopen start %d end %d", tl.LogStartOffset(), tl.LogEndOffset())
	}
}

func TestTruncateTo(t *testing.T) {
	tests := []struct {
		name    string
		offset  Offset
		wantEnd Offset
	}{
		{"mid segment batch boundary", 10, 10},
		{"mid batch drops the batch", 11, 10},
		{"segment boundary", 12, 12},
		{"to log start", 0, 0},
		{"past end no-op", 100, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTest(t, smallConfig())
			batches := tl.appendN(t, 20, 2, 100, 0)
			if err := tl.TruncateTo(tc.offset); err != nil {
				t.Fatal(err)
			}
			if tl.LogEndOffset() != tc.wantEnd || tl.DurableOffset() > tc.wantEnd {
				t.Fatalf("end %d durable %d", tl.LogEndOffset(), tl.DurableOffset())
			}
			want := concat(batches[:tc.wantEnd/2])
			if got := readAllBatches(t, tl.Log, 0); !bytes.Equal(got, want) {
				t.Fatal("bytes differ after truncation")
			}
			more := tl.appendN(t, 2, 1, 10, 0)
			tl.Sync(tl.LogEndOffset())
			tl.reopen(t)
			if tl.LogEndOffset() != tc.wantEnd+2 {
				t.Fatalf("reopen end %d", tl.LogEndOffset())
			}
			if got := readAllBatches(t, tl.Log, 0); !bytes.Equal(got, append(want, concat(more)...)) {
				t.Fatal("bytes differ after reopen")
			}
		})
	}
}

func TestTruncateBelowLogStart(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 20, 1, 100, 0)
	tl.DeleteRecordsBefore(13)
	if err := tl.TruncateTo(8); err != nil {
		t.Fatal(err)
	}
	if tl.LogStartOffset() != 8 || tl.LogEndOffset() != 8 || tl.Size() != 0 {
		t.Fatalf("start %d end %d size %d", tl.LogStartOffset(), tl.LogEndOffset(), tl.Size())
	}
	tl.appendN(t, 1, 1, 10, 0)
	tl.reopen(t)
	if tl.LogStartOffset() != 8 || tl.LogEndOffset() != 9 {
		t.Fatalf("reopen start %d end %d", tl.LogStartOffset(), tl.LogEndOffset())
	}
}
