package streams

import (
	"errors"
	"fmt"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// task runs one sub-topology for one input partition: its own instances of
// the sub-topology's processors and stores, its stream time and punctuators.
// A task is driven by one goroutine at a time (a stream thread or the test
// driver); nothing in it is locked.
type task struct {
	id      TaskID
	sub     *subtopology
	env     *taskEnv
	sources map[string]rawReceiver // by resolved topic name
	stores  map[string]*taskStore
	closers []func() error
	// flushers forward what caches hold; they run before every commit.
	flushers []func()
	// tableWriters are the DSL tables' writers by store name, so that value
	// getters (joins) read what their caches hold, as Kafka's read through
	// its caching store.
	tableWriters map[string]any

	current         RecordMetadata
	hasCurrent      bool
	currentTime     int64 // timestamp of the record being processed, for changelog writes
	streamTime      int64 // -1 until the first record
	punctuators     []*punctuator
	commitRequested bool
	err             error
}

// taskEnv is what every task of one application or test driver shares.
type taskEnv struct {
	applicationID string
	topology      *Topology
	collector     recordCollector
	wallClock     func() time.Time
	// stateDir returns the directory for a task's persistent stores; empty
	// means keep them in memory (the test driver).
	stateDir func(id TaskID) (string, error)
	// skipBadRecords logs and skips a record that cannot be deserialized
	// (Kafka's LogAndContinueExceptionHandler) instead of failing the task.
	skipBadRecords bool
	logf           func(format string, args ...any)
	// cacheBytesPerTask bounds each task's DSL caches; 0 turns caching off.
	cacheBytesPerTask int64
	// globals holds the global tables' stores, which every task reads;
	// nil when the topology has none.
	globals *globalState
	// counters are the record counts of Metrics.
	counters *recordCounters
}

// resolve turns a logical topic name into the topic on the cluster: internal
// topics are prefixed with the application id.
func (e *taskEnv) resolve(topic string, internal bool) string {
	if internal {
		return e.applicationID + "-" + topic
	}
	return topic
}

// recordCollector takes the records a task writes: sink outputs, repartition
// records and changelog writes. partition -1 leaves the choice to the
// default partitioner (murmur2 of the key, as Kafka's).
type recordCollector interface {
	send(topic string, partition int32, key, value []byte, headers []Header, timestampMs int64)
}

// inputRecord is a record read from a source topic.
type inputRecord struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []Header
	timestamp int64
}

// taskStore is one state store of a task.
type taskStore struct {
	def            *storeDef
	raw            store.KeyValue // restoration writes here, unlogged
	changelogTopic string         // resolved; empty when logging is off
	typed          StateStore
}

