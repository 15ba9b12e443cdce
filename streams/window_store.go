package streams

import (
	"errors"
	"fmt"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// WindowStore is a task's typed window store (Kafka's WindowStore): values
// by key and window start. Windows older than the store's retention behind
// the newest window start put are dropped: puts to them are ignored, as
// Kafka Streams ignores them, and reads do not see them. Iterators return
// windows by ascending start; Close them before the processor returns.
type WindowStore[K, V any] interface {
	StateStore
	// Put stores value for key's window starting at windowStart; a value
	// that serializes to nil deletes it.
	Put(key K, value V, windowStart time.Time) error
	// Fetch returns key's window starting at windowStart.
	Fetch(key K, windowStart time.Time) (value V, ok bool, err error)
	// FetchRange iterates over key's windows starting in [from, to].
	FetchRange(key K, from, to time.Time) (KeyValueIterator[Windowed[K], V], error)
	// FetchAll iterates over the windows of every key starting in
	// [from, to], by key within each time segment.
	FetchAll(from, to time.Time) (KeyValueIterator[Windowed[K], V], error)
	// All iterates over every window kept.
	All() (KeyValueIterator[Windowed[K], V], error)
}

// SessionStore is a task's typed session store (Kafka's SessionStore):
// values by key and session [start, end]. Sessions that ended longer than
// the store's retention before the newest session end put are dropped.
// Iterators return sessions by ascending end, then start.
type SessionStore[K, V any] interface {
	StateStore
	// Put stores value for the session; a value that serializes to nil
	// removes it.
	Put(session Windowed[K], value V) error
	Remove(session Windowed[K]) error
	// FetchSession returns key's session from start to end.
	FetchSession(key K, start, end time.Time) (value V, ok bool, err error)
	// FindSessions iterates over key's sessions that end at or after
	// earliestEnd and start at or before latestStart.
	FindSessions(key K, earliestEnd, latestStart time.Time) (KeyValueIterator[Windowed[K], V], error)
	// Fetch iterates over all of key's sessions.
	Fetch(key K) (KeyValueIterator[Windowed[K], V], error)
}

// WindowStoreBuilder describes a window store for the Processor API
// (Kafka's Stores.windowStoreBuilder): windows of windowSize kept for
// retention, at least windowSize. Its changelog is compacted and deleted
// after retention plus a day (Kafka's
// windowstore.changelog.additional.retention.ms default; a topology cannot
// see the application's Config, so the default is used).
func WindowStoreBuilder[K, V any](name string, keySerde Serde[K], valueSerde Serde[V], windowSize, retention time.Duration, opts ...StoreOption) StoreBuilder {
	return newWindowStoreDef(name, keySerde, valueSerde, windowSize, max(retention, windowSize), false, opts)
}

// SessionStoreBuilder describes a session store for the Processor API
// (Kafka's Stores.sessionStoreBuilder), keeping sessions for retention
// behind the newest session end.
func SessionStoreBuilder[K, V any](name string, keySerde Serde[K], valueSerde Serde[V], retention time.Duration, opts ...StoreOption) StoreBuilder {
	return newSessionStoreDef(name, keySerde, valueSerde, retention, opts)
}

// WindowStoreOf returns the typed window store name of a processor.
func WindowStoreOf[K, V any](ctx interface {
	StateStore(name string) (StateStore, error)
}, name string) (WindowStore[K, V], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	ws, ok := s.(WindowStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a window store of these types", ErrUnknownStore, name, s)
	}
	return ws, nil
}

// SessionStoreOf returns the typed session store name of a processor.
func SessionStoreOf[K, V any](ctx interface {
	StateStore(name string) (StateStore, error)
}, name string) (SessionStore[K, V], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	ss, ok := s.(SessionStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a session store of these types", ErrUnknownStore, name, s)
	}
	return ss, nil
}

// additionalChangelogRetention is Kafka's default of
// windowstore.changelog.additional.retention.ms: how much longer than the
// store a windowed changelog keeps records, for clock drift between
// instances.
const additionalChangelogRetention = 24 * time.Hour

// windowedChangelogConfigs makes a window or session store's changelog
// compacted and time-limited, unless the user configured otherwise.
func windowedChangelogConfigs(d *storeDef, retention time.Duration) {
	if d.changelogConfigs["cleanup.policy"] == "compact" {
		d.changelogConfigs["cleanup.policy"] = "compact,delete"
	}
	if _, ok := d.changelogConfigs["retention.ms"]; !ok {
		d.changelogConfigs["retention.ms"] = fmt.Sprint((retention + additionalChangelogRetention).Milliseconds())
	}
}

// newWindowStoreDef describes a window store; duplicates keeps every value
// put under one key and start (stream-stream joins).
func newWindowStoreDef[K, V any](name string, keys Serde[K], values Serde[V], size, retention time.Duration, duplicates bool, opts []StoreOption) *storeDef {
	d := newStoreDef(name, storeWindow, opts)
	retention = max(retention, d.retention)
	windowedChangelogConfigs(d, retention)
	d.newWindowed = func(t *task, raw store.KeyValue, log store.Logger) StateStore {
		return &windowStore[K, V]{
			def: d, raw: raw, log: log, keys: keys, values: values, sizeMs: size.Milliseconds(),
			topic: t.env.resolve(d.changelogSuffix(), true),
			opts:  store.WindowOptions{Retention: retention, RetainDuplicates: duplicates},
		}
	}
	return d
}

func newSessionStoreDef[K, V any](name string, keys Serde[K], values Serde[V], retention time.Duration, opts []StoreOption) *storeDef {
	d := newStoreDef(name, storeSession, opts)
	retention = max(retention, d.retention)
	windowedChangelogConfigs(d, retention)
	d.newWindowed = func(t *task, raw store.KeyValue, log store.Logger) StateStore {
		return &sessionStore[K, V]{
			def: d, raw: raw, log: log, keys: keys, values: values,
			topic: t.env.resolve(d.changelogSuffix(), true),
			opts:  store.SessionOptions{Retention: retention},
		}
	}
	return d
}

// windowStore types a store.Window. The Window is made at first use, after
// the task's restoration, because it takes its stream time from the data.
type windowStore[K, V any] struct {
	def    *storeDef
	raw    store.KeyValue
	log    store.Logger
	opts   store.WindowOptions
	keys   Serde[K]
	values Serde[V]
	sizeMs int64
	topic  string // for the serdes: the changelog topic, as Kafka passes
	w      *store.Window
}

func (s *windowStore[K, V]) Name() string { return s.def.name }

func (s *windowStore[K, V]) Persistent() bool { return s.def.persistent }

func (s *windowStore[K, V]) window() (*store.Window, error) {
	if s.w == nil {
		w, err := store.NewWindow(s.raw, s.log, s.opts)
		if err != nil {
			return nil, err
		}
		s.w = w
	}
	return s.w, nil
}

func (s *windowStore[K, V]) Put(key K, value V, windowStart time.Time) error {
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return err
	}
	v, err := s.values.Serialize(s.topic, value)
	if err != nil {
		return err
	}
	return s.putRaw(raw, toMillis(windowStart), v)
}

