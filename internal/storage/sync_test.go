package storage

import (
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/vfs"
)

// gatedFS counts fsyncs of .log files and can hold them until released.
type gatedFS struct {
	vfs.FS
	logSyncs atomic.Int64
	mu       sync.Mutex
	gate     chan struct{}
	entered  chan struct{}
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (g *gatedFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, fs: g}, nil
}

func (f *gatedFile) Sync() error {
	if strings.HasSuffix(f.Name(), logSuffix) {
		f.fs.logSyncs.Add(1)
		f.fs.mu.Lock()
		gate, entered := f.fs.gate, f.fs.entered
		f.fs.gate, f.fs.entered = nil, nil
		f.fs.mu.Unlock()
		if gate != nil {
			close(entered)
			<-gate
		}
	}
	return f.File.Sync()
}

// holdNextSync makes the next .log fsync wait for the returned release
// function; entered is closed once it is waiting.
func (g *gatedFS) holdNextSync() (entered <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.entered = make(chan struct{}), make(chan struct{})
	gate := g.gate
	return g.entered, func() { close(gate) }
}

func TestGroupCommitSharesFsync(t *testing.T) {
	gfs := &gatedFS{FS: vfs.NewMem()}
	l, err := Open(Options{FS: gfs, Dir: "/d/t-0", Config: DefaultConfig(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, _ := l.Append(makeBatch(1, 0, 0, 100), 0)
	entered, release := gfs.holdNextSync()
	leaderDone := make(chan error)
	go func() { leaderDone <- l.Sync(info.LastOffset + 1) }()
	<-entered
	before := gfs.logSyncs.Load()

	// While the first fsync runs, appends proceed and their Syncs wait.
	const followers = 50
	var wg sync.WaitGroup
	errs := make(chan error, followers)
	for i := 0; i < followers; i++ {
		info, err := l.Append(makeBatch(1, 0, 0, 100), 0)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- l.Sync(info.LastOffset + 1)
		}()
	}
	release()
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := gfs.logSyncs.Load() - before; got != 1 {
		t.Fatalf("%d more fsyncs for %d waiting appends, want 1", got, followers)
	}
	if l.DurableOffset() != followers+1 {
		t.Fatalf("durable %d", l.DurableOffset())
	}
}

// TestGroupCommitConcurrent runs on the real file system, where an fsync
// takes long enough for callers to pile up behind it.
func TestGroupCommitConcurrent(t *testing.T) {
	gfs := &gatedFS{FS: vfs.Default()}
	cfg := smallConfig()
	cfg.SegmentBytes = 4096
	l, err := Open(Options{FS: gfs, Dir: t.TempDir(), Config: cfg, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const writers, perWriter = 8, 50
	var appendMu sync.Mutex // the broker serializes appends per partition
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				appendMu.Lock()
				info, err := l.Append(makeBatch(1, 0, 0, 100), 0)
				appendMu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				if err := l.Sync(info.LastOffset + 1); err != nil {
					t.Error(err)
					return
				}
				if l.DurableOffset() <= info.LastOffset {
					t.Errorf("Sync returned before offset %d was durable", info.LastOffset)
				}
				if s, err := l.Read(info.BaseOffset, 1000, info.LastOffset+1); err != nil || s.Size == 0 {
					t.Errorf("read own write: %v", err)
				} else {
					s.Release()
				}
			}
		}()
	}
	wg.Wait()
	if n := gfs.logSyncs.Load(); n >= writers*perWriter {
		t.Fatalf("no fsync was shared: %d fsyncs for %d appends", n, writers*perWriter)
	} else {
		t.Logf("%d fsyncs for %d appends", n, writers*perWriter)
	}
	if l.DurableOffset() != writers*perWriter {
		t.Fatalf("durable %d", l.DurableOffset())
	}
}

func TestFlushIfDue(t *testing.T) {
	cfg := smallConfig()
	cfg.FlushMessages = 5
	cfg.FlushInterval = time.Minute
	tl := openTest(t, cfg)
	if tl.NeedsSyncPerAppend() {
		t.Fatal("flush.messages 5 needs no per-append sync")
	}
	tl.appendN(t, 3, 1, 10, 0)
	if err := tl.FlushIfDue(tl.clock.Now()); err != nil || tl.DurableOffset() != 0 {
		t.Fatalf("flushed early: %v %d", err, tl.DurableOffset())
	}
	tl.appendN(t, 2, 1, 10, 0)
	if err := tl.FlushIfDue(tl.clock.Now()); err != nil || tl.DurableOffset() != 5 {
		t.Fatalf("flush.messages: %v %d", err, tl.DurableOffset())
	}
	tl.appendN(t, 1, 1, 10, 0)
	tl.clock.Advance(time.Minute)
	if err := tl.FlushIfDue(tl.clock.Now()); err != nil || tl.DurableOffset() != 6 {
		t.Fatalf("flush.ms: %v %d", err, tl.DurableOffset())
	}
	tl.SetConfig(DefaultConfig())
	if !tl.NeedsSyncPerAppend() {
		t.Fatal("default config syncs per append")
	}
}

// TestFailedWritesStopTheLogAndReportOnce: a failed fsync, and a failed
// checkpoint write after a roll, each stop the log (later appends and
// syncs answer ErrLogFailed) and call OnFailure exactly once, so that the
// broker can take its log directory offline.
func TestFailedWritesStopTheLogAndReportOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   vfs.Op
		file string
	}{
		{"fsync", vfs.OpSync, logSuffix},
		{"checkpoint", vfs.OpCreate, checkpointName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			var failing atomic.Bool
			fs.SetInjector(func(op vfs.Op, name string) error {
				if failing.Load() && op == tc.op && strings.Contains(name, tc.file) {
					return vfs.ErrInjected
				}
				return nil
			})
			var reports atomic.Int32
			cfg := smallConfig()
			l, err := Open(Options{FS: fs, Dir: "/d/t-0", Config: cfg, Logger: quietLogger(),
				OnFailure: func(error) { reports.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			failing.Store(true)
			// Enough batches to roll a segment, so that the sync also
			// advances the recovery point in the checkpoint.
			var last Offset
			for range 8 {
				info, err := l.Append(makeBatch(1, 0, 0, 300), 0)
				if err != nil {
					t.Fatal(err)
				}
				last = info.LastOffset
			}
			if err := l.Sync(last + 1); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("sync on a failing disk: %v, want ErrLogFailed", err)
			}
			if _, err := l.Append(makeBatch(1, 0, 0, 100), 0); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("append after the failure: %v, want ErrLogFailed", err)
			}
			if err := l.Sync(last + 1); !errors.Is(err, ErrLogFailed) {
				t.Fatalf("second sync: %v, want ErrLogFailed", err)
			}
			if n := reports.Load(); n != 1 {
				t.Fatalf("OnFailure called %d times, want 1", n)
			}
		})
	}
}
