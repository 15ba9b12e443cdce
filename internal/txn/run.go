package txn

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Run starts and owns every goroutine of the coordinator: partition loads,
// marker jobs, and the periodic abort of timed-out transactions and
// expiration of idle ids. It returns when ctx ends, once they all have.
func (c *Coordinator) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer c.stop()
	now := c.clock.Now()
	r := &runner{
		nextAbort:  now.Add(c.cfg.AbortTimedOutInterval),
		nextExpire: now.Add(c.cfg.RemoveExpiredInterval),
	}
	for {
		next := c.dispatch(ctx, &wg, r)
		var timer <-chan time.Time
		stop := func() bool { return false }
		if !next.IsZero() {
			timer, stop = c.clock.NewTimer(max(next.Sub(c.clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-c.wake:
		case <-timer:
		}
		stop()
	}
}

// runner is the state of Run's loop.
type runner struct {
	nextAbort, nextExpire time.Time
	// aborting and expiring are set while a pass runs, so that a slow pass
	// is not overlapped by the next.
	aborting, expiring atomic.Bool
}

// dispatch starts the work that is due and returns when more will be (zero:
// nothing is scheduled; a wake-up will come).
func (c *Coordinator) dispatch(ctx context.Context, wg *sync.WaitGroup, r *runner) time.Time {
	now := c.clock.Now()
	if !now.Before(r.nextAbort) {
		r.nextAbort = now.Add(c.cfg.AbortTimedOutInterval)
		periodic(wg, &r.aborting, func() { c.abortTimedOut(ctx) })
	}
	if !now.Before(r.nextExpire) {
		r.nextExpire = now.Add(c.cfg.RemoveExpiredInterval)
		periodic(wg, &r.expiring, func() { c.expireIDs(ctx) })
	}
	c.mu.Lock()
	loads := c.dispatchLoadsLocked(wg, now)
	markers := c.dispatchMarkersLocked(wg, now)
	c.mu.Unlock()
	return earliest(r.nextAbort, r.nextExpire, loads, markers)
}

// periodic starts pass unless the previous one still runs.
func periodic(wg *sync.WaitGroup, running *atomic.Bool, pass func()) {
	if !running.CompareAndSwap(false, true) {
		return
	}
	wg.Go(func() {
		defer running.Store(false)
		pass()
	})
}

// earliest is the earliest non-zero time, or zero.
func earliest(times ...time.Time) time.Time {
	var e time.Time
	for _, t := range times {
		if !t.IsZero() && (e.IsZero() || t.Before(e)) {
			e = t
		}
	}
	return e
}

// stop ends the work of every partition: their loads and marker jobs see
// their context end. Requests are answered COORDINATOR_NOT_AVAILABLE from
// now on.
func (c *Coordinator) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.stopped = true
	for _, p := range c.mu.partitions {
		p.cancel()
	}
}
