package streams

import "time"

// wallClock is the clock of a running App: punctuators on wall-clock time
// and commit intervals follow it. The TestDriver has its own, moved by the
// test.
func wallClock() time.Time { return time.Now() }
