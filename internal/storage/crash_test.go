package storage

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/testclock"
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
func runCrashWorkload(l *Log, clock *testclock.Clock, seed int64, m *crashModel) error {
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

// forget gives up the promises for offsets at or past offset, which a
// truncation removes on purpose.
func (m *crashModel) forget(offset Offset) {
	m.durable = min(m.durable, offset)
	kept := m.appended[:0]
	for _, b := range m.appended {
		if b.base < offset {
			kept = append(kept, b)
		}
	}
	m.appended = kept
}

// runReopenedWorkload is the workload of a reopened log: more of the usual
// operations, a follower's truncation to the start of an appended batch,
// and more again.
func runReopenedWorkload(l *Log, clock *testclock.Clock, seed int64, m *crashModel) error {
	if err := runCrashWorkload(l, clock, seed, m); err != nil {
		return err
	}
	start := l.LogStartOffset()
	var candidates []Offset
	for _, b := range m.appended {
		if b.base >= start {
			candidates = append(candidates, b.base)
		}
	}
	if len(candidates) > 0 {
		target := candidates[len(candidates)/2]
		m.forget(target)
		if err := l.TruncateTo(target); err != nil {
			return err
		}
	}
	return runCrashWorkload(l, clock, seed+1, m)
}

// TestCrashAcrossCloseAndReopen crashes at every step of a clean Close (which
// writes the active segment's index files), the Open after it (which trusts
// that segment), the first appends (which move the recovery point back), a
// truncation and a second Close.
func TestCrashAcrossCloseAndReopen(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		fs := vfs.NewMem()
		clock := newClock()
		fs.SetNow(clock.Now)
		opts := Options{FS: fs, Dir: "/data/t-0", Config: crashConfig(), Now: clock.Now, Logger: quietLogger()}
		l, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := runCrashWorkload(l, clock, seed, &crashModel{}); err != nil {
			t.Fatal(err)
		}
		start := fs.Ops()
		l.Close()
		if l, err = Open(opts); err != nil {
			t.Fatal(err)
		}
		if err := runReopenedWorkload(l, clock, seed+100, &crashModel{}); err != nil {
			t.Fatal(err)
		}
		l.Close()
		total := fs.Ops() - start
		for n := int64(1); n <= total+1; n++ {
			t.Run(fmt.Sprintf("seed%d/op%d", seed, n), func(t *testing.T) {
				crashAcrossReopen(t, seed, n)
			})
		}
	}
}

func crashAcrossReopen(t *testing.T, seed, n int64) {
	fs := vfs.NewMem()
	clock := newClock()
	fs.SetNow(clock.Now)
	opts := Options{FS: fs, Dir: "/data/t-0", Config: crashConfig(), Now: clock.Now, Logger: quietLogger()}
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := &crashModel{}
	if err := runCrashWorkload(l, clock, seed, m); err != nil {
		t.Fatal(err)
	}
	fs.FailAt(n)
	if end := l.LogEndOffset(); l.Close() == nil {
		m.durable = max(m.durable, end)
	}
	if l, err := Open(opts); err == nil {
		if runReopenedWorkload(l, clock, seed+100, m) == nil {
			if end := l.LogEndOffset(); l.Close() == nil {
				m.durable = max(m.durable, end)
			}
		}
		fs.Crash()
		l.Close()
	} else {
		fs.Crash()
	}
	l, err = Open(opts)
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer l.Close()
	checkPromises(t, l, m)
	checkIndexes(t, l)
}
