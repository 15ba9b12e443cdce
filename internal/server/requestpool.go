package server

import (
	"context"
	"sync"
)

// requestPool bounds the bytes of the request frames a listener holds at
// once, as Kafka's queued.max.request.bytes (its memory pool): frames being
// read or handled. A connection whose next frame is not admitted stops
// reading its socket until memory comes back, the way Kafka mutes a
// channel when its pool is empty.
//
// Unlike Kafka, a frame's memory is taken as its bytes arrive, in steps
// (readFrame), rather than whole when its size is read: a client that
// announces 100 MiB and sends nothing holds one step, not 100 MiB. A
// frame's first step waits for room; later steps wait too, except for the
// oldest frame still being read, which always gets its memory. That keeps
// every admitted frame able to finish (no two half-read frames wait on
// each other forever) while the pool is overrun by at most one frame.
type requestPool struct {
	// maxBytes <= 0 means no limit (Kafka's -1).
	maxBytes int64

	mu struct {
		sync.Mutex
		bytes int64
		// reading lists the admitted frames still being read, oldest
		// first: the first may grow past the limit.
		reading []*frameTicket
		// changed is closed and replaced whenever memory is returned or
		// the oldest reader changes, to wake waiters.
		changed chan struct{}
	}
}

// frameTicket is one admitted frame's hold on the pool.
type frameTicket struct {
	bytes int64
}

func newRequestPool(maxBytes int64) *requestPool {
	p := &requestPool{maxBytes: maxBytes}
	p.mu.changed = make(chan struct{})
	return p
}

// admit waits until a new frame may take n bytes, then takes them. The
// frame counts as being read until doneReading.
func (p *requestPool) admit(ctx context.Context, n int64) (*frameTicket, error) {
	for {
		p.mu.Lock()
		if p.roomLocked() {
			t := &frameTicket{bytes: n}
			p.mu.bytes += n
			p.mu.reading = append(p.mu.reading, t)
			p.mu.Unlock()
			return t, nil
		}
		wait := p.mu.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// grow waits until t may take n more bytes, then takes them. The oldest
// frame being read never waits.
func (p *requestPool) grow(ctx context.Context, t *frameTicket, n int64) error {
	for {
		p.mu.Lock()
		if p.roomLocked() || p.mu.reading[0] == t {
			t.bytes += n
			p.mu.bytes += n
			p.mu.Unlock()
			return nil
		}
		wait := p.mu.changed
		p.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// doneReading marks t's frame as read in full (or abandoned): it no longer
// needs the oldest reader's right to grow.
func (p *requestPool) doneReading(t *frameTicket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.mu.reading {
		if r == t {
			p.mu.reading = append(p.mu.reading[:i], p.mu.reading[i+1:]...)
			if i == 0 {
				p.wakeLocked()
			}
			return
		}
	}
}

// release returns t's bytes once its request was handled.
func (p *requestPool) release(t *frameTicket) {
	p.doneReading(t)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.bytes -= t.bytes
	t.bytes = 0
	p.wakeLocked()
}

// roomLocked reports whether memory is left. A frame is admitted while any
// is, even if it needs more: as Kafka's pool, so that a frame larger than
// the pool can still be read when nothing else holds memory.
func (p *requestPool) roomLocked() bool {
	return p.maxBytes <= 0 || p.mu.bytes < p.maxBytes
}

func (p *requestPool) wakeLocked() {
	close(p.mu.changed)
	p.mu.changed = make(chan struct{})
}

// held reports the bytes held, for tests.
func (p *requestPool) held() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.bytes
}
