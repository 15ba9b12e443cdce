package streams

import (
	"fmt"
	"math"
	"time"
)

// SessionWindowedGrouped is a grouped stream cut into sessions for an
// aggregation (Kafka's SessionWindowedKStream). Its aggregations make a
// table keyed by sessions, kept in a session store: a record starts a
// session or joins the sessions within the inactivity gap of it, merging
// them into one; the merged-away sessions are deleted from the table. A
// record whose merged session would already be closed is dropped and
// counted.
type SessionWindowedGrouped[K, V any] struct {
	g       Grouped[K, V]
	windows SessionWindows
}

// SessionWindowedBy cuts a grouped stream into sessions (Kafka's
// windowedBy(SessionWindows)).
func SessionWindowedBy[K, V any](g Grouped[K, V], w SessionWindows) SessionWindowedGrouped[K, V] {
	if err := w.validate(); err != nil {
		g.s.b.t.fail(err)
	}
	return SessionWindowedGrouped[K, V]{g: g, windows: w}
}

// Count counts the records per key and session. Tombstones are not
// counted.
func (g SessionWindowedGrouped[K, V]) Count(opts ...StoreOption) Table[Windowed[K], int64] {
	return SessionAggregate(g, func() int64 { return 0 }, func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, a, b int64) int64 { return a + b }, Int64, opts...)
}

// Reduce combines the values of each key and session with fn, which also
// combines the aggregates of sessions that merge.
func (g SessionWindowedGrouped[K, V]) Reduce(fn func(aggregate, value V) V, opts ...StoreOption) Table[Windowed[K], V] {
	return sessionAggregate(g, "KSTREAM-REDUCE-", g.g.vals, opts, sessionFuncs[K, V, V]{
		add: func(_ K, v V, agg V, found bool) V {
			if !found {
				return v
			}
			return fn(agg, v)
		},
		merge: func(_ K, a, b V) V { return fn(a, b) },
	})
}

// SessionAggregate folds the values of each key and session into an
// aggregate, starting from init(); merge combines the aggregates of two
// sessions that a record joins (Kafka's SessionWindowedKStream.aggregate
// with its Merger). The session store keeps sessions for the inactivity
// gap plus the grace period, or WithRetention's time if longer; read it
// with SessionStoreOf[K, A].
func SessionAggregate[K, V, A any](g SessionWindowedGrouped[K, V], init func() A, add func(key K, value V, aggregate A) A, merge func(key K, a, b A) A, aggregateSerde Serde[A], opts ...StoreOption) Table[Windowed[K], A] {
	return sessionAggregate(g, "KSTREAM-AGGREGATE-", aggregateSerde, opts, sessionFuncs[K, V, A]{
		init: init,
		add: func(k K, v V, agg A, found bool) A {
			if !found {
				agg = init()
			}
			return add(k, v, agg)
		},
		merge: merge,
	})
}

// sessionFuncs are a session aggregation's functions. init is nil for
// Reduce, which has no aggregate before the first value.
type sessionFuncs[K, V, A any] struct {
	init  func() A
	add   func(key K, value V, aggregate A, found bool) A
	merge func(key K, a, b A) A
}

func sessionAggregate[K, V, A any](g SessionWindowedGrouped[K, V], prefix string, aggSerde Serde[A], opts []StoreOption, fns sessionFuncs[K, V, A]) Table[Windowed[K], A] {
	b := g.g.s.b
	gap, grace := g.windows.gap, g.windows.grace
	// A session is accepted while its end plus gap plus grace has not
	// passed stream time; 1ms more keeps the last accepted end in the
	// store.
	retention := gap + grace + time.Millisecond
	name := b.t.generatedName(prefix + "STATE-STORE-")
	def := newSessionStoreDef(name, g.g.keys, aggSerde, retention, opts)
	if def.retention > retention {
		retention = def.retention
	}
	in := g.g.input(def.name)
	n := &node{name: b.t.generatedName(prefix), kind: kindProcessor,
		windowClose: &windowClose{afterEndMs: gap.Milliseconds() + grace.Milliseconds() + 1}}
	n.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[Windowed[K], change[A]](n, children)
		if err != nil {
			return nil, err
		}
		back, err := sessionStoreOf[K, A](t, def.name)
		if err != nil {
			return nil, err
		}
		w := newWindowedWriter(t, def.name, timedBackend[A](&sessionBackend[K, A]{s: back}), out)
		return &sessionProcessor[K, V, A]{task: t, store: def.name, keys: g.g.keys, topic: w.topic, w: w, fns: fns,
			gapMs: gap.Milliseconds(), graceMs: grace.Milliseconds(), retention: retention, observed: -1, newestEnd: math.MinInt64}, nil
	}
	b.t.addNode(n, in.n)
	b.t.AddStateStore(def, n.name)
	return Table[Windowed[K], A]{b: b, n: n, keys: SessionWindowedSerde(g.g.keys), vals: aggSerde, store: def.name,
		getter: sessionGetter[K, A](def.name), getterStores: []string{def.name}}
}

