package streams

import (
	"fmt"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// Table is a changelog stream seen as the latest value per key (Kafka's
// KTable). Its records are changes: each carries the key's new value and the
// one it replaces.
type Table[K, V any] struct {
	b    *Builder
	n    *node // forwards Record[K, change[V]]
	keys Serde[K]
	vals Serde[V]
	// store is the name of the store that holds the table, when it is
	// materialized; queries and joins read it.
	store string
	// getter reads the table's current value of a key inside a task, for
	// joins; stores lists what the reading node must be connected to.
	getter       func(t *task) (valueGetter[K, V], error)
	getterStores []string
}

// valueGetter reads a table's current value of a key.
type valueGetter[K, V any] func(key K) (ValueAndTimestamp[V], bool, error)

// StoreName is the name of the store holding the table, or "" when it is
// computed from its parent's store.
func (t Table[K, V]) StoreName() string { return t.store }

// newTableStore describes the timestamped key-value store under a DSL table.
func newTableStore[K, V any](name string, keys Serde[K], values Serde[V], opts []StoreOption) *storeDef {
	d := newStoreDef(name, storeKeyValue, opts)
	inner := timestampedSerde[V]{values: values}
	d.newTyped = func(t *task, kv store.KeyValue) StateStore {
		return &kvStore[K, ValueAndTimestamp[V]]{def: d, kv: kv, keys: keys, values: inner, topic: t.env.resolve(d.changelogSuffix(), true)}
	}
	return d
}

// tableStoreOf returns a task's instance of a DSL table store.
func tableStoreOf[K, V any](t *task, name string) (*kvStore[K, ValueAndTimestamp[V]], error) {
	s, err := t.store(name)
	if err != nil {
		return nil, err
	}
	kv, ok := s.(*kvStore[K, ValueAndTimestamp[V]])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a table store", ErrUnknownStore, name, s)
	}
	return kv, nil
}

func storeGetter[K, V any](name string) func(t *task) (valueGetter[K, V], error) {
	return func(t *task) (valueGetter[K, V], error) {
		kv, err := tableStoreOf[K, V](t, name)
		if err != nil {
			return nil, err
		}
		// The writer is looked up at each read: the task may make it
		// after the reader.
		return func(key K) (ValueAndTimestamp[V], bool, error) {
			if w, ok := t.tableWriters[name].(*tableWriter[K, V]); ok {
				return w.get(key)
			}
			return kv.Get(key)
		}, nil
	}
}

// tableWriter writes a DSL table store and forwards its changes, through the
// cache when caching is on.
type tableWriter[K, V any] struct {
	task  *task
	store *kvStore[K, ValueAndTimestamp[V]]
	cache *tableCache[K, V]
	out   forwarder[K, change[V]]
}

func newTableWriter[K, V any](t *task, storeName string, out forwarder[K, change[V]]) (*tableWriter[K, V], error) {
	kv, err := tableStoreOf[K, V](t, storeName)
	if err != nil {
		return nil, err
	}
	w := &tableWriter[K, V]{task: t, store: kv, out: out}
	if kv.def.caching && t.env.cacheBytesPerTask > 0 {
		w.cache = newTableCache[K, V](t.env.cacheBytesPerTask)
		t.flushers = append(t.flushers, w.flush)
	}
	if t.tableWriters == nil {
		t.tableWriters = make(map[string]any)
	}
	t.tableWriters[storeName] = w
	return w, nil
}

func (w *tableWriter[K, V]) get(key K) (ValueAndTimestamp[V], bool, error) {
	if w.cache != nil {
		raw, err := w.store.keys.Serialize(w.store.topic, key)
		if err != nil {
			return ValueAndTimestamp[V]{}, false, err
		}
		if e, ok := w.cache.get(raw); ok {
			return e.value, !e.deleted, nil
		}
	}
	return w.store.Get(key)
}

// write sets key's value (or deletes it) and forwards the change now, or at
// the next flush when caching is on.
func (w *tableWriter[K, V]) write(key K, value ValueAndTimestamp[V], deleted bool) error {
	if w.cache == nil {
		old, hasOld, err := w.store.Get(key)
		if err != nil {
			return err
		}
		if err := w.apply(key, value, deleted); err != nil {
			return err
		}
		w.forward(key, value, deleted, old, hasOld)
		return nil
	}
	raw, err := w.store.keys.Serialize(w.store.topic, key)
	if err != nil {
		return err
	}
	var old ValueAndTimestamp[V]
	hasOld := false
	if _, cached := w.cache.get(raw); !cached {
		if old, hasOld, err = w.store.Get(key); err != nil {
			return err
		}
	}
	w.cache.put(raw, key, value, deleted, old, hasOld)
	if w.cache.full() {
		w.flush()
	}
	return nil
}

func (w *tableWriter[K, V]) apply(key K, value ValueAndTimestamp[V], deleted bool) error {
	if deleted {
		return w.store.Delete(key)
	}
	return w.store.Put(key, value)
}

func (w *tableWriter[K, V]) forward(key K, value ValueAndTimestamp[V], deleted bool, old ValueAndTimestamp[V], hasOld bool) {
	if deleted && !hasOld {
		return
	}
	ts := value.Timestamp
	c := change[V]{newValue: value.Value, hasNew: !deleted, oldValue: old.Value, hasOld: hasOld}
	saved := w.task.currentTime
	w.task.currentTime = ts
	w.out.forward(Record[K, change[V]]{Key: key, Value: c, Timestamp: fromMillis(ts)})
	w.task.currentTime = saved
}

