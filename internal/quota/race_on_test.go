//go:build race

package quota

// raceEnabled shrinks the slowest tests, which the race detector makes ten
// times slower without adding coverage.
const raceEnabled = true
