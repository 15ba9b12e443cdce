package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fjordhq/fjord/internal/vfs"
)

// openFileCount is the number of open file descriptors of this process.
func openFileCount(t testing.TB) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(entries)
}

// createClosedLogs creates n cleanly closed logs under root, each with one
// batch, every tenth with two segments; with empty, they hold nothing (a
// freshly created topic). Two template logs are made through
// Open and Close; the others are copies of their files, without the fsyncs
// that would make creating thousands of logs slow. It returns the
// directories and the number of segments.
func createClosedLogs(t testing.TB, root string, n int, empty bool) (dirs []string, segments int) {
	t.Helper()
	templates := [2]map[string][]byte{}
	for i, batches := range []int{1, 2} {
		dir := filepath.Join(root, fmt.Sprintf("template-%d", i))
		cfg := DefaultConfig()
		cfg.SegmentBytes = 200 // one 161-byte batch per segment
		l, err := Open(Options{Dir: dir, Config: cfg, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if empty {
			batches = 0
		}
		for range batches {
			if _, err := l.Append(makeBatch(1, 0, 0, 100), 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		templates[i] = readDirFiles(t, dir)
	}
	for i := range n {
		dir := filepath.Join(root, fmt.Sprintf("t-%d", i))
		template, batches := templates[0], 1
		if i%10 == 0 {
			template, batches = templates[1], 2
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range template {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		segments += max(batches, 1)
		dirs = append(dirs, dir)
	}
	return dirs, segments
}

func readDirFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func openLogs(t testing.TB, dirs []string) []*Log {
	t.Helper()
	logs := make([]*Log, 0, len(dirs))
	for _, dir := range dirs {
		l, err := Open(Options{Dir: dir, Config: DefaultConfig(), Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	return logs
}

// TestOpenManyLogsFileDescriptors opens 2,000 logs on the real file system
// and checks that each segment holds one file descriptor, its .log: a
// broker with ten thousand partitions must fit the process's file limit.
func TestOpenManyLogsFileDescriptors(t *testing.T) {
	const logCount = 2000
	dirs, segments := createClosedLogs(t, t.TempDir(), logCount, false)
	before := openFileCount(t)
	logs := openLogs(t, dirs)
	grown := openFileCount(t) - before
	// A little slack for descriptors the runtime or test framework opens
	// meanwhile.
	if grown > segments+16 {
		t.Errorf("%d logs of %d segments opened %d file descriptors", logCount, segments, grown)
	}
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := openFileCount(t); after > before+16 {
		t.Errorf("%d file descriptors open after closing every log, %d before opening", after, before)
	}
}

// TestOpenCleanLogWritesNothing checks that opening and closing a cleanly
// closed log, or a new empty one, does no mutating file operation at all:
// with thousands of partitions every fsync at start-up counts.
func TestOpenCleanLogWritesNothing(t *testing.T) {
	tests := []struct {
		name    string
		batches int
	}{
		{"empty", 0},
		{"one segment", 3},
		{"several segments", 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := openTest(t, smallConfig())
			tl.appendN(t, tc.batches, 1, 100, 1000)
			tl.reopen(t)
			ops := tl.fs.Ops()
			tl.reopen(t)
			if got := tl.fs.Ops() - ops; got != 0 {
				t.Fatalf("open and close of a clean log did %d mutating operations", got)
			}
			if got := readAllBatches(t, tl.Log, 0); tc.batches > 0 && len(got) == 0 {
				t.Fatal("batches lost")
			}
		})
	}
}

// TestFirstAppendAfterCleanOpenLowersRecoveryPoint: Open trusts a cleanly
// closed active segment; the first append must move the recovery point
// back to its base so that a crash has the new tail scanned.
func TestFirstAppendAfterCleanOpenLowersRecoveryPoint(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 8, 1, 100, 1000) // segments 0 and 6
	tl.reopen(t)
	cp, _, err := readCheckpoint(tl.fs, tl.opts.Dir)
	if err != nil || cp.recoveryPoint != 8 {
		t.Fatalf("recovery point after clean reopen %d (%v), want the log end 8", cp.recoveryPoint, err)
	}
	tl.appendN(t, 1, 1, 100, 1000)
	cp, _, err = readCheckpoint(tl.fs, tl.opts.Dir)
	if err != nil || cp.recoveryPoint != 6 {
		t.Fatalf("recovery point after append %d (%v), want the active base 6", cp.recoveryPoint, err)
	}
}

// TestMissingIndexFilesRebuilt: index files that a crash lost (or that an
// older layout never wrote) are rebuilt from the log at Open.
func TestMissingIndexFilesRebuilt(t *testing.T) {
	tl := openTest(t, smallConfig())
	batches := tl.appendN(t, 20, 1, 100, 1000) // segments 0, 6, 12, 18
	tl.reopen(t)
	tl.Close()
	for _, base := range []Offset{0, 6, 18} {
		for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
			if err := tl.fs.Remove(filepath.Join(tl.opts.Dir, seg(base, suffix))); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := Open(tl.opts)
	if err != nil {
		t.Fatal(err)
	}
	tl.Log = l
	if got := readAllBatches(t, l, 0); string(got) != string(concat(batches)) {
		t.Fatal("batches differ after rebuilding indexes")
	}
	checkIndexes(t, l)
	for _, base := range []Offset{0, 6} {
		if ok, _ := vfs.Exists(tl.fs, filepath.Join(tl.opts.Dir, seg(base, indexSuffix))); !ok {
			t.Fatalf("index of rolled segment %d not rewritten", base)
		}
	}
}

// BenchmarkOpenManyLogs opens and closes 1,000 cleanly closed logs on the
// real file system, as a broker restart does for each partition: empty
// ones, as after creating a topic, and ones holding a batch.
func BenchmarkOpenManyLogs(b *testing.B) {
	const logCount = 1000
	for _, empty := range []bool{true, false} {
		name := "batch"
		if empty {
			name = "empty"
		}
		b.Run(name, func(b *testing.B) {
			dirs, _ := createClosedLogs(b, b.TempDir(), logCount, empty)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, l := range openLogs(b, dirs) {
					if err := l.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*logCount), "µs/log")
		})
	}
}

// TestRollOfTrustedSegmentKeepsItsIndexFiles: a cleanly closed active
// segment that is rolled by the first append after Open lies below the
// recovery point; its index files are current and are not rewritten, since
// a torn rewrite there would be trusted.
func TestRollOfTrustedSegmentKeepsItsIndexFiles(t *testing.T) {
	tl := openTest(t, smallConfig())
	tl.appendN(t, 6, 1, 100, 1000) // segment 0 is full: the next batch rolls
	tl.reopen(t)
	var rewrites int
	tl.fs.SetInjector(func(op vfs.Op, name string) error {
		if filepath.Base(name) == seg(0, indexSuffix) || filepath.Base(name) == seg(0, timeIndexSuffix) {
			rewrites++
		}
		return nil
	})
	tl.appendN(t, 1, 1, 100, 1000)
	if err := tl.Sync(tl.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	tl.fs.SetInjector(nil)
	if segmentCount(tl.Log) != 2 || rewrites != 0 {
		t.Fatalf("%d segments, %d operations on the trusted segment's index files", segmentCount(tl.Log), rewrites)
	}
	tl.reopen(t)
	checkIndexes(t, tl.Log)
}
