package storage

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/testclock"
	"github.com/fjordhq/fjord/internal/vfs"
)

// compactCrashModel is what a compaction workload was promised: records
// whose Sync returned nil.
type compactCrashModel struct {
	records []storedRecord
	durable Offset
}

// runCompactCrashWorkload appends updates to a few keys, syncs, rolls and
// compacts until the first error.
func runCompactCrashWorkload(l *Log, clock *testclock.Clock, m *compactCrashModel) error {
	for step := 0; step < 12; step++ {
		for i := 0; i < 6; i++ {
			key, value := keyName((step*6+i)%5), val(fmt.Sprintf("v%d-%d", step, i))
			info, err := l.Append(keyedBatch(recordbatch.CodecNone, clock.Now().UnixMilli(), -1, kv{key, value}), 1)
			if err != nil {
				return err
			}
			m.records = append(m.records, storedRecord{offset: info.BaseOffset, key: key, value: value})
		}
		end := l.LogEndOffset()
		if err := l.Sync(end); err != nil {
			return err
		}
		m.durable = end
		if step%3 == 2 {
			clock.Advance(2 * time.Hour)
			if _, err := l.ApplyRetention(clock.Now()); err != nil {
				return err
			}
			if err := l.Sync(l.LogEndOffset()); err != nil {
				return err
			}
		}
		if _, err := l.Compact(context.Background(), CompactOptions{Now: clock.Now(), DeleteRetention: time.Hour}); err != nil {
			return err
		}
	}
	return nil
}

// TestCompactCrashAtEveryStep fails every file system operation from the
// nth on, crashes (dropping what was not fsynced), reopens and checks that
// the latest acknowledged value of every key is there, at its offset, in a
// log whose offsets only grow; then compacts the recovered log again.
func TestCompactCrashAtEveryStep(t *testing.T) {
	cfg := compactConfig()
	cfg.SegmentBytes = 400
	newOpts := func() (Options, *vfs.MemFS, *testclock.Clock) {
		fs := vfs.NewMem()
		clock := newClock()
		fs.SetNow(clock.Now)
		return Options{FS: fs, Dir: "/data/c-0", Config: cfg, Now: clock.Now, Logger: quietLogger()}, fs, clock
	}
	opts, fs, clock := newOpts()
	l, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	full := &compactCrashModel{}
	if err := runCompactCrashWorkload(l, clock, full); err != nil {
		t.Fatal(err)
	}
	total := fs.Ops()
	if kept := len(readRecords(t, l)); kept >= len(full.records) {
		t.Fatalf("workload did not compact: %d of %d records kept", kept, len(full.records))
	}
	l.Close()
	for n := int64(1); n <= total+1; n++ {
		opts, fs, clock := newOpts()
		fs.FailAt(n)
		m := &compactCrashModel{}
		if l, err := Open(opts); err == nil {
			runCompactCrashWorkload(l, clock, m)
			fs.Crash()
			l.Close()
		} else {
			fs.Crash()
		}
		l, err := Open(opts)
		if err != nil {
			t.Fatalf("op %d: reopen after crash: %v", n, err)
		}
		checkLatestDurable(t, n, l, m)
		checkIndexes(t, l)
		if _, err := l.Compact(context.Background(), CompactOptions{Now: clock.Now(), DeleteRetention: time.Hour}); err != nil {
			t.Fatalf("op %d: compact after recovery: %v", n, err)
		}
		checkLatestDurable(t, n, l, m)
		l.Close()
	}
}

func checkLatestDurable(t *testing.T, n int64, l *Log, m *compactCrashModel) {
	t.Helper()
	if l.LogEndOffset() < m.durable {
		t.Fatalf("op %d: log end %d below durable %d", n, l.LogEndOffset(), m.durable)
	}
	got := map[Offset]storedRecord{}
	for _, r := range readRecords(t, l) {
		got[r.offset] = r
	}
	var durable []storedRecord
	for _, r := range m.records {
		if r.offset < m.durable {
			durable = append(durable, r)
		}
	}
	for key, want := range latestModel(durable) {
		r, ok := got[want.offset]
		if ok && r.key == key && bytes.Equal(r.value, want.value) {
			continue
		}
		// Records appended after the last acknowledged sync may survive
		// the crash too; compaction then rightly drops what they
		// supersede.
		if !ok && supersededInLog(got, m.records, key, want.offset) {
			continue
		}
		t.Fatalf("op %d: latest durable value of %s at %d lost (got %+v)", n, key, want.offset, r)
	}
}

// supersededInLog reports whether the log holds a later record of key,
// exactly as it was appended.
func supersededInLog(got map[Offset]storedRecord, appended []storedRecord, key string, after Offset) bool {
	for _, a := range appended {
		if a.offset <= after || a.key != key {
			continue
		}
		if r, ok := got[a.offset]; ok && r.key == key && bytes.Equal(r.value, a.value) {
			return true
		}
	}
	return false
}