// newTask makes an active task. engines are store engines already open
// for it (a standby's, being promoted), by store name; the others open.
func newTask(env *taskEnv, sub *subtopology, partition int32, engines map[string]store.KeyValue) (*task, error) {
	t, err := openStandby(env, sub, partition, engines)
	if err != nil {
		return nil, err
	}
	if err := t.instantiate(); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// openStandby opens a task's stores without its processors: a standby,
// which only follows the changelogs, or the first step of an active task.
func openStandby(env *taskEnv, sub *subtopology, partition int32, engines map[string]store.KeyValue) (*task, error) {
	t := &task{
		id:         TaskID{Subtopology: sub.id, Partition: partition},
		sub:        sub,
		env:        env,
		sources:    make(map[string]rawReceiver),
		stores:     make(map[string]*taskStore),
		streamTime: -1,
	}
	if err := t.openStores(engines); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *task) openStores(engines map[string]store.KeyValue) error {
	for _, name := range t.sub.stores {
		def := t.env.topology.stores[name]
		raw, err := t.openEngine(def, engines)
		if err != nil {
			return fmt.Errorf("streams: task %s: open store %q: %w", t.id, name, err)
		}
		ts := &taskStore{def: def, raw: raw}
		kv := raw
		var log store.Logger
		if def.logged {
			ts.changelogTopic = t.env.resolve(def.changelogSuffix(), true)
			log = &changelogLogger{task: t, topic: ts.changelogTopic}
			kv = store.Logged(raw, log)
		}
		if def.newWindowed != nil {
			ts.typed = def.newWindowed(t, raw, log)
		} else {
			ts.typed = def.newTyped(t, kv)
		}
		t.stores[name] = ts
	}
	return nil
}

// instantiate makes the sub-topology's node instances, children first.
func (t *task) instantiate() error {
	made := make(map[*node]any, len(t.sub.nodes))
	var build func(n *node) (any, error)
	build = func(n *node) (any, error) {
		if inst, ok := made[n]; ok {
			return inst, nil
		}
		children := make([]any, len(n.children))
		for i, c := range n.children {
			inst, err := build(c)
			if err != nil {
				return nil, err
			}
			children[i] = inst
		}
		inst, err := n.instantiate(t, children)
		if err != nil {
			return nil, err
		}
		made[n] = inst
		return inst, nil
	}
	for _, src := range t.sub.sources {
		inst, err := build(src)
		if err != nil {
			return err
		}
		for _, topic := range src.topics {
			t.sources[t.env.resolve(topic, src.internal)] = inst.(rawReceiver)
		}
	}
	return nil
}

func (t *task) openEngine(def *storeDef, engines map[string]store.KeyValue) (store.KeyValue, error) {
	if raw, ok := engines[def.name]; ok {
		return raw, nil
	}
	dir := ""
	if def.persistent && t.env.stateDir != nil {
		base, err := t.env.stateDir(t.id)
		if err != nil {
			return nil, err
		}
		dir = base
	}
	return def.openEngine(dir)
}

// engines hands the task's store engines over (to the active task a
// standby becomes) and forgets them, so that close leaves them open.
func (t *task) engines() map[string]store.KeyValue {
	out := make(map[string]store.KeyValue, len(t.stores))
	for name, ts := range t.stores {
		out[name] = ts.raw
	}
	t.stores = nil
	return out
}

func (t *task) store(name string) (StateStore, error) {
	ts, ok := t.stores[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q in task %s", ErrUnknownStore, name, t.id)
	}
	return ts.typed, nil
}

// process runs one input record through the sub-topology and then the
// stream-time punctuators it makes due. The error is the first a node hit.
func (t *task) process(in *inputRecord) error {
	src, ok := t.sources[in.topic]
	if !ok {
		return fmt.Errorf("streams: task %s has no source for topic %q", t.id, in.topic)
	}
	if in.timestamp > t.streamTime {
		t.streamTime = in.timestamp
	}
	t.current = RecordMetadata{Topic: in.topic, Partition: in.partition, Offset: in.offset}
	t.hasCurrent = true
	t.currentTime = in.timestamp
	src.receiveRaw(in)
	t.hasCurrent = false
	t.env.counters.processed.Add(1)
	if t.err == nil {
		t.punctuate(StreamTime, t.streamTime)
	}
	return t.err
}

func (t *task) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

func (t *task) deserializationError(n *node, in *inputRecord, err error) {
	if t.env.skipBadRecords {
		t.env.counters.skippedBad.Add(1)
		if t.env.logf != nil {
			t.env.logf("streams: task %s skips %s-%d@%d: %v", t.id, in.topic, in.partition, in.offset, err)
		}
		return
	}
	t.fail(fmt.Errorf("source %q: record %s-%d@%d: %w", n.name, in.topic, in.partition, in.offset, err))
}

// flush forwards what caches hold, so that the stores and the collector have
// everything the next commit covers. Caches flush upstream first, so that
// what one forwards into a cache downstream goes out in the same flush:
// nodes are made children first, so that is the reverse of the order in
// which they registered.
func (t *task) flush() error {
	for i := len(t.flushers) - 1; i >= 0; i-- {
		t.flushers[i]()
	}
	return t.err
}

// commitStores makes the stores' writes durable with the changelog offset
// they reach; next gives the offset after the last write acknowledged on a
// changelog partition, or false when the task wrote none.
func (t *task) commitStores(next func(topic string, partition int32) (int64, bool)) error {
	var errs []error
	for _, ts := range t.stores {
		cp, err := ts.raw.Checkpoint()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ts.changelogTopic != "" {
			if offset, ok := next(ts.changelogTopic, t.id.Partition); ok {
				cp.Offset = offset
			}
		}
		if err := ts.raw.Commit(cp); err != nil {
			errs = append(errs, fmt.Errorf("streams: task %s: commit store %q: %w", t.id, ts.def.name, err))
		}
	}
	return errors.Join(errs...)
}

// abortStores drops the stores' writes since the last commit.
func (t *task) abortStores() error {
	var errs []error
	for _, ts := range t.stores {
		errs = append(errs, ts.raw.Abort())
	}
	return errors.Join(errs...)
}

func (t *task) close() error {
	var errs []error
	for i := len(t.closers) - 1; i >= 0; i-- {
		errs = append(errs, t.closers[i]())
	}
	t.closers = nil
	for _, ts := range t.stores {
		errs = append(errs, ts.raw.Close())
	}
	return errors.Join(errs...)
}

// changelogLogger writes a store's changes to its changelog partition, which
// is the task's partition.
type changelogLogger struct {
	task  *task
	topic string
}

// LogChange copies key and value: the producer holds them until they are
// acknowledged, while the store's caller may reuse its buffers.
func (l *changelogLogger) LogChange(key, value []byte) {
	key = append([]byte(nil), key...)
	if value != nil {
		value = append([]byte{}, value...)
	}
	l.task.env.collector.send(l.topic, l.task.id.Partition, key, value, nil, l.task.currentTime)
}

// offsetSum is the sum of the changelog offsets the task's stores have
// committed, which the assignor compares with the changelogs' ends.
func (t *task) offsetSum() int64 {
	var sum int64
	for _, ts := range t.stores {
		if cp, err := ts.raw.Checkpoint(); err == nil && cp.Offset > 0 {
			sum += cp.Offset
		}
	}
	return sum
}

func (t *task) hasPersistentStores() bool {
	for _, ts := range t.stores {
		if ts.def.persistent && ts.changelogTopic != "" {
			return true
		}
	}
	return false
}

// uncommittedBytes is what the task's stores hold in memory until the next
// commit.
func (t *task) uncommittedBytes() int64 {
	var n int64
	for _, ts := range t.stores {
		n += ts.raw.UncommittedBytes()
	}
	return n
}

// punctuator is one scheduled call.
type punctuator struct {
	task      *task
	node      *node
	kind      PunctuationType
	interval  int64 // milliseconds
	next      int64 // due time; -1 until stream time is known
	fn        func(now time.Time)
	cancelled bool
}

func (p *punctuator) Cancel() { p.cancelled = true }

func (t *task) schedule(n *node, interval time.Duration, kind PunctuationType, fn func(time.Time)) Cancellable {
	ms := interval.Milliseconds()
	if ms < 1 {
		t.fail(fmt.Errorf("streams: processor %q schedules a punctuator every %v; the least is 1ms", n.name, interval))
		return &punctuator{cancelled: true}
	}
	p := &punctuator{task: t, node: n, kind: kind, interval: ms, fn: fn, next: -1}
	if kind == WallClockTime {
		p.next = toMillis(t.env.wallClock()) + ms
	} else if t.streamTime >= 0 {
		p.next = t.streamTime + ms
	}
	t.punctuators = append(t.punctuators, p)
	return p
}

// punctuate runs the punctuators of one kind that are due at now, each once
// however far the clock jumped, and moves them to their next time on the
// grid of their interval.
func (t *task) punctuate(kind PunctuationType, now int64) {
	live := t.punctuators[:0]
	for _, p := range t.punctuators {
		if p.cancelled {
			continue
		}
		live = append(live, p)
	}
	t.punctuators = live
	for _, p := range t.punctuators {
		if p.kind != kind || p.cancelled {
			continue
		}
		if p.next < 0 {
			p.next = now + p.interval
			continue
		}
		if now < p.next {
			continue
		}
		p.next += ((now-p.next)/p.interval + 1) * p.interval
		t.currentTime = now
		p.fn(fromMillis(now))
		if t.err != nil {
			return
		}
	}
}

// punctuateWallClock runs the wall-clock punctuators due now.
func (t *task) punctuateWallClock(now time.Time) error {
	t.punctuate(WallClockTime, toMillis(now))
	return t.err
}
