package storage

import (
	"sync"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/vfs"
)

// recordingObserver keeps every duration it is told.
type recordingObserver struct {
	mu      sync.Mutex
	seconds []float64
}

func (r *recordingObserver) Observe(s float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seconds = append(r.seconds, s)
}

// TestFlushObserverTimesEachFsync checks that each fsync the log leads is
// reported once, with the time the log's clock saw pass.
func TestFlushObserverTimesEachFsync(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond) // each reading is 1 ms after the last
		return now
	}
	obs := &recordingObserver{}
	l, err := Open(Options{FS: vfs.NewMem(), Dir: "/d/t-0", Config: DefaultConfig(), Logger: quietLogger(),
		Now: clock, FlushObserver: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 3 {
		info, err := l.Append(makeBatch(1, 0, 0, 100), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(info.LastOffset + 1); err != nil {
			t.Fatal(err)
		}
		obs.mu.Lock()
		got := append([]float64(nil), obs.seconds...)
		obs.mu.Unlock()
		if len(got) != i+1 {
			t.Fatalf("after %d fsyncs: %d observations", i+1, len(got))
		}
		if d := got[i]; d < 0.001 || d > 0.1 {
			t.Fatalf("fsync %d took %v s by the log's clock, want about 0.001", i, d)
		}
	}
}
