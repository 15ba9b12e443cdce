package streams

import (
	"errors"
	"fmt"
	"time"
)

// ReadOnlyWindowStore reads a window store over the tasks this instance
// hosts (Kafka's ReadOnlyWindowStore). Its methods are named as
// WindowStore's. It reads the stores, not the DSL's caches: a windowed
// aggregation's updates since the last commit are not seen yet.
type ReadOnlyWindowStore[K, V any] interface {
	// Fetch returns key's window starting at windowStart, from the task of
	// the key's partition (see ReadOnlyKeyValueStore.Get for the errors).
	Fetch(key K, windowStart time.Time) (value V, ok bool, err error)
	// FetchRange returns key's windows starting in [from, to], by start.
	FetchRange(key K, from, to time.Time) ([]KeyValue[Windowed[K], V], error)
	// FetchAll returns the windows of every key starting in [from, to],
	// task by task.
	FetchAll(from, to time.Time) ([]KeyValue[Windowed[K], V], error)
	// All returns every window kept, task by task.
	All() ([]KeyValue[Windowed[K], V], error)
}

// QueryWindowStore returns the window store name of a running App for
// interactive queries (Kafka's QueryableStoreTypes.windowStore): a DSL
// windowed aggregation's store, values without their timestamps, or a
// Processor API window store of these types.
func QueryWindowStore[K, V any](a *App, name string, opts ...QueryOption) (ReadOnlyWindowStore[K, V], error) {
	target, probe, err := newQueryTarget[K](a, name, opts)
	if err != nil {
		return nil, err
	}
	if windowView[K, V](probe) == nil {
		return nil, fmt.Errorf("%w: %q is a %T, not a window store of these types", ErrUnknownStore, name, probe)
	}
	return &windowQuery[K, V]{target: target}, nil
}

// windowView types a task's window store as a WindowStore[K, V], dropping
// a DSL store's timestamps; nil if it is not one.
func windowView[K, V any](s StateStore) WindowStore[K, V] {
	switch s := s.(type) {
	case *windowStore[K, V]:
		return s
	case *windowStore[K, ValueAndTimestamp[V]]:
		return untimedWindows[K, V]{s}
	}
	return nil
}

type windowQuery[K, V any] struct{ target *queryTarget[K] }

func (q *windowQuery[K, V]) on(partition int32, fn func(WindowStore[K, V]) error) (int, error) {
	return q.target.visit(partition, func(tk *task, s StateStore) error {
		ws := windowView[K, V](s)
		if ws == nil {
			return fmt.Errorf("%w: %q is a %T in task %s", ErrUnknownStore, q.target.name, s, tk.id)
		}
		return fn(ws)
	})
}

func (q *windowQuery[K, V]) Fetch(key K, windowStart time.Time) (V, bool, error) {
	var value V
	found := false
	p, err := q.target.partitionOf(key)
	if err != nil {
		return value, false, err
	}
	visited, err := q.on(p, func(ws WindowStore[K, V]) error {
		var err error
		value, found, err = ws.Fetch(key, windowStart)
		return err
	})
	if err == nil && visited == 0 {
		err = q.target.notHosted(p)
	}
	return value, found && err == nil, err
}

func (q *windowQuery[K, V]) FetchRange(key K, from, to time.Time) ([]KeyValue[Windowed[K], V], error) {
	p, err := q.target.partitionOf(key)
	if err != nil {
		return nil, err
	}
	var out []KeyValue[Windowed[K], V]
	visited, err := q.on(p, func(ws WindowStore[K, V]) error {
		out, err = collect(ws.FetchRange(key, from, to))
		return err
	})
	if err == nil && visited == 0 {
		err = q.target.notHosted(p)
	}
	return out, err
}

func (q *windowQuery[K, V]) FetchAll(from, to time.Time) ([]KeyValue[Windowed[K], V], error) {
	return q.scan(func(ws WindowStore[K, V]) (KeyValueIterator[Windowed[K], V], error) { return ws.FetchAll(from, to) })
}

func (q *windowQuery[K, V]) All() ([]KeyValue[Windowed[K], V], error) {
	return q.scan(WindowStore[K, V].All)
}

func (q *windowQuery[K, V]) scan(open func(WindowStore[K, V]) (KeyValueIterator[Windowed[K], V], error)) ([]KeyValue[Windowed[K], V], error) {
	var out []KeyValue[Windowed[K], V]
	visited, err := q.on(q.target.scanPartition(), func(ws WindowStore[K, V]) error {
		got, err := collect(open(ws))
		out = append(out, got...)
		return err
	})
	if err == nil && visited == 0 && q.target.opts.hasPartition {
		err = q.target.notHosted(q.target.opts.partition)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// collect materializes an iterator, closing it.
func collect[K, V any](it KeyValueIterator[K, V], err error) ([]KeyValue[K, V], error) {
	if err != nil {
		return nil, err
	}
	var out []KeyValue[K, V]
	for it.Next() {
		if len(out) == maxQueryEntries {
			return nil, errors.Join(errTooManyEntries, it.Close())
		}
		out = append(out, KeyValue[K, V]{Key: it.Key(), Value: it.Value()})
	}
	return out, errors.Join(it.Err(), it.Close())
}

// untimedWindows is a DSL window store seen without its timestamps, for
// reading only.
type untimedWindows[K, V any] struct {
	*windowStore[K, ValueAndTimestamp[V]]
}

func (u untimedWindows[K, V]) Put(K, V, time.Time) error {
	return fmt.Errorf("streams: store %q is read-only here", u.def.name)
}

func (u untimedWindows[K, V]) Fetch(key K, windowStart time.Time) (V, bool, error) {
	vt, ok, err := u.windowStore.Fetch(key, windowStart)
	return vt.Value, ok, err
}

func (u untimedWindows[K, V]) FetchRange(key K, from, to time.Time) (KeyValueIterator[Windowed[K], V], error) {
	return untimed(u.windowStore.FetchRange(key, from, to))
}

func (u untimedWindows[K, V]) FetchAll(from, to time.Time) (KeyValueIterator[Windowed[K], V], error) {
	return untimed(u.windowStore.FetchAll(from, to))
}

func (u untimedWindows[K, V]) All() (KeyValueIterator[Windowed[K], V], error) {
	return untimed(u.windowStore.All())
}

func untimed[K, V any](it KeyValueIterator[K, ValueAndTimestamp[V]], err error) (KeyValueIterator[K, V], error) {
	if err != nil {
		return nil, err
	}
	return untimedIterator[K, V]{it}, nil
}

type untimedIterator[K, V any] struct {
	KeyValueIterator[K, ValueAndTimestamp[V]]
}

func (i untimedIterator[K, V]) Value() V { return i.KeyValueIterator.Value().Value }
