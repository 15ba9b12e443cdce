package streams

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// StateStore is a store of a task: a key-value, window or session store. Get
// a typed one with KeyValueStoreOf, WindowStoreOf or SessionStoreOf.
type StateStore interface {
	Name() string
	// Persistent is true for stores kept on disk in the state directory.
	Persistent() bool
}

// StoreBuilder describes a store for Topology.AddStateStore; each task
// builds its own store from it.
type StoreBuilder interface {
	storeDef() *storeDef
}

// StoreOption changes how a store is kept: InMemory, WithLoggingDisabled,
// WithLoggingConfig, WithCachingDisabled, or As to name a store the DSL makes.
type StoreOption func(*storeDef)

// As names the store a DSL operator makes, for interactive queries and for
// a stable changelog topic name (Kafka's Materialized.as).
func As(name string) StoreOption { return func(d *storeDef) { d.name = name } }

// InMemory keeps the store in memory: it is rebuilt from its changelog when
// its task starts on an instance.
func InMemory() StoreOption { return func(d *storeDef) { d.persistent = false } }

// WithLoggingDisabled keeps no changelog: the store's contents are lost when
// its task moves or its instance loses its state directory.
func WithLoggingDisabled() StoreOption { return func(d *storeDef) { d.logged = false } }

// WithLoggingConfig sets topic configs of the store's changelog topic.
func WithLoggingConfig(configs map[string]string) StoreOption {
	return func(d *storeDef) {
		for k, v := range configs {
			d.changelogConfigs[k] = v
		}
	}
}

// WithCachingDisabled makes a DSL store forward every update at once
// instead of the latest per key at each commit.
func WithCachingDisabled() StoreOption { return func(d *storeDef) { d.caching = false } }

type storeKind int

const (
	storeKeyValue storeKind = iota
	storeWindow
	storeSession
)

// storeDef is a store of a topology: how each task opens and types it.
type storeDef struct {
	name             string
	kind             storeKind
	persistent       bool
	logged           bool
	caching          bool
	changelogConfigs map[string]string
	users            []*node
	newTyped         func(t *task, kv store.KeyValue) StateStore
	// newWindowed, when set, types a window or session store instead of
	// newTyped: such stores log their own writes to log (nil when logging
	// is off) and expire whole segments from raw unlogged, as the
	// changelog topic has its own retention.
	newWindowed func(t *task, raw store.KeyValue, log store.Logger) StateStore
	// retention is WithRetention's, for window and session stores.
	retention time.Duration
}

func (d *storeDef) storeDef() *storeDef { return d }

func newStoreDef(name string, kind storeKind, opts []StoreOption) *storeDef {
	d := &storeDef{
		name:             name,
		kind:             kind,
		persistent:       true,
		logged:           true,
		caching:          true,
		changelogConfigs: map[string]string{"cleanup.policy": "compact"},
	}
	for _, opt := range opts {
		opt(d)
	}
	return d
}

func (d *storeDef) changelogSuffix() string { return d.name + "-changelog" }

// openEngine opens the bytes under the store: an embedded LSM in the task's
// directory when the store is persistent and the task has one, memory
// otherwise.
func (d *storeDef) openEngine(taskDir string) (store.KeyValue, error) {
	if !d.persistent || taskDir == "" {
		return store.NewMemory(d.name), nil
	}
	return store.OpenPebble(d.name, filepath.Join(taskDir, "pebble", d.name), store.PebbleOptions{})
}

// KeyValueStore is a task's typed key-value store. Ranges follow the byte
// order of the serialized keys.
type KeyValueStore[K, V any] interface {
	StateStore
	// Get returns the value of key; ok is false when there is none.
	Get(key K) (value V, ok bool, err error)
	Put(key K, value V) error
	Delete(key K) error
	// Range iterates over the keys from from to to, both included.
	Range(from, to K) (KeyValueIterator[K, V], error)
	All() (KeyValueIterator[K, V], error)
	ApproximateNumEntries() int64
}

