package streams

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// Interactive queries (Kafka's IQ) read the stores of a running App from
// outside its topology: QueryKeyValueStore and QueryWindowStore read the
// local tasks' stores, QueryMetadataForKey and AllMetadata tell which
// instance hosts what, and NewKeyValueQueryHandler serves both over HTTP.
//
// Concurrency: a query takes each stream thread's stateMu between the
// thread's rounds of work, reads, copies what it read, and lets go. It
// takes the write lock, not the read lock: a store is used by one goroutine
// at a time (the pebble store's Get reuses a key buffer, its iterators are
// tracked in a map), so queries of one thread take turns, as the global
// stores' lookups do. Results are materialized, so no user code runs under
// the lock, and a query stalls its thread for one read only; maxQueryEntries
// bounds that read. A thread that is rebalancing holds its lock while it
// restores its new tasks, possibly for minutes: queries see its rebalancing
// flag before they wait for the lock and return ErrStoreNotReady instead.

var (
	// ErrStoreNotReady is returned by a query that may succeed if retried:
	// the instance is rebalancing, a task is restoring or migrating, or no
	// assignment is known yet (Kafka's InvalidStateStoreException).
	ErrStoreNotReady = errors.New("streams: state store not ready, retry")
	// ErrNotHostedHere is wrapped by the NotHostedError a query returns when
	// the key's partition lives on another instance.
	ErrNotHostedHere = errors.New("streams: not hosted on this instance")
)

// maxQueryEntries bounds what one Range or All materializes per task: the
// task's thread waits for the read, and the result is held in memory.
// Narrow a larger query with Range or WithPartition.
const maxQueryEntries = 1 << 20

// NotHostedError says which instances host a key's partition of a store
// when this one does not. It wraps ErrNotHostedHere.
type NotHostedError struct {
	Store     string
	Partition int32
	// ActiveHost is the application.server of the instance running the
	// partition's task, empty when none that has one does.
	ActiveHost   string
	StandbyHosts []string
}

func (e *NotHostedError) Error() string {
	owner := e.ActiveHost
	if owner == "" {
		owner = "no instance with an application.server"
	}
	return fmt.Sprintf("streams: partition %d of store %q is not hosted on this instance; its active host is %s", e.Partition, e.Store, owner)
}

func (e *NotHostedError) Unwrap() error { return ErrNotHostedHere }

// QueryOption changes what a query reads (Kafka's StoreQueryParameters).
type QueryOption func(*queryOptions)

type queryOptions struct {
	stale        bool
	partition    int32
	hasPartition bool
}

// WithStaleStores lets a query read standby tasks' stores, which may lag
// behind the active task, and read while the instance is rebalancing
// (Kafka's enableStaleStores).
func WithStaleStores() QueryOption { return func(o *queryOptions) { o.stale = true } }

// WithPartition limits Range and All to one partition of the store
// (Kafka's StoreQueryParameters.withPartition). Point lookups always go to
// their key's partition.
func WithPartition(partition int32) QueryOption {
	return func(o *queryOptions) { o.partition, o.hasPartition = partition, true }
}

// ReadOnlyKeyValueStore reads a key-value store over the tasks this
// instance hosts (Kafka's ReadOnlyKeyValueStore). Range and All return
// their entries in the order of the serialized keys. It is safe for
// concurrent use; each call reads the stores anew.
type ReadOnlyKeyValueStore[K, V any] interface {
	// Get returns key's value from the task of the key's partition. It
	// returns a NotHostedError when this instance does not host that
	// partition, and ErrStoreNotReady while it is rebalancing.
	Get(key K) (value V, ok bool, err error)
	// Range returns the entries from from to to, both included, of every
	// local task.
	Range(from, to K) ([]KeyValue[K, V], error)
	// All returns every entry of every local task.
	All() ([]KeyValue[K, V], error)
	// ApproximateNumEntries estimates the number of entries over the local
	// tasks.
	ApproximateNumEntries() (int64, error)
}

// QueryKeyValueStore returns the key-value store name of a running App for
// interactive queries (Kafka's KafkaStreams.store with
// QueryableStoreTypes.keyValueStore). It reads a DSL table's store (values
// without their timestamps, through the table's cache, so that it sees
// updates not yet committed) and a Processor API key-value store of these
// types alike.
func QueryKeyValueStore[K, V any](a *App, name string, opts ...QueryOption) (ReadOnlyKeyValueStore[K, V], error) {
	return newKVQuery(a, name, opts, func(tk *task, s StateStore) (kvSource[K, V], bool) {
		switch s := s.(type) {
		case *kvStore[K, V]:
			return plainSource[K, V]{s: s}, true
		case *kvStore[K, ValueAndTimestamp[V]]:
			return valuesOnly[K, V]{inner: newTableSource[K, V](tk, s)}, true
		}
		return nil, false
	})
}

