package streams

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// TimeWindowedGrouped is a grouped stream cut into time or sliding windows
// for an aggregation (Kafka's TimeWindowedKStream). Its aggregations make a
// table keyed by Windowed keys, kept in a window store: each record updates
// the windows it falls into while they are open, and records that arrive
// after a window closed (its end plus the grace period, in the stream time
// the aggregation has seen) are dropped and counted.
type TimeWindowedGrouped[K, V any] struct {
	g       Grouped[K, V]
	windows TimeWindows
	sliding *SlidingWindows
}

// WindowedBy cuts a grouped stream into time windows (Kafka's
// windowedBy(TimeWindows)).
func WindowedBy[K, V any](g Grouped[K, V], w TimeWindows) TimeWindowedGrouped[K, V] {
	if err := w.validate(); err != nil {
		g.s.b.t.fail(err)
	}
	return TimeWindowedGrouped[K, V]{g: g, windows: w}
}

// SlidingWindowedBy cuts a grouped stream into sliding windows (Kafka's
// windowedBy(SlidingWindows)).
func SlidingWindowedBy[K, V any](g Grouped[K, V], w SlidingWindows) TimeWindowedGrouped[K, V] {
	if err := w.validate(); err != nil {
		g.s.b.t.fail(err)
	}
	return TimeWindowedGrouped[K, V]{g: g, sliding: &w}
}

// Count counts the records per key and window. Tombstones are not counted.
func (g TimeWindowedGrouped[K, V]) Count(opts ...StoreOption) Table[Windowed[K], int64] {
	return WindowedAggregate(g, func() int64 { return 0 }, func(_ K, _ V, n int64) int64 { return n + 1 }, Int64, opts...)
}

// Reduce combines the values of each key and window with fn, the first
// value standing as it is.
func (g TimeWindowedGrouped[K, V]) Reduce(fn func(aggregate, value V) V, opts ...StoreOption) Table[Windowed[K], V] {
	return windowedAggregate(g, "KSTREAM-REDUCE-", g.g.vals, opts, func(_ K, v V, agg V, found bool) V {
		if !found {
			return v
		}
		return fn(agg, v)
	})
}

// WindowedAggregate folds the values of each key and window into an
// aggregate, starting from init() (Kafka's TimeWindowedKStream.aggregate).
// The window store keeps windows for the window size plus the grace period
// (for sliding windows, long enough to build new windows from old ones),
// or WithRetention's time if longer. It holds ValueAndTimestamp[A], the
// timestamp being the newest record's in the window: read it with
// WindowStoreOf[K, ValueAndTimestamp[A]].
func WindowedAggregate[K, V, A any](g TimeWindowedGrouped[K, V], init func() A, add func(key K, value V, aggregate A) A, aggregateSerde Serde[A], opts ...StoreOption) Table[Windowed[K], A] {
	return windowedAggregate(g, "KSTREAM-AGGREGATE-", aggregateSerde, opts, func(k K, v V, agg A, found bool) A {
		if !found {
			agg = init()
		}
		return add(k, v, agg)
	})
}

// windowShape is what the store and the table need to know of the windows.
type windowShape struct {
	sizeMs    int64
	retention time.Duration
	close     windowClose
}

func (g TimeWindowedGrouped[K, V]) shape() windowShape {
	if w := g.sliding; w != nil {
		// A new sliding window is built from windows that start up to twice
		// the time difference before a record that may itself be the time
		// difference late; 2ms more covers the window starting after the
		// newest record.
		d := w.difference.Truncate(time.Millisecond)
		return windowShape{sizeMs: d.Milliseconds(), retention: 3*d + w.grace + 2*time.Millisecond,
			close: windowClose{afterEndMs: w.grace.Milliseconds() + 1}}
	}
	w := g.windows
	return windowShape{sizeMs: w.size.Milliseconds(), retention: w.size + w.grace, close: windowClose{afterEndMs: w.grace.Milliseconds()}}
}

