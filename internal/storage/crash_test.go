package storage

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// crashModel records what the workload was promised: batches whose Sync
// returned nil and log starts whose change returned nil.
type crashModel struct {
	appended []appendedBatch
	durable  Offset // every batch below it was acknowledged durable
	logStart Offset // acknowledged log start
}

type appendedBatch struct {
	base  Offset
	bytes []byte
}

// runCrashWorkload drives a log through appends, syncs, rolls by size and
// time, retention and DeleteRecordsBefore until the first error.
func runCrashWorkload(l *Log, clock *fakeClock, seed int64, m *crashModel) error {
	rng := rand.New(rand.NewSource(seed))
	for step := 0; step < 60; step++ {
		switch op := rng.Intn(10); {
		case op < 6:
			b := makeBatch(1+rng.Intn(4), clock.Now().UnixMilli(), clock.Now().UnixMilli()+int64(rng.Intn(100)), rng.Intn(300))
			info, err := l.Append(b, 1)
			if err != nil {
				return err
			}
			m.appended = append(m.appended, appendedBatch{base: info.BaseOffset, bytes: b})
		case op < 8:
			end := l.LogEndOffset()
			if err := l.Sync(end); err != nil {
				return err
			}
			m.durable = max(m.durable, end)
		case op == 8:
			clock.Advance(20 * time.Minute)
			if _, err := l.ApplyRetention(clock.Now()); err != nil {
				return err
			}
			m.logStart = max(m.logStart, l.LogStartOffset())
		default:
			target := l.LogStartOffset() + Offset(rng.Intn(3))
			if target > l.LogEndOffset() {
				continue
			}
			if err := l.DeleteRecordsBefore(target); err != nil {
				return err
			}
			m.logStart = max(m.logStart, target)
		}
	}
	return nil
}

func crashConfig() Config {
	cfg := smallConfig()
	cfg.SegmentBytes = 1500
	cfg.IndexIntervalBytes = 150
	cfg.SegmentDuration = 30 * time.Minute
	cfg.RetentionDuration = 50 * time.Minute
	return cfg
}

func TestCrashAtEveryStep(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		// A run without failures counts the file system operations.
		fs := vfs.NewMem()
		clock := newClock()
		opts := Options{FS: fs, Dir: "/data/t-0", Config: crashConfig(), Now: clock.Now, Logger: quietLogger()}
		l, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := runCrashWorkload(l, clock, seed, &crashModel{}); err != nil {
			t.Fatal(err)
		}
		total := fs.Ops()
		l.Close()
		for n := int64(1); n <= total+1; n++ {
			t.Run(fmt.Sprintf("seed%d/op%d", seed, n), func(t *testing.T) {
				crashAt(t, seed, n)
			})
		}
	}
}

// crashAt fails every file system operation from the nth on, crashes,
// reopens and checks the promises.
func crashAt(t *testing.T, seed, n int64) {
	fs := vfs.NewMem()
	clock := newClock()
	fs.SetNow(clock.Now)
	opts := Options{FS: fs, Dir: "/data/t-0", Config: crashConfig(), Now: clock.Now, Logger: quietLogger()}
	fs.FailAt(n)
	m := &crashModel{}
	if l, err := Open(opts); err == nil {
		runCrashWorkload(l, clock, seed, m)
		fs.Crash()
		l.Close()
	} else {
		fs.Crash()
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer l.Close()
	checkPromises(t, l, m)
	checkIndexes(t, l)

	// New appends never reuse an acknowledged offset, and recovery is
	// stable across another close and open.
	end := l.LogEndOffset()
	info, err := l.Append(makeBatch(2, 0, 0, 50), 1)
	if err != nil || info.BaseOffset != end || end < m.durable {
		t.Fatalf("append after recovery at %d (end %d, durable %d): %v", info.BaseOffset, end, m.durable, err)
	}
	if err := l.Sync(info.LastOffset + 1); err != nil {
		t.Fatal(err)
	}
	before := readAllBatches(t, l, l.LogStartOffset())
	l.Close()
	l, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if after := readAllBatches(t, l, l.LogStartOffset()); !bytes.Equal(before, after) {
		t.Fatal("log changed across a clean reopen")
	}
}

func checkPromises(t *testing.T, l *Log, m *crashModel) {
	t.Helper()
	start, end := l.LogStartOffset(), l.LogEndOffset()
	if end < m.durable {
		t.Fatalf("log end %d below acknowledged durable offset %d", end, m.durable)
	}
	if start < m.logStart {
		t.Fatalf("log start %d went back below acknowledged %d", start, m.logStart)
	}
	for _, b := range m.appended {
		if Offset(b.base) >= m.durable || b.base < start {
			continue
		}
		s, err := l.Read(b.base, 1, m.durable)
		if err != nil {
			t.Fatalf("read acknowledged offset %d: %v", b.base, err)
		}
		got, err := s.ReadAll(nil)
		s.Release()
		if err != nil || !bytes.Equal(got, b.bytes) {
			t.Fatalf("acknowledged batch at %d lost or changed (err %v)", b.base, err)
		}
	}
}

// checkIndexes verifies that every index entry points at a batch that
// starts at its offset and that time entries lie inside their segment.
func checkIndexes(t *testing.T, l *Log) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var hbuf [recordbatch.HeaderSize]byte
	for i, s := range l.mu.segments {
		if i > 0 && l.mu.segments[i-1].nextOffset != s.baseOffset {
			t.Fatalf("segment %d does not continue the previous one", s.baseOffset)
		}
		for _, e := range s.index.entries() {
			h, err := readHeader(s.log, e.position, s.size, &hbuf)
			if err != nil || Offset(h.BaseOffset) != e.offset {
				t.Fatalf("index entry %+v of segment %d points at %d: %v", e, s.baseOffset, h.BaseOffset, err)
			}
		}
		for _, e := range s.timeIndex.entries {
			if e.offset < s.baseOffset || e.offset >= s.nextOffset || e.timestamp > s.maxTimestamp {
				t.Fatalf("time entry %+v outside segment %d", e, s.baseOffset)
			}
		}
	}
}