// QueryTimestampedKeyValueStore is QueryKeyValueStore for a DSL table's
// store with each value's timestamp (Kafka's
// QueryableStoreTypes.timestampedKeyValueStore).
func QueryTimestampedKeyValueStore[K, V any](a *App, name string, opts ...QueryOption) (ReadOnlyKeyValueStore[K, ValueAndTimestamp[V]], error) {
	return newKVQuery(a, name, opts, func(tk *task, s StateStore) (kvSource[K, ValueAndTimestamp[V]], bool) {
		if s, ok := s.(*kvStore[K, ValueAndTimestamp[V]]); ok {
			return newTableSource[K, V](tk, s), true
		}
		return nil, false
	})
}

// kvQuery is a ReadOnlyKeyValueStore over an App's local tasks.
type kvQuery[K, V any] struct {
	target *queryTarget[K]
	source func(tk *task, s StateStore) (kvSource[K, V], bool)
}

func newKVQuery[K, V any](a *App, name string, opts []QueryOption, source func(*task, StateStore) (kvSource[K, V], bool)) (*kvQuery[K, V], error) {
	target, probe, err := newQueryTarget[K](a, name, opts)
	if err != nil {
		return nil, err
	}
	if _, ok := source(&task{env: a.env}, probe); !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a key-value store of these types", ErrUnknownStore, name, probe)
	}
	return &kvQuery[K, V]{target: target, source: source}, nil
}

// on calls fn with the source of each local task of the store that the
// query reads, under its thread's lock.
func (q *kvQuery[K, V]) on(partition int32, fn func(kvSource[K, V]) error) (visited int, err error) {
	return q.target.visit(partition, func(tk *task, s StateStore) error {
		src, ok := q.source(tk, s)
		if !ok {
			return fmt.Errorf("%w: %q is a %T in task %s", ErrUnknownStore, q.target.name, s, tk.id)
		}
		return fn(src)
	})
}

func (q *kvQuery[K, V]) Get(key K) (V, bool, error) {
	var value V
	found := false
	p, err := q.target.partitionOf(key)
	if err != nil {
		return value, false, err
	}
	visited, err := q.on(p, func(src kvSource[K, V]) error {
		var err error
		value, found, err = src.get(key)
		return err
	})
	if err == nil && visited == 0 {
		err = q.target.notHosted(p)
	}
	return value, found && err == nil, err
}

func (q *kvQuery[K, V]) Range(from, to K) ([]KeyValue[K, V], error) {
	return q.scan(&from, &to)
}

func (q *kvQuery[K, V]) All() ([]KeyValue[K, V], error) { return q.scan(nil, nil) }

func (q *kvQuery[K, V]) scan(from, to *K) ([]KeyValue[K, V], error) {
	var entries []kvEntry[K, V]
	visited, err := q.on(q.target.scanPartition(), func(src kvSource[K, V]) error {
		got, err := src.scan(from, to)
		entries = append(entries, got...)
		return err
	})
	if err == nil && visited == 0 && q.target.opts.hasPartition {
		err = q.target.notHosted(q.target.opts.partition)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(x, y kvEntry[K, V]) int { return bytes.Compare(x.raw, y.raw) })
	out := make([]KeyValue[K, V], len(entries))
	for i, e := range entries {
		out[i] = e.kv
	}
	return out, nil
}

func (q *kvQuery[K, V]) ApproximateNumEntries() (int64, error) {
	var n int64
	_, err := q.on(q.target.scanPartition(), func(src kvSource[K, V]) error {
		n += src.count()
		return nil
	})
	return n, err
}

// kvSource reads one task's instance of a key-value store.
type kvSource[K, V any] interface {
	get(key K) (V, bool, error)
	// scan returns the entries from from to to, both included; nil bounds
	// are open.
	scan(from, to *K) ([]kvEntry[K, V], error)
	count() int64
}

// kvEntry is an entry read, with its serialized key for ordering.
type kvEntry[K, V any] struct {
	raw []byte
	kv  KeyValue[K, V]
}

// plainSource reads a Processor API store.
type plainSource[K, V any] struct{ s *kvStore[K, V] }

func (p plainSource[K, V]) get(key K) (V, bool, error) { return p.s.Get(key) }

func (p plainSource[K, V]) scan(from, to *K) ([]kvEntry[K, V], error) {
	return scanStore(p.s, from, to)
}

func (p plainSource[K, V]) count() int64 { return p.s.ApproximateNumEntries() }