func windowedAggregate[K, V, A any](g TimeWindowedGrouped[K, V], prefix string, aggSerde Serde[A], opts []StoreOption, fold func(K, V, A, bool) A) Table[Windowed[K], A] {
	b := g.g.s.b
	shape := g.shape()
	name := b.t.generatedName(prefix + "STATE-STORE-")
	def := newWindowStoreDef(name, g.g.keys, timestampedSerde[A]{values: aggSerde}, time.Duration(shape.sizeMs)*time.Millisecond, shape.retention, false, opts)
	in := g.g.input(def.name)
	n := &node{name: b.t.generatedName(prefix), kind: kindProcessor, windowClose: &shape.close}
	n.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[Windowed[K], change[A]](n, children)
		if err != nil {
			return nil, err
		}
		back, err := windowStoreOf[K, ValueAndTimestamp[A]](t, def.name)
		if err != nil {
			return nil, err
		}
		w := newWindowedWriter(t, def.name, timedBackend[A](&windowBackend[K, A]{s: back}), out)
		base := windowProcessorBase[K, V, A]{task: t, store: def.name, keys: g.g.keys, topic: w.topic, w: w, fold: fold, observed: -1}
		if s := g.sliding; s != nil {
			return &slidingProcessor[K, V, A]{windowProcessorBase: base, diffMs: shape.sizeMs, graceMs: s.grace.Milliseconds()}, nil
		}
		return &timeWindowProcessor[K, V, A]{windowProcessorBase: base, windows: g.windows}, nil
	}
	b.t.addNode(n, in.n)
	b.t.AddStateStore(def, n.name)
	keys := TimeWindowedSerde(g.g.keys, time.Duration(shape.sizeMs)*time.Millisecond)
	return Table[Windowed[K], A]{b: b, n: n, keys: keys, vals: aggSerde, store: def.name, getter: windowGetter[K, A](def.name), getterStores: []string{def.name}}
}

func windowGetter[K, A any](name string) func(t *task) (valueGetter[Windowed[K], A], error) {
	return func(t *task) (valueGetter[Windowed[K], A], error) {
		ws, err := windowStoreOf[K, ValueAndTimestamp[A]](t, name)
		if err != nil {
			return nil, err
		}
		return func(key Windowed[K]) (ValueAndTimestamp[A], bool, error) {
			return ws.Fetch(key.Key, key.Start)
		}, nil
	}
}

func windowStoreOf[K, V any](t *task, name string) (*windowStore[K, V], error) {
	s, err := t.store(name)
	if err != nil {
		return nil, err
	}
	ws, ok := s.(*windowStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a windowed table store", ErrUnknownStore, name, s)
	}
	return ws, nil
}

// windowProcessorBase is what the time and sliding window aggregations
// share. observed is Kafka's observedStreamTime: the largest timestamp this
// processor has seen, kept per processor because records reach it
// filtered and repartitioned.
type windowProcessorBase[K, V, A any] struct {
	task     *task
	store    string
	keys     Serde[K]
	topic    string
	w        *windowedWriter[K, A]
	fold     func(K, V, A, bool) A
	observed int64
}

// accept observes a record's timestamp and serializes its key; ok is false
// for records an aggregation skips (tombstones) or after a failure.
func (p *windowProcessorBase[K, V, A]) accept(r Record[K, V]) (raw []byte, ts int64, ok bool) {
	if r.Tombstone || p.task.err != nil {
		return nil, 0, false
	}
	ts = toMillis(r.Timestamp)
	p.observed = max(p.observed, ts)
	raw, err := p.keys.Serialize(p.topic, r.Key)
	if err != nil {
		p.task.fail(fmt.Errorf("windowed aggregate %q: %w", p.store, err))
		return nil, 0, false
	}
	return raw, ts, true
}

func (p *windowProcessorBase[K, V, A]) failed(err error) {
	if err != nil {
		p.task.fail(fmt.Errorf("windowed aggregate %q: %w", p.store, err))
	}
}

// timeWindowProcessor aggregates into tumbling or hopping windows.
type timeWindowProcessor[K, V, A any] struct {
	windowProcessorBase[K, V, A]
	windows TimeWindows
}

func (p *timeWindowProcessor[K, V, A]) receive(r Record[K, V]) {
	raw, ts, ok := p.accept(r)
	if !ok {
		return
	}
	sizeMs := p.windows.size.Milliseconds()
	closeMs := p.observed - p.windows.grace.Milliseconds()
	for _, start := range p.windows.startsFor(ts) {
		end := start + sizeMs
		if end <= closeMs {
			// Kafka Streams counts a drop per closed window.
			p.task.env.counters.droppedLate.Add(1)
			continue
		}
		key := windowed(r.Key, start, end)
		old, found, err := p.w.get(key, raw)
		if err == nil {
			value := ValueAndTimestamp[A]{Value: p.fold(r.Key, r.Value, old.Value, found), Timestamp: ts}
			if found {
				value.Timestamp = max(ts, old.Timestamp)
			}
			err = p.w.put(key, raw, value)
		}
		if err != nil {
			p.failed(err)
			return
		}
	}
}

