// Package testclock is a clock that tests move by hand, for code that takes
// its time from an injected func() time.Time (retention, throttles, group
// deadlines). Goroutines under test may read it while the test moves it.
package testclock

import (
	"sync"
	"time"
)

// Clock stands still until Advance moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// At is a clock stopped at t.
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's current time; pass the method value where code under
// test wants a func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