// rawBounds serializes a scan's bounds into the store's half-open range:
// the smallest key after to is to followed by a zero byte.
func rawBounds[K any](keys Serde[K], topic string, from, to *K) (lo, hi []byte, err error) {
	if from != nil {
		if lo, err = keys.Serialize(topic, *from); err != nil {
			return nil, nil, err
		}
		if lo == nil {
			lo = []byte{}
		}
	}
	if to != nil {
		t, err := keys.Serialize(topic, *to)
		if err != nil {
			return nil, nil, err
		}
		hi = append(t[:len(t):len(t)], 0)
	}
	return lo, hi, nil
}

// scanStore reads a range of a typed store, keeping the serialized keys.
func scanStore[K, V any](s *kvStore[K, V], from, to *K) ([]kvEntry[K, V], error) {
	lo, hi, err := rawBounds(s.keys, s.topic, from, to)
	if err != nil {
		return nil, err
	}
	it, err := s.kv.Range(lo, hi)
	if err != nil {
		return nil, err
	}
	var out []kvEntry[K, V]
	for it.Next() {
		if len(out) == maxQueryEntries {
			return nil, errors.Join(errTooManyEntries, it.Close())
		}
		e := kvEntry[K, V]{raw: bytes.Clone(it.Key())}
		if e.kv.Key, err = s.keys.Deserialize(s.topic, it.Key()); err == nil {
			e.kv.Value, err = s.values.Deserialize(s.topic, it.Value())
		}
		if err != nil {
			return nil, errors.Join(err, it.Close())
		}
		out = append(out, e)
	}
	return out, errors.Join(it.Err(), it.Close())
}

var errTooManyEntries = fmt.Errorf("streams: a query matched more than %d entries in one task; narrow it with Range or WithPartition", maxQueryEntries)

// tableSource reads a DSL table's store through its writer's cache, as
// Kafka's queries read through the caching store: the cache holds the
// updates since the last commit.
type tableSource[K, V any] struct {
	s *kvStore[K, ValueAndTimestamp[V]]
	w *tableWriter[K, V] // nil for a standby, or before the task made it
}

func newTableSource[K, V any](tk *task, s *kvStore[K, ValueAndTimestamp[V]]) tableSource[K, V] {
	w, _ := tk.tableWriters[s.def.name].(*tableWriter[K, V])
	return tableSource[K, V]{s: s, w: w}
}

func (t tableSource[K, V]) get(key K) (ValueAndTimestamp[V], bool, error) {
	if t.w == nil {
		return t.s.Get(key)
	}
	v, ok, err := t.w.get(key)
	if !ok || err != nil {
		// A key deleted in the cache keeps the delete's timestamp there.
		return ValueAndTimestamp[V]{}, false, err
	}
	return v, true, nil
}

func (t tableSource[K, V]) scan(from, to *K) ([]kvEntry[K, ValueAndTimestamp[V]], error) {
	stored, err := scanStore(t.s, from, to)
	if err != nil || t.w == nil || t.w.cache == nil || len(t.w.cache.entries) == 0 {
		return stored, err
	}
	lo, hi, err := rawBounds(t.s.keys, t.s.topic, from, to)
	if err != nil {
		return nil, err
	}
	out := stored[:0]
	for _, e := range stored {
		if _, cached := t.w.cache.entries[string(e.raw)]; !cached {
			out = append(out, e)
		}
	}
	for raw, c := range t.w.cache.entries {
		if c.deleted || lo != nil && raw < string(lo) || hi != nil && raw >= string(hi) {
			continue
		}
		out = append(out, kvEntry[K, ValueAndTimestamp[V]]{raw: []byte(raw), kv: KeyValue[K, ValueAndTimestamp[V]]{Key: c.key, Value: c.value}})
	}
	if len(out) > maxQueryEntries {
		return nil, errTooManyEntries
	}
	return out, nil
}

func (t tableSource[K, V]) count() int64 { return t.s.ApproximateNumEntries() }

// valuesOnly drops a timestamped source's timestamps.
type valuesOnly[K, V any] struct {
	inner kvSource[K, ValueAndTimestamp[V]]
}

func (v valuesOnly[K, V]) get(key K) (V, bool, error) {
	vt, ok, err := v.inner.get(key)
	return vt.Value, ok, err
}

func (v valuesOnly[K, V]) scan(from, to *K) ([]kvEntry[K, V], error) {
	in, err := v.inner.scan(from, to)
	if err != nil {
		return nil, err
	}
	out := make([]kvEntry[K, V], len(in))
	for i, e := range in {
		out[i] = kvEntry[K, V]{raw: e.raw, kv: KeyValue[K, V]{Key: e.kv.Key, Value: e.kv.Value.Value}}
	}
	return out, nil
}