// slidingProcessor aggregates into sliding windows the way Kafka Streams
// does (KIP-450): a record updates the windows that hold it and creates its
// own left window [t-d, t], its right window [t+1, t+1+d] when a later
// record falls into it, and the right window of the record before it; new
// windows take their aggregates from existing ones, as aggregates cannot be
// taken apart.
//
// Unlike Kafka Streams, a window that has closed is still updated in the
// store, only not forwarded: a record late for some of its windows but not
// all would otherwise be missing from the windows later built from the
// closed ones. Only a record late for all its windows is dropped and
// counted, once.
type slidingProcessor[K, V, A any] struct {
	windowProcessorBase[K, V, A]
	diffMs, graceMs int64
}

// slidingRecord is a record being aggregated.
type slidingRecord[K, V any] struct {
	key     K
	raw     []byte
	value   V
	ts      int64
	closeMs int64 // windows ending before it are closed
}

func (p *slidingProcessor[K, V, A]) receive(r Record[K, V]) {
	raw, ts, ok := p.accept(r)
	if !ok {
		return
	}
	rec := slidingRecord[K, V]{key: r.Key, raw: raw, value: r.Value, ts: ts, closeMs: p.observed - p.graceMs}
	if ts+p.diffMs < rec.closeMs {
		p.task.env.counters.droppedLate.Add(1)
		return
	}
	if ts < p.diffMs {
		p.failed(p.processEarly(rec))
		return
	}
	p.failed(p.process(rec))
}

// update folds the record into the window starting at start, whose
// aggregate was old (found false: a new window).
func (p *slidingProcessor[K, V, A]) update(rec slidingRecord[K, V], start int64, old ValueAndTimestamp[A], found bool) error {
	value := ValueAndTimestamp[A]{Value: p.fold(rec.key, rec.value, old.Value, found), Timestamp: rec.ts}
	if found {
		value.Timestamp = max(rec.ts, old.Timestamp)
	}
	return p.write(rec, start, value)
}

// write stores a window's aggregate, forwarding it while the window is open.
func (p *slidingProcessor[K, V, A]) write(rec slidingRecord[K, V], start int64, value ValueAndTimestamp[A]) error {
	end := start + p.diffMs
	key := windowed(rec.key, start, end)
	if end >= rec.closeMs {
		return p.w.put(key, rec.raw, value)
	}
	return p.w.putSilently(key, rec.raw, value)
}

// slidingScan is what a record finds among the windows of its key.
type slidingScan[A any] struct {
	starts map[int64]bool
	// left holds the records in [t-d, t) when prev >= t-d; right holds
	// those in (t, t+1+d] when its timestamp is above t.
	left, right *timedEntry[A]
	prev        int64 // the timestamp of the record before t, if hasPrev
	hasPrev     bool
}

// process handles a record at or after the time difference: it updates
// the windows holding it and creates the missing ones.
func (p *slidingProcessor[K, V, A]) process(rec slidingRecord[K, V]) error {
	t, d := rec.ts, p.diffMs
	entries, err := p.w.scan(rec.raw, max(0, t-2*d), t+1)
	if err != nil {
		return err
	}
	s := slidingScan[A]{starts: make(map[int64]bool, len(entries))}
	for i := range entries {
		e := &entries[i]
		s.starts[e.start] = true
		switch end := e.start + d; {
		case end < t:
			s.left, s.prev, s.hasPrev = e, e.value.Timestamp, true
		case end == t:
			if e.value.Timestamp < t {
				s.prev, s.hasPrev = e.value.Timestamp, true
			}
			err = p.update(rec, e.start, e.value, true)
		case e.start <= t:
			s.right = e
			err = p.update(rec, e.start, e.value, true)
		}
		if err != nil {
			return err
		}
	}
	if s.hasPrev && !s.starts[s.prev+1] && s.prev+1+d >= t {
		// The record before t gets its right window, which holds t only.
		if err := p.update(rec, s.prev+1, ValueAndTimestamp[A]{}, false); err != nil {
			return err
		}
		s.starts[s.prev+1] = true
	}
	if !s.starts[t-d] {
		if s.hasPrev && s.prev >= t-d {
			err = p.update(rec, t-d, ValueAndTimestamp[A]{Value: s.left.value.Value, Timestamp: t}, true)
		} else {
			err = p.update(rec, t-d, ValueAndTimestamp[A]{}, false)
		}
		if err != nil {
			return err
		}
	}
	return p.createRight(rec, s)
}

