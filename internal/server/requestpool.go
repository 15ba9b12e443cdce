package server

import (
	"context"
	"slices"
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
//
// Waiters are served in order, growing frames before new ones (they are
// closer to giving their memory back), and only as many are woken as the
// memory returned can serve: a crowd of waiting connections neither
// overtakes an earlier one nor stampedes at each release. Callers bound
// their wait with their context (readFrame: the frame timeout), so that a
// connection whose client went away while it waited does not wait forever.
type requestPool struct {
	// maxBytes <= 0 means no limit (Kafka's -1).
	maxBytes int64

	mu struct {
		sync.Mutex
		bytes int64
		// reading lists the admitted frames still being read, oldest
		// first: the first may grow past the limit.
		reading []*frameTicket
		// growing and admitting are the waiters, in arrival order.
		growing, admitting []*poolWaiter
	}
}

// frameTicket is one admitted frame's hold on the pool.
type frameTicket struct {
	bytes int64
}

// poolWaiter is a frame waiting for n bytes: a new frame (ticket nil until
// granted) or a growing one.
type poolWaiter struct {
	n       int64
	ticket  *frameTicket
	granted chan struct{} // closed once the bytes are taken for it
}

func newRequestPool(maxBytes int64) *requestPool {
	return &requestPool{maxBytes: maxBytes}
}

// admit waits until a new frame may take n bytes, then takes them. The
// frame counts as being read until doneReading.
func (p *requestPool) admit(ctx context.Context, n int64) (*frameTicket, error) {
	p.mu.Lock()
	if len(p.mu.growing) == 0 && len(p.mu.admitting) == 0 && p.roomLocked() {
		t := p.admitLocked(n)
		p.mu.Unlock()
		return t, nil
	}
	w := &poolWaiter{n: n, granted: make(chan struct{})}
	p.mu.admitting = append(p.mu.admitting, w)
	p.mu.Unlock()
	if err := p.wait(ctx, w, &p.mu.admitting); err != nil {
		return nil, err
	}
	return w.ticket, nil
}

func (p *requestPool) admitLocked(n int64) *frameTicket {
	t := &frameTicket{bytes: n}
	p.mu.bytes += n
	p.mu.reading = append(p.mu.reading, t)
	return t
}

// grow waits until t may take n more bytes, then takes them. The oldest
// frame being read never waits.
func (p *requestPool) grow(ctx context.Context, t *frameTicket, n int64) error {
	p.mu.Lock()
	if (len(p.mu.growing) == 0 && p.roomLocked()) || p.oldestLocked(t) {
		t.bytes += n
		p.mu.bytes += n
		p.mu.Unlock()
		return nil
	}
	w := &poolWaiter{n: n, ticket: t, granted: make(chan struct{})}
	p.mu.growing = append(p.mu.growing, w)
	p.mu.Unlock()
	return p.wait(ctx, w, &p.mu.growing)
}

// wait blocks until w is granted or ctx ends; a waiter given up leaves its
// queue, or gives back what it was granted meanwhile.
func (p *requestPool) wait(ctx context.Context, w *poolWaiter, queue *[]*poolWaiter) error {
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.granted:
		// Granted while giving up: the caller gets an error, so the
		// grant goes back (a growing frame's ticket is released by its
		// caller with the rest).
		if w.ticket != nil && queue == &p.mu.admitting {
			p.releaseLocked(w.ticket)
		}
		return ctx.Err()
	default:
	}
	*queue = slices.DeleteFunc(*queue, func(x *poolWaiter) bool { return x == w })
	p.dispatchLocked()
	return ctx.Err()
}

// dispatchLocked grants waiters in order while memory is left: growing
// frames first (the oldest reader's growth at any time), then new ones.
func (p *requestPool) dispatchLocked() {
	for len(p.mu.growing) > 0 {
		i := 0
		if !p.roomLocked() {
			// Only the oldest reader may grow past the limit.
			i = slices.IndexFunc(p.mu.growing, func(w *poolWaiter) bool { return p.oldestLocked(w.ticket) })
			if i < 0 {
				return
			}
		}
		w := p.mu.growing[i]
		p.mu.growing = slices.Delete(p.mu.growing, i, i+1)
		w.ticket.bytes += w.n
		p.mu.bytes += w.n
		close(w.granted)
	}
	for len(p.mu.admitting) > 0 && p.roomLocked() {
		w := p.mu.admitting[0]
		p.mu.admitting = p.mu.admitting[1:]
		w.ticket = p.admitLocked(w.n)
		close(w.granted)
	}
}

func (p *requestPool) oldestLocked(t *frameTicket) bool {
	return len(p.mu.reading) > 0 && p.mu.reading[0] == t
}

// doneReading marks t's frame as read in full (or abandoned): it no longer
// needs the oldest reader's right to grow.
func (p *requestPool) doneReading(t *frameTicket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneReadingLocked(t)
}

func (p *requestPool) doneReadingLocked(t *frameTicket) {
	i := slices.Index(p.mu.reading, t)
	if i < 0 {
		return
	}
	p.mu.reading = slices.Delete(p.mu.reading, i, i+1)
	if i == 0 {
		p.dispatchLocked()
	}
}

// release returns t's bytes once its request was handled.
func (p *requestPool) release(t *frameTicket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked(t)
}

func (p *requestPool) releaseLocked(t *frameTicket) {
	p.doneReadingLocked(t)
	p.mu.bytes -= t.bytes
	t.bytes = 0
	p.dispatchLocked()
}

// roomLocked reports whether memory is left. A frame is admitted while any
// is, even if it needs more: as Kafka's pool, so that a frame larger than
// the pool can still be read when nothing else holds memory.
func (p *requestPool) roomLocked() bool {
	return p.maxBytes <= 0 || p.mu.bytes < p.maxBytes
}

// held reports the bytes held, for tests.
func (p *requestPool) held() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.bytes
}

// waiting reports the waiters, for tests.
func (p *requestPool) waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mu.growing) + len(p.mu.admitting)
}