func (v valuesOnly[K, V]) count() int64 { return v.inner.count() }

// queryTarget is a store of an App as a query sees it: the sub-topology
// whose tasks hold it and how keys map to its partitions.
type queryTarget[K any] struct {
	app  *App
	name string
	sub  *subtopology
	opts queryOptions
	// keys and topic serialize keys as the store's sub-topology's input
	// was partitioned: with the store's key serde, for its first source
	// topic (Kafka uses the one with the most partitions; they are
	// co-partitioned).
	keys  Serde[K]
	topic string
}

// newQueryTarget checks that the App runs a topology with store name, and
// returns the target with a typed instance of the store made for nothing
// but its type and key serde.
func newQueryTarget[K any](a *App, name string, opts []QueryOption) (*queryTarget[K], StateStore, error) {
	def, ok := a.topology.stores[name]
	var sub *subtopology
	for _, s := range a.subs {
		if slices.Contains(s.stores, name) {
			sub = s
		}
	}
	if !ok || sub == nil {
		return nil, nil, fmt.Errorf("%w: %q is not a store of the topology's tasks", ErrUnknownStore, name)
	}
	probe := probeStore(a.env, def)
	typed, ok := probe.(interface{ keySerde() Serde[K] })
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q is a %T, whose keys are not of this type", ErrUnknownStore, name, probe)
	}
	t := &queryTarget[K]{app: a, name: name, sub: sub, keys: typed.keySerde(), topic: a.firstSourceTopic(sub)}
	for _, opt := range opts {
		opt(&t.opts)
	}
	if t.opts.hasPartition && t.opts.partition < 0 {
		return nil, nil, fmt.Errorf("streams: query of store %q: negative partition %d", name, t.opts.partition)
	}
	return t, probe, nil
}

// firstSourceTopic is the resolved name of a sub-topology's first input
// topic, which the assignment lists its partitions under.
func (a *App) firstSourceTopic(s *subtopology) string {
	for _, src := range s.sources {
		if len(src.topics) > 0 {
			return a.env.resolve(src.topics[0], src.internal)
		}
	}
	return ""
}

// probeStore makes a typed instance of a store over an empty memory
// engine, to learn its type and serdes: the stores' constructors only
// resolve topic names with the task they are given.
func probeStore(env *taskEnv, def *storeDef) StateStore {
	tk := &task{env: env}
	switch {
	case def.newWindowed != nil:
		return def.newWindowed(tk, store.NewMemory(def.name), nil)
	case def.newTyped != nil:
		return def.newTyped(tk, store.NewMemory(def.name))
	}
	return nil
}

func (s *kvStore[K, V]) keySerde() Serde[K] { return s.keys }

func (s *windowStore[K, V]) keySerde() Serde[K] { return s.keys }

// partitionOf is the partition of key: murmur2 of its serialized bytes,
// as Kafka's default partitioner and the App's repartition writes place it.
func (t *queryTarget[K]) partitionOf(key K) (int32, error) {
	raw, err := t.keys.Serialize(t.topic, key)
	if err != nil {
		return 0, err
	}
	if raw == nil {
		return 0, fmt.Errorf("streams: query of store %q: a key that serializes to null has no partition", t.name)
	}
	n, err := t.app.taskCount(t.sub)
	if err != nil {
		return 0, err
	}
	return partitionForKey(raw, n), nil
}

// keyPartitioner is Kafka's default partitioning of keyed records. Given
// non-nil keys only, it keeps no state and is safe for concurrent use.
var keyPartitioner = kgo.StickyKeyPartitioner(nil).ForTopic("")

// partitionForKey is Kafka's toPositive(murmur2(key)) % partitions.
func partitionForKey(key []byte, partitions int32) int32 {
	return int32(keyPartitioner.Partition(&kgo.Record{Key: key}, int(partitions)))
}

// scanPartition is the one partition a scan reads, or -1 for all.
func (t *queryTarget[K]) scanPartition() int32 {
	if t.opts.hasPartition {
		return t.opts.partition
	}
	return -1
}

// visit calls fn with each local task of the store's sub-topology (of
// partition, unless it is -1), active ones and, with stale stores,
// standbys, each under its thread's lock. It fails with ErrStoreNotReady
// while a thread is rebalancing, unless stale stores are allowed and the
// thread is between rounds.
func (t *queryTarget[K]) visit(partition int32, fn func(tk *task, s StateStore) error) (int, error) {
	threads, err := t.app.queryThreads(t.opts.stale)
	if err != nil {
		return 0, err
	}
	visited := 0
	for _, th := range threads {
		n, err := th.visitStore(t.name, t.opts.stale, partition, fn)
		visited += n
		if err != nil {
			return visited, err
		}
	}
	return visited, nil
}

