package streams

import (
	"fmt"
	"time"
)

// Processor is the Processor API's unit of work: it receives the records of
// its parents one at a time and forwards records to its children through the
// context given to Init. Each task has its own Processor, made by the
// supplier given to AddProcessor, and calls it from one goroutine only.
//
// An error returned by Process fails the task: the record is not committed,
// and the application's error handler decides what happens next.
type Processor[KIn, VIn, KOut, VOut any] interface {
	Init(ctx ProcessorContext[KOut, VOut]) error
	Process(r Record[KIn, VIn]) error
	Close() error
}

// ProcessorContext is what a Processor sees of its task.
type ProcessorContext[K, V any] interface {
	// Forward sends a record to every child; ForwardTo to the named one.
	// Children run before Forward returns.
	Forward(r Record[K, V])
	ForwardTo(child string, r Record[K, V])
	// Schedule calls fn every interval of stream time or wall-clock time
	// until the returned Cancellable is cancelled. Stream-time punctuators
	// run when records advance stream time past the next multiple of the
	// interval, once however far it jumped.
	Schedule(interval time.Duration, kind PunctuationType, fn func(now time.Time)) Cancellable
	// StateStore returns a store connected to this processor; use
	// KeyValueStoreOf, WindowStoreOf or SessionStoreOf for a typed one.
	StateStore(name string) (StateStore, error)
	// RecordMetadata is where the record being processed came from; ok is
	// false inside a punctuator.
	RecordMetadata() (md RecordMetadata, ok bool)
	TaskID() TaskID
	ApplicationID() string
	// StreamTime is the largest timestamp the task has processed.
	StreamTime() time.Time
	// Commit asks for a commit as soon as the current record is done.
	Commit()
}

// PunctuationType says which clock drives a punctuator.
type PunctuationType int

const (
	// StreamTime punctuators follow the timestamps of processed records.
	StreamTime PunctuationType = iota
	// WallClockTime punctuators follow the system clock (the test driver's
	// clock under a TestDriver).
	WallClockTime
)

// Cancellable stops a scheduled punctuator.
type Cancellable interface{ Cancel() }

// ProcessorFunc makes a stateless Processor from a function.
type ProcessorFunc[KIn, VIn, KOut, VOut any] func(ctx ProcessorContext[KOut, VOut], r Record[KIn, VIn]) error

// receiver is a node instance that takes typed records from its parent.
// Errors do not travel back up: the node records them in its task, which
// stops after the current record.
type receiver[K, V any] interface {
	receive(r Record[K, V])
}

// forwarder is a node instance's children.
type forwarder[K, V any] []receiver[K, V]

func (f forwarder[K, V]) forward(r Record[K, V]) {
	for _, c := range f {
		c.receive(r)
	}
}

// childReceivers checks that every child takes what the node forwards. The
// typed API makes a mismatch impossible; a failure here is a bug.
func childReceivers[K, V any](n *node, children []any) (forwarder[K, V], error) {
	out := make(forwarder[K, V], len(children))
	for i, c := range children {
		r, ok := c.(receiver[K, V])
		if !ok {
			return nil, fmt.Errorf("%w: %q forwards records its child %q does not take", ErrTopology, n.name, n.children[i].name)
		}
		out[i] = r
	}
	return out, nil
}

// AddSource adds a source node reading the given topics with the given
// serdes. The topics of one topology's sources must not overlap.
func AddSource[K, V any](t *Topology, name string, keySerde Serde[K], valueSerde Serde[V], topics ...string) Node[K, V] {
	if len(topics) == 0 {
		t.fail(fmt.Errorf("%w: source %q reads no topic", ErrTopology, name))
	}
	n := &node{name: name, kind: kindSource, topics: topics}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, V](n, children)
		if err != nil {
			return nil, err
		}
		return &sourceNode[K, V]{task: tk, node: n, keys: keySerde, values: valueSerde, out: out}, nil
	}
	t.addNode(n)
	return Node[K, V]{t: t, n: n}
}

// AddProcessor adds a processor made by supply, once per task, fed by parents.
func AddProcessor[KIn, VIn, KOut, VOut any](t *Topology, name string, supply func() Processor[KIn, VIn, KOut, VOut], parents ...Node[KIn, VIn]) Node[KOut, VOut] {
	n := &node{name: name, kind: kindProcessor}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[KOut, VOut](n, children)
		if err != nil {
			return nil, err
		}
		p := supply()
		pc := &processorContext[KOut, VOut]{task: tk, node: n, out: out}
		if err := p.Init(pc); err != nil {
			return nil, fmt.Errorf("streams: init of processor %q: %w", n.name, err)
		}
		tk.closers = append(tk.closers, p.Close)
		return &processorNode[KIn, VIn, KOut, VOut]{task: tk, node: n, p: p}, nil
	}
	t.addNode(n, parentNodes(parents)...)
	return Node[KOut, VOut]{t: t, n: n}
}

// AddProcessorFunc adds a stateless processor that is a function.
func AddProcessorFunc[KIn, VIn, KOut, VOut any](t *Topology, name string, fn ProcessorFunc[KIn, VIn, KOut, VOut], parents ...Node[KIn, VIn]) Node[KOut, VOut] {
	return AddProcessor(t, name, func() Processor[KIn, VIn, KOut, VOut] { return &funcProcessor[KIn, VIn, KOut, VOut]{fn: fn} }, parents...)
}

// TopicChooser picks a sink's topic per record (Kafka's TopicNameExtractor).
type TopicChooser[K, V any] func(r Record[K, V], md RecordMetadata) string

