package replicas

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/metadata"
)

// Images reach the manager off the metadata FSM goroutine. Applying one may
// open, recover or delete logs and wait for the fetcher, which a slow disk
// can make take seconds; on the FSM goroutine that would stall the Raft
// apply of every later entry (and so every controller operation of this
// node). The subscription only keeps the latest image and signals; the
// apply loop (Run) applies whatever is latest when it is free, so a burst
// of images costs one application. WaitApplied lets an admin handler wait
// for its own change, so that a CreateTopics answered shows its partitions
// opened here.

// noteImage is the metadata subscription: it records img as the latest
// and wakes the apply loop, without blocking.
func (m *Manager) noteImage(_, img *metadata.Image) {
	m.images.latest.Store(img)
	select {
	case m.images.ready <- struct{}{}:
	default:
	}
}

// applyLoop applies the latest image whenever one arrives, until ctx ends,
// and takes the replicas offline if the log directory fails (logdir.go).
func (m *Manager) applyLoop(ctx context.Context) {
	dirFailed := m.logDir.failed
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirFailed:
			dirFailed = nil
			m.takeOffline()
		case <-m.images.ready:
			m.applyLatest()
		}
	}
}

// applyLatest applies the latest image if it is newer than the one applied,
// then tells the subscribers and the waiters.
func (m *Manager) applyLatest() {
	img := m.images.latest.Load()
	m.images.mu.Lock()
	prev := m.images.mu.applied
	m.images.mu.Unlock()
	if img == nil || prev != nil && img.Offset() <= prev.Offset() {
		return
	}
	// Offline replicas take no more images: their logs are neither opened
	// nor deleted. The subscribers still get them, so the group
	// coordinator gives up what moved away.
	if !m.logDirOffline() {
		if err := m.applyImage(prev, img); err != nil {
			m.logger.Error("applying metadata image", "offset", img.Offset(), "err", err)
		}
	}
	m.images.mu.Lock()
	m.images.mu.applied = img
	subscribers := m.images.mu.subscribers
	close(m.images.mu.changed)
	m.images.mu.changed = make(chan struct{})
	m.images.mu.Unlock()
	for _, fn := range subscribers {
		fn(img)
	}
}

// Subscribe calls fn with the image the manager has applied, now and after
// each application, on the apply loop: what fn sees is opened here. fn must
// return quickly and must not call Subscribe.
func (m *Manager) Subscribe(fn func(img *metadata.Image)) {
	m.images.mu.Lock()
	applied := m.images.mu.applied
	m.images.mu.subscribers = append(m.images.mu.subscribers, fn)
	m.images.mu.Unlock()
	if applied != nil {
		fn(applied)
	}
}

// WaitApplied waits until the manager has applied an image at or past
// offset (metadata.Image.Offset), or ctx ends (REQUEST_TIMED_OUT).
func (m *Manager) WaitApplied(ctx context.Context, offset uint64) error {
	for {
		m.images.mu.Lock()
		applied, changed := m.images.mu.applied, m.images.mu.changed
		m.images.mu.Unlock()
		if applied != nil && applied.Offset() >= offset {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for this broker to apply metadata offset %d: %w", offset, kerr.RequestTimedOut)
		}
	}
}