// notHosted is the error of a lookup of a partition that no local task
// holds: ErrStoreNotReady if the assignment gives it to this instance (the
// task is on its way), a NotHostedError naming its hosts otherwise.
func (t *queryTarget[K]) notHosted(partition int32) error {
	md, err := t.app.partitionMetadata(t.sub, partition)
	if err != nil {
		return err
	}
	self := t.app.cfg.ApplicationServer
	if self != "" && (md.ActiveHost == self || t.opts.stale && slices.Contains(md.StandbyHosts, self)) {
		return fmt.Errorf("%w: partition %d of store %q is assigned here but its task is not open yet", ErrStoreNotReady, partition, t.name)
	}
	return &NotHostedError{Store: t.name, Partition: partition, ActiveHost: md.ActiveHost, StandbyHosts: md.StandbyHosts}
}

// queryThreads returns the stream threads in index order, or why the App
// cannot be queried now.
func (a *App) queryThreads(stale bool) ([]*streamThread, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.mu.state {
	case Running:
	case Rebalancing:
		if !stale {
			return nil, fmt.Errorf("%w: the application is rebalancing", ErrStoreNotReady)
		}
	case Created:
		return nil, errNotStarted
	case PendingShutdown, NotRunning:
		return nil, fmt.Errorf("%w: the application is %s", ErrClosed, a.mu.state)
	default:
		return nil, fmt.Errorf("streams: the application is in state %s and cannot be queried", a.mu.state)
	}
	threads := make([]*streamThread, 0, len(a.mu.threads))
	for _, th := range a.mu.threads {
		threads = append(threads, th)
	}
	slices.SortFunc(threads, func(x, y *streamThread) int { return x.index - y.index })
	return threads, nil
}

// taskCount is the number of tasks, so of partitions, of a sub-topology.
func (a *App) taskCount(s *subtopology) (int32, error) {
	a.mu.Lock()
	state := a.mu.state
	a.mu.Unlock()
	if state == Created {
		return 0, errNotStarted
	}
	n := a.tasksPerSub[s.id]
	if n <= 0 {
		return 0, fmt.Errorf("%w: sub-topology %d has no tasks yet", ErrStoreNotReady, s.id)
	}
	return n, nil
}

// visitStore calls fn with the thread's tasks that hold store name, under
// stateMu; see queryTarget.visit.
func (th *streamThread) visitStore(name string, stale bool, partition int32, fn func(tk *task, s StateStore) error) (int, error) {
	if th.isRebalancing() {
		if !stale {
			return 0, th.notReady()
		}
		// A rebalancing thread may hold its lock for a whole restoration:
		// a stale query reads it only if it is between rounds.
		if !th.stateMu.TryLock() {
			return 0, th.notReady()
		}
	} else {
		th.stateMu.Lock()
	}
	defer th.stateMu.Unlock()
	if !stale && th.isRebalancing() {
		return 0, th.notReady()
	}
	tasks := sortedTasks(th.tasks)
	if stale {
		tasks = append(tasks, sortedTasks(th.standbys)...)
	}
	visited := 0
	for _, tk := range tasks {
		ts, ok := tk.stores[name]
		if !ok || partition >= 0 && tk.id.Partition != partition {
			continue
		}
		visited++
		if err := fn(tk, ts.typed); err != nil {
			return visited, err
		}
	}
	return visited, nil
}

func (th *streamThread) notReady() error {
	return fmt.Errorf("%w: %s is rebalancing", ErrStoreNotReady, th.name())
}

func sortedTasks(m map[TaskID]*task) []*task {
	out := make([]*task, 0, len(m))
	for _, tk := range m {
		out = append(out, tk)
	}
	slices.SortFunc(out, func(x, y *task) int {
		if c := x.id.Subtopology - y.id.Subtopology; c != 0 {
			return c
		}
		return int(x.id.Partition - y.id.Partition)
	})
	return out
}

// isRebalancing says whether the thread has a rebalance to apply or is
// applying one.
func (th *streamThread) isRebalancing() bool {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.mu.rebalancing
}

// settled marks the thread's assignment applied, unless another rebalance
// is already queued. applyEvents calls it under stateMu.
func (th *streamThread) settled() {
	th.mu.Lock()
	defer th.mu.Unlock()
	if len(th.mu.events) == 0 {
		th.mu.rebalancing = false
	}
}