// createRight creates the record's right window when later records fall
// into it.
func (p *slidingProcessor[K, V, A]) createRight(rec slidingRecord[K, V], s slidingScan[A]) error {
	if s.starts[rec.ts+1] || s.right == nil || s.right.value.Timestamp <= rec.ts {
		return nil
	}
	return p.write(rec, rec.ts+1, s.right.value)
}

// processEarly handles a record before the time difference: windows cannot
// start before 0, so such records share the window [0, d].
func (p *slidingProcessor[K, V, A]) processEarly(rec slidingRecord[K, V]) error {
	t := rec.ts
	entries, err := p.w.scan(rec.raw, 0, t+1)
	if err != nil {
		return err
	}
	s := slidingScan[A]{starts: make(map[int64]bool, len(entries))}
	var combined *timedEntry[A]
	for i := range entries {
		e := &entries[i]
		s.starts[e.start] = true
		switch {
		case e.start == 0:
			combined = e
			if e.value.Timestamp < t {
				s.prev, s.hasPrev = e.value.Timestamp, true
			}
		case e.start <= t:
			s.right = e
			if err := p.update(rec, e.start, e.value, true); err != nil {
				return err
			}
		}
	}
	// With nothing between them, the combined window holds only records
	// after t when its newest is after t.
	if s.right == nil && combined != nil && combined.value.Timestamp > t {
		s.right = combined
	}
	if err := p.createRight(rec, s); err != nil {
		return err
	}
	if s.hasPrev && !s.starts[s.prev+1] {
		if err := p.update(rec, s.prev+1, ValueAndTimestamp[A]{}, false); err != nil {
			return err
		}
	}
	if combined == nil {
		return p.update(rec, 0, ValueAndTimestamp[A]{}, false)
	}
	return p.update(rec, 0, combined.value, true)
}

// timedEntry is one window or session of a key: its bounds and aggregate.
type timedEntry[A any] struct {
	start, end int64
	value      ValueAndTimestamp[A]
}

// timedBackend is the store under a windowedWriter: a window store or a
// session store, read and written with serialized keys.
type timedBackend[A any] interface {
	fetch(key []byte, start, end int64) (ValueAndTimestamp[A], bool, error)
	// scan returns the key's entries that match lo and hi, in store order.
	scan(key []byte, lo, hi int64) ([]timedEntry[A], error)
	matches(e timedEntry[A], lo, hi int64) bool
	less(a, b timedEntry[A]) bool
	write(key []byte, e timedEntry[A], deleted bool) error
	topic() string
}

// windowBackend: windows by start; a scan matches starts in [lo, hi].
type windowBackend[K, A any] struct {
	s *windowStore[K, ValueAndTimestamp[A]]
}

func (b *windowBackend[K, A]) topic() string { return b.s.topic }

func (b *windowBackend[K, A]) fetch(key []byte, start, _ int64) (ValueAndTimestamp[A], bool, error) {
	return b.s.fetchRaw(key, start)
}

func (b *windowBackend[K, A]) scan(key []byte, lo, hi int64) ([]timedEntry[A], error) {
	w, err := b.s.window()
	if err != nil {
		return nil, err
	}
	it, err := w.FetchRange(key, lo, hi)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []timedEntry[A]
	for it.Next() {
		v, err := b.s.values.Deserialize(b.s.topic, it.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, timedEntry[A]{start: it.Start(), end: it.Start() + b.s.sizeMs, value: v})
	}
	return out, it.Err()
}

func (b *windowBackend[K, A]) matches(e timedEntry[A], lo, hi int64) bool {
	return e.start >= lo && e.start <= hi
}

func (b *windowBackend[K, A]) less(x, y timedEntry[A]) bool { return x.start < y.start }

func (b *windowBackend[K, A]) write(key []byte, e timedEntry[A], deleted bool) error {
	var raw []byte
	if !deleted {
		var err error
		if raw, err = b.s.values.Serialize(b.s.topic, e.value); err != nil {
			return err
		}
	}
	return b.s.putRaw(key, e.start, raw)
}

// windowID names one window or session of a serialized key.
type windowID struct {
	key        string
	start, end int64
}