// putRaw writes serialized bytes, ignoring a window already expired.
func (s *windowStore[K, V]) putRaw(key []byte, start int64, value []byte) error {
	w, err := s.window()
	if err != nil {
		return err
	}
	if err := w.Put(key, start, value); err != nil && !errors.Is(err, store.ErrExpired) {
		return err
	}
	return nil
}

func (s *windowStore[K, V]) Fetch(key K, windowStart time.Time) (V, bool, error) {
	var zero V
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return zero, false, err
	}
	return s.fetchRaw(raw, toMillis(windowStart))
}

func (s *windowStore[K, V]) fetchRaw(key []byte, start int64) (V, bool, error) {
	var zero V
	w, err := s.window()
	if err != nil {
		return zero, false, err
	}
	data, err := w.Fetch(key, start)
	if err != nil || data == nil {
		return zero, false, err
	}
	v, err := s.values.Deserialize(s.topic, data)
	return v, err == nil, err
}

func (s *windowStore[K, V]) FetchRange(key K, from, to time.Time) (KeyValueIterator[Windowed[K], V], error) {
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return nil, err
	}
	w, err := s.window()
	if err != nil {
		return nil, err
	}
	it, err := w.FetchRange(raw, toMillis(from), toMillis(to))
	if err != nil {
		return nil, err
	}
	return &windowIterator[K, V]{it: it, s: s}, nil
}

func (s *windowStore[K, V]) FetchAll(from, to time.Time) (KeyValueIterator[Windowed[K], V], error) {
	w, err := s.window()
	if err != nil {
		return nil, err
	}
	it, err := w.FetchAll(toMillis(from), toMillis(to))
	if err != nil {
		return nil, err
	}
	return &windowIterator[K, V]{it: it, s: s}, nil
}

func (s *windowStore[K, V]) All() (KeyValueIterator[Windowed[K], V], error) {
	w, err := s.window()
	if err != nil {
		return nil, err
	}
	it, err := w.All()
	if err != nil {
		return nil, err
	}
	return &windowIterator[K, V]{it: it, s: s}, nil
}

type windowIterator[K, V any] struct {
	it    *store.WindowIterator
	s     *windowStore[K, V]
	key   Windowed[K]
	value V
	err   error
}