// flush writes and forwards what the cache holds.
func (w *tableWriter[K, V]) flush() {
	if w.cache == nil {
		return
	}
	w.cache.drain(func(_ []byte, e *cacheEntry[K, V]) {
		if w.task.err != nil {
			return
		}
		if err := w.apply(e.key, e.value, e.deleted); err != nil {
			w.task.fail(err)
			return
		}
		w.forward(e.key, e.value, e.deleted, e.old, e.hasOld)
	})
}

// TableFrom reads a topic as a table (Kafka's builder.table): a null value
// deletes its key. The table is kept in a store named by As, or a generated
// name.
func TableFrom[K, V any](b *Builder, topic string, keys Serde[K], values Serde[V], opts ...StoreOption) Table[K, V] {
	src := StreamFrom(b, keys, values, []string{topic})
	def := newTableStore(b.t.generatedName("KSTREAM-SOURCE-STATE-STORE-"), keys, values, opts)
	n := &node{name: b.t.generatedName("KTABLE-SOURCE-"), kind: kindProcessor}
	n.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[K, change[V]](n, children)
		if err != nil {
			return nil, err
		}
		w, err := newTableWriter[K, V](t, def.name, out)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, V](func(r Record[K, V]) {
			if err := w.write(r.Key, ValueAndTimestamp[V]{Value: r.Value, Timestamp: toMillis(r.Timestamp)}, r.Tombstone); err != nil {
				t.fail(fmt.Errorf("table %q: %w", def.name, err))
			}
		}), nil
	}
	b.t.addNode(n, src.n)
	b.t.AddStateStore(def, n.name)
	return Table[K, V]{b: b, n: n, keys: keys, vals: values, store: def.name, getter: storeGetter[K, V](def.name), getterStores: []string{def.name}}
}

// ToStream turns the table's changes into a stream of its new values; a
// delete becomes a tombstone record.
func (t Table[K, V]) ToStream() Stream[K, V] {
	n := addStatelessNode(t.b, "KTABLE-TOSTREAM-", func(out forwarder[K, V]) receiver[K, change[V]] {
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			out.forward(Record[K, V]{Key: r.Key, Value: r.Value.newValue, Timestamp: r.Timestamp, Headers: r.Headers, Tombstone: !r.Value.hasNew})
		})
	}, t.n)
	return Stream[K, V]{b: t.b, n: n, keys: t.keys, vals: t.vals}
}

// Filter keeps the keys whose value keep accepts; a key whose new value is
// refused is deleted from the result.
func (t Table[K, V]) Filter(keep func(key K, value V) bool) Table[K, V] {
	n := addStatelessNode(t.b, "KTABLE-FILTER-", func(out forwarder[K, change[V]]) receiver[K, change[V]] {
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			c := r.Value
			newOK := c.hasNew && keep(r.Key, c.newValue)
			oldOK := c.hasOld && keep(r.Key, c.oldValue)
			if !newOK && !oldOK {
				return
			}
			r.Value = change[V]{newValue: c.newValue, hasNew: newOK, oldValue: c.oldValue, hasOld: oldOK}
			out.forward(r)
		})
	}, t.n)
	parent := t.getter
	return Table[K, V]{b: t.b, n: n, keys: t.keys, vals: t.vals, getterStores: t.getterStores,
		getter: func(tk *task) (valueGetter[K, V], error) {
			get, err := parent(tk)
			if err != nil {
				return nil, err
			}
			return func(key K) (ValueAndTimestamp[V], bool, error) {
				v, ok, err := get(key)
				if err != nil || !ok || !keep(key, v.Value) {
					return ValueAndTimestamp[V]{}, false, err
				}
				return v, true, nil
			}, nil
		}}
}

// TableMapValues computes a new value for each key of the table.
func TableMapValues[K, V, V2 any](t Table[K, V], fn func(key K, value V) V2) Table[K, V2] {
	n := addStatelessNode(t.b, "KTABLE-MAPVALUES-", func(out forwarder[K, change[V2]]) receiver[K, change[V]] {
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			c := change[V2]{hasNew: r.Value.hasNew, hasOld: r.Value.hasOld}
			if c.hasNew {
				c.newValue = fn(r.Key, r.Value.newValue)
			}
			if c.hasOld {
				c.oldValue = fn(r.Key, r.Value.oldValue)
			}
			out.forward(Record[K, change[V2]]{Key: r.Key, Value: c, Timestamp: r.Timestamp, Headers: r.Headers})
		})
	}, t.n)
	parent := t.getter
	return Table[K, V2]{b: t.b, n: n, keys: t.keys, getterStores: t.getterStores,
		getter: func(tk *task) (valueGetter[K, V2], error) {
			get, err := parent(tk)
			if err != nil {
				return nil, err
			}
			return func(key K) (ValueAndTimestamp[V2], bool, error) {
				v, ok, err := get(key)
				if err != nil || !ok {
					return ValueAndTimestamp[V2]{}, false, err
				}
				return ValueAndTimestamp[V2]{Value: fn(key, v.Value), Timestamp: v.Timestamp}, true, nil
			}, nil
		}}
}