// windowedWriter writes a windowed table's store and forwards its changes,
// through a cache when caching is on, as tableWriter does for key-value
// tables. Its reads see the cache over the store, scans included.
type windowedWriter[K, A any] struct {
	task  *task
	back  timedBackend[A]
	topic string
	cache *windowCache[K, A]
	out   forwarder[Windowed[K], change[A]]
}

func newWindowedWriter[K, A any](t *task, storeName string, back timedBackend[A], out forwarder[Windowed[K], change[A]]) *windowedWriter[K, A] {
	w := &windowedWriter[K, A]{task: t, back: back, topic: back.topic(), out: out}
	if ts, ok := t.stores[storeName]; ok && ts.def.caching && t.env.cacheBytesPerTask > 0 {
		w.cache = newWindowCache[K, A](t.env.cacheBytesPerTask)
		t.flushers = append(t.flushers, w.flush)
	}
	return w
}

func idOf[K any](key Windowed[K], raw []byte) windowID {
	return windowID{key: string(raw), start: toMillis(key.Start), end: toMillis(key.End)}
}

func (w *windowedWriter[K, A]) get(key Windowed[K], raw []byte) (ValueAndTimestamp[A], bool, error) {
	id := idOf(key, raw)
	if w.cache != nil {
		if e, ok := w.cache.entries[id]; ok {
			return e.value, !e.deleted, nil
		}
	}
	return w.back.fetch(raw, id.start, id.end)
}

// scan returns the key's windows or sessions matching lo and hi, the cache
// over the store, in store order.
func (w *windowedWriter[K, A]) scan(raw []byte, lo, hi int64) ([]timedEntry[A], error) {
	stored, err := w.back.scan(raw, lo, hi)
	if err != nil || w.cache == nil {
		return stored, err
	}
	ids := w.cache.byKey[string(raw)]
	if len(ids) == 0 {
		return stored, nil
	}
	out := stored[:0]
	for _, e := range stored {
		if _, cached := w.cache.entries[windowID{key: string(raw), start: e.start, end: e.end}]; !cached {
			out = append(out, e)
		}
	}
	for _, id := range ids {
		c := w.cache.entries[id]
		e := timedEntry[A]{start: id.start, end: id.end, value: c.value}
		if !c.deleted && w.back.matches(e, lo, hi) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(x, y timedEntry[A]) int {
		switch {
		case w.back.less(x, y):
			return -1
		case w.back.less(y, x):
			return 1
		}
		return 0
	})
	return out, nil
}

// put sets a window's aggregate and forwards the change, now or at the
// cache's next flush.
func (w *windowedWriter[K, A]) put(key Windowed[K], raw []byte, value ValueAndTimestamp[A]) error {
	return w.write(key, raw, value, false)
}

// remove deletes a session and forwards the deletion.
func (w *windowedWriter[K, A]) remove(key Windowed[K], raw []byte) error {
	return w.write(key, raw, ValueAndTimestamp[A]{Timestamp: toMillis(key.End)}, true)
}

func (w *windowedWriter[K, A]) write(key Windowed[K], raw []byte, value ValueAndTimestamp[A], deleted bool) error {
	id := idOf(key, raw)
	if w.cache == nil {
		old, hasOld, err := w.back.fetch(raw, id.start, id.end)
		if err != nil {
			return err
		}
		if err := w.back.write(raw, timedEntry[A]{start: id.start, end: id.end, value: value}, deleted); err != nil {
			return err
		}
		w.forward(key, value, deleted, old, hasOld)
		return nil
	}
	if _, cached := w.cache.entries[id]; !cached {
		old, hasOld, err := w.back.fetch(raw, id.start, id.end)
		if err != nil {
			return err
		}
		w.cache.add(id, key, old, hasOld)
	}
	e := w.cache.entries[id]
	e.value, e.deleted = value, deleted
	w.cache.touch(id, e)
	if w.cache.full() {
		w.flush()
	}
	return w.task.err
}

// putSilently sets the aggregate of a closed window without forwarding it.
// A pending cached update of the window is flushed first, so that the
// flush cannot forward the silent value.
func (w *windowedWriter[K, A]) putSilently(key Windowed[K], raw []byte, value ValueAndTimestamp[A]) error {
	id := idOf(key, raw)
	if w.cache != nil {
		if _, cached := w.cache.entries[id]; cached {
			w.flush()
			if w.task.err != nil {
				return w.task.err
			}
		}
	}
	return w.back.write(raw, timedEntry[A]{start: id.start, end: id.end, value: value}, false)
}