func (i *windowIterator[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	var key K
	key, i.err = i.s.keys.Deserialize(i.s.topic, i.it.Key())
	if i.err == nil {
		start := i.it.Start()
		i.key = windowed(key, start, addMillisSaturated(start, i.s.sizeMs))
		i.value, i.err = i.s.values.Deserialize(i.s.topic, i.it.Value())
	}
	return i.err == nil
}

func (i *windowIterator[K, V]) Key() Windowed[K] { return i.key }

func (i *windowIterator[K, V]) Value() V { return i.value }

func (i *windowIterator[K, V]) Err() error {
	if i.err != nil {
		return i.err
	}
	return i.it.Err()
}

func (i *windowIterator[K, V]) Close() error { return i.it.Close() }

// sessionStore types a store.Session, made at first use as windowStore's
// Window is.
type sessionStore[K, V any] struct {
	def    *storeDef
	raw    store.KeyValue
	log    store.Logger
	opts   store.SessionOptions
	keys   Serde[K]
	values Serde[V]
	topic  string
	s      *store.Session
}

func (s *sessionStore[K, V]) Name() string { return s.def.name }

func (s *sessionStore[K, V]) Persistent() bool { return s.def.persistent }

func (s *sessionStore[K, V]) session() (*store.Session, error) {
	if s.s == nil {
		ss, err := store.NewSession(s.raw, s.log, s.opts)
		if err != nil {
			return nil, err
		}
		s.s = ss
	}
	return s.s, nil
}

func (s *sessionStore[K, V]) Put(session Windowed[K], value V) error {
	raw, err := s.keys.Serialize(s.topic, session.Key)
	if err != nil {
		return err
	}
	v, err := s.values.Serialize(s.topic, value)
	if err != nil {
		return err
	}
	return s.putRaw(raw, toMillis(session.Start), toMillis(session.End), v)
}

func (s *sessionStore[K, V]) Remove(session Windowed[K]) error {
	raw, err := s.keys.Serialize(s.topic, session.Key)
	if err != nil {
		return err
	}
	return s.putRaw(raw, toMillis(session.Start), toMillis(session.End), nil)
}

// putRaw writes serialized bytes, ignoring a session already expired.
func (s *sessionStore[K, V]) putRaw(key []byte, start, end int64, value []byte) error {
	ss, err := s.session()
	if err != nil {
		return err
	}
	if err := ss.Put(key, start, end, value); err != nil && !errors.Is(err, store.ErrExpired) {
		return err
	}
	return nil
}

func (s *sessionStore[K, V]) FetchSession(key K, start, end time.Time) (V, bool, error) {
	var zero V
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return zero, false, err
	}
	return s.fetchSessionRaw(raw, toMillis(start), toMillis(end))
}

func (s *sessionStore[K, V]) fetchSessionRaw(key []byte, start, end int64) (V, bool, error) {
	var zero V
	ss, err := s.session()
	if err != nil {
		return zero, false, err
	}
	data, err := ss.FetchSession(key, start, end)
	if err != nil || data == nil {
		return zero, false, err
	}
	v, err := s.values.Deserialize(s.topic, data)
	return v, err == nil, err
}

func (s *sessionStore[K, V]) FindSessions(key K, earliestEnd, latestStart time.Time) (KeyValueIterator[Windowed[K], V], error) {
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return nil, err
	}
	ss, err := s.session()
	if err != nil {
		return nil, err
	}
	it, err := ss.FindSessions(raw, toMillis(earliestEnd), toMillis(latestStart))
	if err != nil {
		return nil, err
	}
	return &sessionIterator[K, V]{it: it, s: s}, nil
}

func (s *sessionStore[K, V]) Fetch(key K) (KeyValueIterator[Windowed[K], V], error) {
	raw, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return nil, err
	}
	ss, err := s.session()
	if err != nil {
		return nil, err
	}
	it, err := ss.FetchKey(raw)
	if err != nil {
		return nil, err
	}
	return &sessionIterator[K, V]{it: it, s: s}, nil
}

type sessionIterator[K, V any] struct {
	it    *store.SessionIterator
	s     *sessionStore[K, V]
	key   Windowed[K]
	value V
	err   error
}

func (i *sessionIterator[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	var key K
	key, i.err = i.s.keys.Deserialize(i.s.topic, i.it.Key())
	if i.err == nil {
		i.key = windowed(key, i.it.Start(), i.it.End())
		i.value, i.err = i.s.values.Deserialize(i.s.topic, i.it.Value())
	}
	return i.err == nil
}

func (i *sessionIterator[K, V]) Key() Windowed[K] { return i.key }

func (i *sessionIterator[K, V]) Value() V { return i.value }

func (i *sessionIterator[K, V]) Err() error {
	if i.err != nil {
		return i.err
	}
	return i.it.Err()
}

func (i *sessionIterator[K, V]) Close() error { return i.it.Close() }