func sessionGetter[K, A any](name string) func(t *task) (valueGetter[Windowed[K], A], error) {
	return func(t *task) (valueGetter[Windowed[K], A], error) {
		ss, err := sessionStoreOf[K, A](t, name)
		if err != nil {
			return nil, err
		}
		return func(key Windowed[K]) (ValueAndTimestamp[A], bool, error) {
			v, ok, err := ss.FetchSession(key.Key, key.Start, key.End)
			return ValueAndTimestamp[A]{Value: v, Timestamp: toMillis(key.End)}, ok, err
		}, nil
	}
}

func sessionStoreOf[K, V any](t *task, name string) (*sessionStore[K, V], error) {
	s, err := t.store(name)
	if err != nil {
		return nil, err
	}
	ss, ok := s.(*sessionStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a session table store", ErrUnknownStore, name, s)
	}
	return ss, nil
}

// sessionProcessor merges records into sessions as Kafka Streams'
// KStreamSessionWindowAggregate does.
type sessionProcessor[K, V, A any] struct {
	task           *task
	store          string
	keys           Serde[K]
	topic          string
	w              *windowedWriter[K, A]
	fns            sessionFuncs[K, V, A]
	gapMs, graceMs int64
	retention      time.Duration
	observed       int64 // Kafka's observedStreamTime; -1 before the first record
	newestEnd      int64 // the latest session end written, for retention
}

func (p *sessionProcessor[K, V, A]) receive(r Record[K, V]) {
	if r.Tombstone || p.task.err != nil {
		return
	}
	ts := toMillis(r.Timestamp)
	p.observed = max(p.observed, ts)
	if err := p.process(r, ts); err != nil {
		p.task.fail(fmt.Errorf("session aggregate %q: %w", p.store, err))
	}
}

func (p *sessionProcessor[K, V, A]) process(r Record[K, V], ts int64) error {
	raw, err := p.keys.Serialize(p.topic, r.Key)
	if err != nil {
		return err
	}
	// Sessions past retention are gone from the store, or about to go at
	// its next write: the lower bound hides them whether or not the cache
	// has reached the store yet, so that caching does not change results.
	earliestEnd := max(ts-p.gapMs, liveFrom(p.newestEnd, p.retention))
	found, err := p.w.scan(raw, earliestEnd, ts+p.gapMs)
	if err != nil {
		return err
	}
	start, end := ts, ts
	var agg A
	has := p.fns.init != nil
	if has {
		agg = p.fns.init()
	}
	for _, s := range found {
		if has {
			agg = p.fns.merge(r.Key, agg, s.value.Value)
		} else {
			agg, has = s.value.Value, true
		}
		start, end = min(start, s.start), max(end, s.end)
	}
	if end < p.observed-p.graceMs-p.gapMs {
		p.task.env.counters.droppedLate.Add(1)
		return nil
	}
	for _, s := range found {
		if s.start == start && s.end == end {
			continue // rewritten below, with the old value forwarded
		}
		if err := p.w.remove(windowed(r.Key, s.start, s.end), raw); err != nil {
			return err
		}
	}
	agg = p.fns.add(r.Key, r.Value, agg, has)
	p.newestEnd = max(p.newestEnd, end)
	return p.w.put(windowed(r.Key, start, end), raw, ValueAndTimestamp[A]{Value: agg, Timestamp: end})
}

// sessionBackend: sessions by end, then start; a scan matches sessions
// ending at or after lo and starting at or before hi. Values are the
// aggregates alone, their timestamp being the session end.
type sessionBackend[K, A any] struct {
	s *sessionStore[K, A]
}

func (b *sessionBackend[K, A]) topic() string { return b.s.topic }

func (b *sessionBackend[K, A]) fetch(key []byte, start, end int64) (ValueAndTimestamp[A], bool, error) {
	v, ok, err := b.s.fetchSessionRaw(key, start, end)
	return ValueAndTimestamp[A]{Value: v, Timestamp: end}, ok, err
}

func (b *sessionBackend[K, A]) scan(key []byte, lo, hi int64) ([]timedEntry[A], error) {
	ss, err := b.s.session()
	if err != nil {
		return nil, err
	}
	it, err := ss.FindSessions(key, lo, hi)
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
		out = append(out, timedEntry[A]{start: it.Start(), end: it.End(), value: ValueAndTimestamp[A]{Value: v, Timestamp: it.End()}})
	}
	return out, it.Err()
}

func (b *sessionBackend[K, A]) matches(e timedEntry[A], lo, hi int64) bool {
	return e.end >= lo && e.start <= hi
}

func (b *sessionBackend[K, A]) less(x, y timedEntry[A]) bool {
	return x.end < y.end || (x.end == y.end && x.start < y.start)
}

func (b *sessionBackend[K, A]) write(key []byte, e timedEntry[A], deleted bool) error {
	var raw []byte
	if !deleted {
		var err error
		if raw, err = b.s.values.Serialize(b.s.topic, e.value.Value); err != nil {
			return err
		}
	}
	return b.s.putRaw(key, e.start, e.end, raw)
}
