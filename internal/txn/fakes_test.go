package txn

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeLog is an in-memory __transaction_state partition whose appends,
// waits and loads can fail or block.
type fakeLog struct {
	notify func()

	mu         sync.Mutex
	records    []Record
	batches    int
	appendErr  error
	durableErr error
	// durableErrs fail the next waits, one error each, before durableErr.
	durableErrs []error
	// hold, while set, keeps WaitDurable waiting until it is closed.
	hold     chan struct{}
	loadHold chan struct{}
	loadErr  error
}

func (l *fakeLog) Append(records []Record) (int64, error) {
	l.mu.Lock()
	defer l.notifyLater()
	defer l.mu.Unlock()
	if l.appendErr != nil {
		return 0, l.appendErr
	}
	for _, r := range records {
		l.records = append(l.records, Record{Key: slices.Clone(r.Key), Value: slices.Clone(r.Value)})
	}
	l.batches++
	return int64(len(l.records)), nil
}

func (l *fakeLog) notifyLater() {
	if l.notify != nil {
		l.notify()
	}
}

func (l *fakeLog) WaitDurable(ctx context.Context, _ int64) error {
	l.mu.Lock()
	hold := l.hold
	var err error
	if len(l.durableErrs) > 0 {
		err, l.durableErrs = l.durableErrs[0], l.durableErrs[1:]
	} else {
		err = l.durableErr
	}
	l.mu.Unlock()
	defer l.notifyLater()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func (l *fakeLog) Load(ctx context.Context, fn func(key, value []byte) error) error {
	l.mu.Lock()
	hold, loadErr := l.loadHold, l.loadErr
	records := slices.Clone(l.records)
	l.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if loadErr != nil {
		return loadErr
	}
	for _, r := range records {
		if err := fn(r.Key, r.Value); err != nil {
			return err
		}
	}
	return nil
}

func (l *fakeLog) set(f func(l *fakeLog)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(l)
}

// put appends a record of id's state directly, as a previous coordinator
// would have.
func (l *fakeLog) put(id string, s *txnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := Record{Key: encodeKey(id)}
	if s != nil {
		r.Value = encodeValue(s)
	}
	l.records = append(l.records, r)
}

func (l *fakeLog) batchCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.batches
}

func (l *fakeLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

// last is the latest record of id, decoded; nil and false for none, nil and
// true for a tombstone.
func (l *fakeLog) last(t *testing.T, id string) (*txnState, bool) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.records) - 1; i >= 0; i-- {
		got, s, err := decodeRecord(l.records[i].Key, l.records[i].Value)
		if err != nil {
			continue
		}
		if got == id {
			return s, true
		}
	}
	return nil, false
}

// fakeMarkers records WriteMarkers calls and answers from a script.
type fakeMarkers struct {
	notify func()

	mu    sync.Mutex
	calls []Markers
	// errs are the answers per partition, one per call, before nil.
	errs map[TopicPartition][]error
	// hold, while set, keeps calls waiting until it is closed.
	hold chan struct{}
}

func (f *fakeMarkers) WriteMarkers(ctx context.Context, m Markers) map[TopicPartition]error {
	f.mu.Lock()
	f.calls = append(f.calls, m)
	hold := f.hold
	out := make(map[TopicPartition]error, len(m.Partitions))
	for _, tp := range m.Partitions {
		var err error
		if errs := f.errs[tp]; len(errs) > 0 {
			err, f.errs[tp] = errs[0], errs[1:]
		}
		out[tp] = err
	}
	f.mu.Unlock()
	if f.notify != nil {
		f.notify()
		defer f.notify()
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil
		}
	}
	return out
}

func (f *fakeMarkers) set(fn func(f *fakeMarkers)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeMarkers) callsSoFar() []Markers {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fakeClock stands still until Advance, which fires the timers due.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at   time.Time
	ch   chan time.Time
	done bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		t.done = true
	} else {
		c.timers = append(c.timers, t)
	}
	return t.ch, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.done
		t.done = true
		return was
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	live := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.ch <- c.now
			t.done = true
		default:
			live = append(live, t)
		}
	}
	c.timers = live
}
