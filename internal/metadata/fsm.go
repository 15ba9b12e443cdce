package metadata

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// fsm is the raft.FSM. hashicorp/raft calls Apply, Snapshot and Restore from
// its single FSM goroutine; Node.Image reads current from any goroutine.
type fsm struct {
	logger  *slog.Logger
	current atomic.Pointer[Image]

	// mu guards subscribers and orders notifications: it is held while an
	// image is published and its subscribers are called.
	mu          sync.Mutex
	subscribers []func(old, new *Image)
	// changed is closed and replaced on every publish: a broadcast to
	// waiters for an offset (forward.go).
	changed chan struct{}
}

// applyResult is what Apply returns to the ApplyFuture: the error that made
// the batch inconsistent, if any.
type applyResult struct {
	err error
}

func newFSM(logger *slog.Logger, clusterID string) *fsm {
	f := &fsm{logger: logger, changed: make(chan struct{})}
	f.current.Store(NewImage(clusterID))
	return f
}

// Apply applies one committed log entry: a batch of records.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return applyResult{}
	}
	old := f.current.Load()
	records, err := DecodeBatch(l.Data)
	if err != nil {
		// A corrupt entry cannot be applied by any node; skipping it keeps
		// every node at the same image, and the error reaches the writer.
		f.logger.Error("skipping undecodable metadata log entry", "index", l.Index, "err", err)
		f.publish(old, withOffset(old, l.Index))
		return applyResult{err: err}
	}
	next, err := applyBatch(old, records, l.Index)
	if err != nil {
		f.logger.Warn("skipping inconsistent metadata batch", "index", l.Index, "err", err)
		next = withOffset(old, l.Index)
	}
	f.publish(old, next)
	return applyResult{err: err}
}

func withOffset(img *Image, index uint64) *Image {
	out := *img
	out.offset = index
	return &out
}

func (f *fsm) publish(old, next *Image) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.current.Store(next)
	for _, fn := range f.subscribers {
		fn(old, next)
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// latest returns the current image and a channel closed at the next publish.
func (f *fsm) latest() (*Image, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current.Load(), f.changed
}

// subscribe calls fn with the current image and then on every change, all
// in order because both happen under mu.
func (f *fsm) subscribe(fn func(old, new *Image)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(nil, f.current.Load())
	f.subscribers = append(f.subscribers, fn)
}

// Snapshot captures the current image; images are immutable, so Persist can
// encode it while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return imageFSMSnapshot{img: f.current.Load()}, nil
}

// Restore replaces the image with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	img, err := readSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restoring metadata snapshot: %w", err)
	}
	old := f.current.Load()
	if img.clusterID == "" {
		img.clusterID = old.clusterID
	}
	f.publish(old, img)
	return nil
}

type imageFSMSnapshot struct {
	img *Image
}

func (s imageFSMSnapshot) Persist(sink raft.SnapshotSink) error {
	b, err := s.img.MarshalSnapshot()
	if err == nil {
		_, err = sink.Write(b)
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persisting metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (s imageFSMSnapshot) Release() {}