// AddSink adds a sink writing to topic with the given serdes.
func AddSink[K, V any](t *Topology, name, topic string, keySerde Serde[K], valueSerde Serde[V], parents ...Node[K, V]) {
	addSink(t, name, topic, false, sinkOptions[K, V]{keys: keySerde, values: valueSerde}, parentNodes(parents)...)
}

// AddDynamicSink adds a sink whose topic choose picks per record.
func AddDynamicSink[K, V any](t *Topology, name string, choose TopicChooser[K, V], keySerde Serde[K], valueSerde Serde[V], parents ...Node[K, V]) {
	addSink(t, name, "", false, sinkOptions[K, V]{keys: keySerde, values: valueSerde, choose: choose}, parentNodes(parents)...)
}

// AddStateStore adds a store and connects it to the named processors.
func (t *Topology) AddStateStore(b StoreBuilder, processors ...string) {
	def := b.storeDef()
	if _, dup := t.stores[def.name]; dup {
		t.fail(fmt.Errorf("%w: store %q is added twice", ErrTopology, def.name))
		return
	}
	t.stores[def.name] = def
	if def.logged {
		t.internalTopics[def.changelogSuffix()] = &internalTopic{suffix: def.changelogSuffix(), changelog: true, configs: def.changelogConfigs}
	}
	t.ConnectStore(def.name, processors...)
}

// ConnectStore gives the named processors access to an added store.
func (t *Topology) ConnectStore(store string, processors ...string) {
	def, ok := t.stores[store]
	if !ok {
		t.fail(fmt.Errorf("%w: %q", ErrUnknownStore, store))
		return
	}
	for _, name := range processors {
		n, ok := t.byName[name]
		if !ok || n.kind != kindProcessor {
			t.fail(fmt.Errorf("%w: store %q connected to %q, which is not a processor", ErrTopology, store, name))
			continue
		}
		n.stores = append(n.stores, store)
		def.users = append(def.users, n)
	}
}

func parentNodes[K, V any](parents []Node[K, V]) []*node {
	nodes := make([]*node, len(parents))
	for i, p := range parents {
		nodes[i] = p.n
	}
	return nodes
}

// sourceNode deserializes a task's input records.
type sourceNode[K, V any] struct {
	task   *task
	node   *node
	keys   Serde[K]
	values Serde[V]
	out    forwarder[K, V]
}

func (s *sourceNode[K, V]) receiveRaw(in *inputRecord) {
	key, err := s.keys.Deserialize(in.topic, in.key)
	if err == nil {
		var value V
		value, err = s.values.Deserialize(in.topic, in.value)
		if err == nil {
			s.out.forward(Record[K, V]{Key: key, Value: value, Timestamp: fromMillis(in.timestamp), Headers: in.headers, Tombstone: in.value == nil})
			return
		}
	}
	s.task.deserializationError(s.node, in, err)
}

type rawReceiver interface{ receiveRaw(in *inputRecord) }

// processorNode runs a user's Processor.
type processorNode[KIn, VIn, KOut, VOut any] struct {
	task *task
	node *node
	p    Processor[KIn, VIn, KOut, VOut]
}

func (p *processorNode[KIn, VIn, KOut, VOut]) receive(r Record[KIn, VIn]) {
	if p.task.err != nil {
		return
	}
	if err := p.p.Process(r); err != nil {
		p.task.fail(fmt.Errorf("processor %q: %w", p.node.name, err))
	}
}

type funcProcessor[KIn, VIn, KOut, VOut any] struct {
	ctx ProcessorContext[KOut, VOut]
	fn  ProcessorFunc[KIn, VIn, KOut, VOut]
}

func (f *funcProcessor[KIn, VIn, KOut, VOut]) Init(ctx ProcessorContext[KOut, VOut]) error {
	f.ctx = ctx
	return nil
}

func (f *funcProcessor[KIn, VIn, KOut, VOut]) Process(r Record[KIn, VIn]) error {
	return f.fn(f.ctx, r)
}

func (f *funcProcessor[KIn, VIn, KOut, VOut]) Close() error { return nil }

// processorContext is a node's view of its task.
type processorContext[K, V any] struct {
	task *task
	node *node
	out  forwarder[K, V]
}

func (c *processorContext[K, V]) Forward(r Record[K, V]) { c.out.forward(r) }

func (c *processorContext[K, V]) ForwardTo(child string, r Record[K, V]) {
	for i, n := range c.node.children {
		if n.name == child {
			c.out[i].receive(r)
			return
		}
	}
	c.task.fail(fmt.Errorf("%w: %q has no child %q", ErrTopology, c.node.name, child))
}

func (c *processorContext[K, V]) Schedule(interval time.Duration, kind PunctuationType, fn func(now time.Time)) Cancellable {
	return c.task.schedule(c.node, interval, kind, fn)
}

func (c *processorContext[K, V]) StateStore(name string) (StateStore, error) {
	for _, s := range c.node.stores {
		if s == name {
			return c.task.store(name)
		}
	}
	return nil, fmt.Errorf("%w: %q is not connected to processor %q", ErrUnknownStore, name, c.node.name)
}

func (c *processorContext[K, V]) RecordMetadata() (RecordMetadata, bool) {
	return c.task.current, c.task.hasCurrent
}

func (c *processorContext[K, V]) TaskID() TaskID { return c.task.id }

func (c *processorContext[K, V]) ApplicationID() string { return c.task.env.applicationID }

func (c *processorContext[K, V]) StreamTime() time.Time { return fromMillis(c.task.streamTime) }

func (c *processorContext[K, V]) Commit() { c.task.commitRequested = true }