// KeyValueIterator walks a range of a store. Close it when done.
type KeyValueIterator[K, V any] interface {
	Next() bool
	Key() K
	Value() V
	Err() error
	Close() error
}

// KeyValueStoreBuilder describes a key-value store for the Processor API.
func KeyValueStoreBuilder[K, V any](name string, keySerde Serde[K], valueSerde Serde[V], opts ...StoreOption) StoreBuilder {
	d := newStoreDef(name, storeKeyValue, opts)
	d.newTyped = func(t *task, kv store.KeyValue) StateStore {
		return &kvStore[K, V]{def: d, kv: kv, keys: keySerde, values: valueSerde, topic: t.env.resolve(d.changelogSuffix(), true)}
	}
	return d
}

// KeyValueStoreOf returns the typed key-value store name of a processor.
func KeyValueStoreOf[K, V any](ctx interface {
	StateStore(name string) (StateStore, error)
}, name string) (KeyValueStore[K, V], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	kv, ok := s.(KeyValueStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a key-value store of these types", ErrUnknownStore, name, s)
	}
	return kv, nil
}

type kvStore[K, V any] struct {
	def    *storeDef
	kv     store.KeyValue
	keys   Serde[K]
	values Serde[V]
	topic  string // for the serdes: the changelog topic, as Kafka passes
}

func (s *kvStore[K, V]) Name() string { return s.def.name }

func (s *kvStore[K, V]) Persistent() bool { return s.def.persistent }

func (s *kvStore[K, V]) Get(key K) (V, bool, error) {
	var zero V
	k, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return zero, false, err
	}
	raw, err := s.kv.Get(k)
	if err != nil || raw == nil {
		return zero, false, err
	}
	v, err := s.values.Deserialize(s.topic, raw)
	return v, err == nil, err
}

func (s *kvStore[K, V]) Put(key K, value V) error {
	k, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return err
	}
	v, err := s.values.Serialize(s.topic, value)
	if err != nil {
		return err
	}
	if v == nil {
		return s.kv.Delete(k)
	}
	return s.kv.Put(k, v)
}

func (s *kvStore[K, V]) Delete(key K) error {
	k, err := s.keys.Serialize(s.topic, key)
	if err != nil {
		return err
	}
	return s.kv.Delete(k)
}

func (s *kvStore[K, V]) Range(from, to K) (KeyValueIterator[K, V], error) {
	f, err := s.keys.Serialize(s.topic, from)
	if err != nil {
		return nil, err
	}
	t, err := s.keys.Serialize(s.topic, to)
	if err != nil {
		return nil, err
	}
	// The store's ranges exclude their end; the smallest key after to is
	// to followed by a zero byte.
	it, err := s.kv.Range(f, append(t[:len(t):len(t)], 0))
	if err != nil {
		return nil, err
	}
	return &kvIterator[K, V]{it: it, s: s}, nil
}

func (s *kvStore[K, V]) All() (KeyValueIterator[K, V], error) {
	it, err := s.kv.Range(nil, nil)
	if err != nil {
		return nil, err
	}
	return &kvIterator[K, V]{it: it, s: s}, nil
}

func (s *kvStore[K, V]) ApproximateNumEntries() int64 { return s.kv.ApproximateNumEntries() }

type kvIterator[K, V any] struct {
	it    store.Iterator
	s     *kvStore[K, V]
	key   K
	value V
	err   error
}

func (i *kvIterator[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	i.key, i.err = i.s.keys.Deserialize(i.s.topic, i.it.Key())
	if i.err == nil {
		i.value, i.err = i.s.values.Deserialize(i.s.topic, i.it.Value())
	}
	return i.err == nil
}

func (i *kvIterator[K, V]) Key() K { return i.key }

func (i *kvIterator[K, V]) Value() V { return i.value }

func (i *kvIterator[K, V]) Err() error {
	if i.err != nil {
		return i.err
	}
	return i.it.Err()
}

func (i *kvIterator[K, V]) Close() error { return i.it.Close() }
