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
	aborts := &periodicPass{next: now.Add(c.cfg.AbortTimedOutInterval), interval: c.cfg.AbortTimedOutInterval,
		run: func() { c.abortTimedOut(ctx) }}
	expirations := &periodicPass{next: now.Add(c.cfg.RemoveExpiredInterval), interval: c.cfg.RemoveExpiredInterval,
		run: func() { c.expireIDs(ctx) }}
	for {
		timer, stop := c.timerAt(c.dispatch(&wg, aborts, expirations))
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

// timerAt returns a channel that receives at next, never when next is
// zero. The clock may move between reading it and arming the timer, which
// would arm it late: if next has passed by then, the channel is ready now.
func (c *Coordinator) timerAt(next time.Time) (<-chan time.Time, func() bool) {
	if next.IsZero() {
		return nil, func() bool { return false }
	}
	timer, stop := c.clock.NewTimer(max(next.Sub(c.clock.Now()), 0))
	if now := c.clock.Now(); !now.Before(next) {
		stop()
		ready := make(chan time.Time, 1)
		ready <- now
		return ready, func() bool { return false }
	}
	return timer, stop
}

// dispatch starts the work that is due and returns when more will be (zero:
// nothing is scheduled; a wake-up will come).
func (c *Coordinator) dispatch(wg *sync.WaitGroup, passes ...*periodicPass) time.Time {
	now := c.clock.Now()
	var next []time.Time
	for _, p := range passes {
		next = append(next, p.dispatch(wg, now, c.signal))
	}
	c.mu.Lock()
	next = append(next, c.dispatchLoadsLocked(wg, now), c.dispatchMarkersLocked(wg, now))
	c.mu.Unlock()
	return earliest(next...)
}

// periodicPass is work Run starts every interval, one at a time: a pass due
// while the previous one still runs starts when that one ends.
type periodicPass struct {
	next     time.Time
	interval time.Duration
	run      func()
	running  atomic.Bool
}

// dispatch starts the pass if it is due and returns when it is next due
// (zero while it runs: its end wakes Run).
func (p *periodicPass) dispatch(wg *sync.WaitGroup, now time.Time, wake func()) time.Time {
	switch {
	case p.running.Load():
		return time.Time{}
	case now.Before(p.next):
		return p.next
	}
	p.next = now.Add(p.interval)
	p.running.Store(true)
	wg.Go(func() {
		defer wake()
		defer p.running.Store(false)
		p.run()
	})
	return time.Time{}
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