func (w *windowedWriter[K, A]) forward(key Windowed[K], value ValueAndTimestamp[A], deleted bool, old ValueAndTimestamp[A], hasOld bool) {
	if deleted && !hasOld {
		return
	}
	c := change[A]{newValue: value.Value, hasNew: !deleted, oldValue: old.Value, hasOld: hasOld}
	saved := w.task.currentTime
	w.task.currentTime = value.Timestamp
	w.out.forward(Record[Windowed[K], change[A]]{Key: key, Value: c, Timestamp: fromMillis(value.Timestamp)})
	w.task.currentTime = saved
}

// flush writes and forwards what the cache holds, in the order the windows
// were last updated, as Kafka Streams' NamedCache does: every change
// forwarded before a window's carries a timestamp the window was open at,
// so that a suppression downstream cannot see stream time pass the window
// before its last update arrives.
func (w *windowedWriter[K, A]) flush() {
	if w.cache == nil {
		return
	}
	w.cache.drain(func(id windowID, e *windowCacheEntry[K, A]) {
		if w.task.err != nil {
			return
		}
		entry := timedEntry[A]{start: id.start, end: id.end, value: e.value}
		if err := w.back.write([]byte(id.key), entry, e.deleted); err != nil {
			w.task.fail(err)
			return
		}
		w.forward(e.key, e.value, e.deleted, e.old, e.hasOld)
	})
}

// windowCache holds a windowed store's latest updates between commits, as
// tableCache does for key-value tables, with an index by key for scans.
// order lists the entries by last update: an update appends the entry
// again, and the positions an entry left are skipped.
type windowCache[K, A any] struct {
	entries  map[windowID]*windowCacheEntry[K, A]
	byKey    map[string][]windowID
	order    []windowID
	bytes    int64
	maxBytes int64
}

type windowCacheEntry[K, A any] struct {
	key     Windowed[K]
	value   ValueAndTimestamp[A]
	deleted bool
	// old is the store's value before the first update since the last
	// flush: what the flushed change replaces.
	old    ValueAndTimestamp[A]
	hasOld bool
	pos    int // the entry's position in order
}

func newWindowCache[K, A any](maxBytes int64) *windowCache[K, A] {
	return &windowCache[K, A]{entries: make(map[windowID]*windowCacheEntry[K, A]), byKey: make(map[string][]windowID), maxBytes: maxBytes}
}

func (c *windowCache[K, A]) add(id windowID, key Windowed[K], old ValueAndTimestamp[A], hasOld bool) {
	c.entries[id] = &windowCacheEntry[K, A]{key: key, old: old, hasOld: hasOld, pos: len(c.order)}
	c.byKey[id.key] = append(c.byKey[id.key], id)
	c.order = append(c.order, id)
	c.bytes += int64(len(id.key)) + 16 + cacheEntryOverheadBytes
}

// touch moves an updated entry to the end of the order, compacting the
// order when left positions outnumber the entries.
func (c *windowCache[K, A]) touch(id windowID, e *windowCacheEntry[K, A]) {
	if e.pos == len(c.order)-1 {
		return
	}
	e.pos = len(c.order)
	c.order = append(c.order, id)
	if len(c.order) <= 2*len(c.entries)+16 {
		return
	}
	live := c.order[:0]
	for i, id := range c.order {
		if c.entries[id].pos == i {
			c.entries[id].pos = len(live)
			live = append(live, id)
		}
	}
	c.order = live
}

func (c *windowCache[K, A]) full() bool { return c.bytes > c.maxBytes }

// drain hands every entry to fn in order and empties the cache.
func (c *windowCache[K, A]) drain(fn func(id windowID, e *windowCacheEntry[K, A])) {
	order, entries := c.order, c.entries
	c.order, c.entries, c.byKey, c.bytes = nil, make(map[windowID]*windowCacheEntry[K, A]), make(map[string][]windowID), 0
	for i, id := range order {
		if e := entries[id]; e.pos == i {
			fn(id, e)
		}
	}
}

// liveFrom is the oldest time a store with the given retention keeps once
// it has seen newestMs (math.MinInt64: nothing seen yet).
func liveFrom(newestMs int64, retention time.Duration) int64 {
	if newestMs == math.MinInt64 {
		return math.MinInt64
	}
	return addMillisSaturated(newestMs, -retention.Milliseconds()+1)
}
