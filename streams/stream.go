package streams

import (
	"fmt"
	"time"
)

// Builder builds a topology with the DSL: streams, tables and their
// operators. Its functions record errors instead of returning them; Build
// reports the first.
type Builder struct {
	t *Topology
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder { return &Builder{t: NewTopology()} }

// Topology is the topology being built, for mixing in the Processor API.
func (b *Builder) Topology() *Topology { return b.t }

// Build checks the topology and returns it.
func (b *Builder) Build() (*Topology, error) {
	if err := b.t.validate(); err != nil {
		return nil, err
	}
	return b.t, nil
}

// Stream is an unbounded sequence of records (Kafka's KStream) whose keys
// are K and values V. Its methods keep the types; the functions of this
// package that change them (Map, MapValues, GroupByKey, ...) take the stream
// as their first argument, since Go methods cannot add type parameters.
type Stream[K, V any] struct {
	b    *Builder
	n    *node
	keys Serde[K]
	vals Serde[V]
	// rekeyed says the key may no longer match the partition the record
	// was read from: grouping and joining first go through a repartition
	// topic.
	rekeyed bool
}

// RawRecord is a record as read, for a TimestampExtractor.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	Timestamp time.Time
}

// TimestampExtractor gives a record its event time in place of the time it
// was written with (Kafka's TimestampExtractor). A record it puts before 1970
// is dropped and counted.
type TimestampExtractor func(r RawRecord) time.Time

// SourceOption configures a source of the DSL.
type SourceOption func(*sourceConfig)

type sourceConfig struct {
	name    string
	extract TimestampExtractor
}

// WithTimestampExtractor gives the records of a source their event time.
func WithTimestampExtractor(fn TimestampExtractor) SourceOption {
	return func(c *sourceConfig) { c.extract = fn }
}

// WithName names a source node instead of the generated KSTREAM-SOURCE-n.
func WithName(name string) SourceOption { return func(c *sourceConfig) { c.name = name } }

// StreamFrom reads topics as a stream (Kafka's builder.stream).
func StreamFrom[K, V any](b *Builder, keys Serde[K], values Serde[V], topics []string, opts ...SourceOption) Stream[K, V] {
	cfg := sourceConfig{}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.name == "" {
		cfg.name = b.t.generatedName("KSTREAM-SOURCE-")
	}
	src := AddSource(b.t, cfg.name, keys, values, topics...)
	src.n.extract = cfg.extract
	return Stream[K, V]{b: b, n: src.n, keys: keys, vals: values}
}

// addStatelessNode adds a DSL node whose instance make builds from the
// node's children.
func addStatelessNode[KIn, VIn, KOut, VOut any](b *Builder, prefix string, make func(out forwarder[KOut, VOut]) receiver[KIn, VIn], parents ...*node) *node {
	n := &node{name: b.t.generatedName(prefix), kind: kindProcessor}
	n.instantiate = func(_ *task, children []any) (any, error) {
		out, err := childReceivers[KOut, VOut](n, children)
		if err != nil {
			return nil, err
		}
		return make(out), nil
	}
	b.t.addNode(n, parents...)
	return n
}

// receiverFunc adapts a function to a receiver.
type receiverFunc[K, V any] func(r Record[K, V])

func (f receiverFunc[K, V]) receive(r Record[K, V]) { f(r) }

func (s Stream[K, V]) derive(n *node) Stream[K, V] {
	return Stream[K, V]{b: s.b, n: n, keys: s.keys, vals: s.vals, rekeyed: s.rekeyed}
}

// Filter keeps the records for which keep is true.
func (s Stream[K, V]) Filter(keep func(key K, value V) bool) Stream[K, V] {
	return s.derive(addStatelessNode(s.b, "KSTREAM-FILTER-", func(out forwarder[K, V]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			if keep(r.Key, r.Value) {
				out.forward(r)
			}
		})
	}, s.n))
}

// FilterNot drops the records for which drop is true.
func (s Stream[K, V]) FilterNot(drop func(key K, value V) bool) Stream[K, V] {
	return s.Filter(func(k K, v V) bool { return !drop(k, v) })
}

// Peek calls fn for each record and passes it on.
func (s Stream[K, V]) Peek(fn func(key K, value V)) Stream[K, V] {
	return s.derive(addStatelessNode(s.b, "KSTREAM-PEEK-", func(out forwarder[K, V]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			fn(r.Key, r.Value)
			out.forward(r)
		})
	}, s.n))
}

// Foreach calls fn for each record; the stream ends here.
func (s Stream[K, V]) Foreach(fn func(key K, value V)) {
	addStatelessNode(s.b, "KSTREAM-FOREACH-", func(forwarder[K, V]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) { fn(r.Key, r.Value) })
	}, s.n)
}

// Merge interleaves this stream and other, in the order records arrive.
func (s Stream[K, V]) Merge(other Stream[K, V]) Stream[K, V] {
	merged := s.derive(addStatelessNode(s.b, "KSTREAM-MERGE-", func(out forwarder[K, V]) receiver[K, V] {
		return receiverFunc[K, V](out.forward)
	}, s.n, other.n))
	merged.rekeyed = s.rekeyed || other.rekeyed
	return merged
}

// Branch splits the stream: a record goes to the stream of the first
// predicate it matches and is dropped when it matches none (Kafka's
// split().branch()). Pass a predicate that is always true last for a default
// branch.
func (s Stream[K, V]) Branch(predicates ...func(key K, value V) bool) []Stream[K, V] {
	branch := addStatelessNode(s.b, "KSTREAM-BRANCH-", func(out forwarder[K, V]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			for i, match := range predicates {
				if match(r.Key, r.Value) {
					out[i].receive(r)
					return
				}
			}
		})
	}, s.n)
	branches := make([]Stream[K, V], len(predicates))
	for i := range predicates {
		branches[i] = s.derive(addStatelessNode(s.b, "KSTREAM-BRANCHCHILD-", func(out forwarder[K, V]) receiver[K, V] {
			return receiverFunc[K, V](out.forward)
		}, branch))
	}
	return branches
}

// To writes the stream to topic with the given serdes.
func (s Stream[K, V]) To(topic string, keys Serde[K], values Serde[V]) {
	addSink(s.b.t, s.b.t.generatedName("KSTREAM-SINK-"), topic, false, sinkOptions[K, V]{keys: keys, values: values}, s.n)
}

// ToDynamic writes each record to the topic choose picks for it.
func (s Stream[K, V]) ToDynamic(choose TopicChooser[K, V], keys Serde[K], values Serde[V]) {
	addSink(s.b.t, s.b.t.generatedName("KSTREAM-SINK-"), "", false, sinkOptions[K, V]{keys: keys, values: values, choose: choose}, s.n)
}

// Repartition writes the stream through an internal topic, so that records
// with the same key are processed by the same task. partitions 0 gives the
// topic as many partitions as the input.
func (s Stream[K, V]) Repartition(keys Serde[K], values Serde[V], partitions int) Stream[K, V] {
	return repartition(s, s.b.t.generatedName("KSTREAM-REPARTITION-"), keys, values, partitions)
}

func repartition[K, V any](s Stream[K, V], name string, keys Serde[K], values Serde[V], partitions int) Stream[K, V] {
	t := s.b.t
	if keys == nil || values == nil {
		t.fail(fmt.Errorf("%w: repartition %q needs a key and a value serde", ErrTopology, name))
	}
	suffix := name + "-repartition"
	t.internalTopics[suffix] = &internalTopic{suffix: suffix, partitions: partitions, configs: map[string]string{
		"cleanup.policy": "delete",
		// Kafka keeps repartition records until the application has
		// committed past them and then deletes them with DeleteRecords.
		"retention.ms": "-1",
	}}
	addSink(t, name+"-sink", suffix, true, sinkOptions[K, V]{keys: keys, values: values}, s.n)
	src := &node{name: name + "-source", kind: kindSource, topics: []string{suffix}, internal: true}
	src.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, V](src, children)
		if err != nil {
			return nil, err
		}
		return &sourceNode[K, V]{task: tk, node: src, keys: keys, values: values, out: out}, nil
	}
	t.addNode(src)
	return Stream[K, V]{b: s.b, n: src, keys: keys, vals: values}
}

// KeyValue is a key and a value, for FlatMap.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// Map gives each record a new key and value. Grouping or joining the result
// repartitions it first.
func Map[K, V, K2, V2 any](s Stream[K, V], fn func(key K, value V) (K2, V2)) Stream[K2, V2] {
	n := addStatelessNode(s.b, "KSTREAM-MAP-", func(out forwarder[K2, V2]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			k, v := fn(r.Key, r.Value)
			out.forward(Record[K2, V2]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers})
		})
	}, s.n)
	return Stream[K2, V2]{b: s.b, n: n, rekeyed: true}
}

// MapValues gives each record a new value; the key, and so the
// partitioning, stays.
func MapValues[K, V, V2 any](s Stream[K, V], fn func(key K, value V) V2) Stream[K, V2] {
	n := addStatelessNode(s.b, "KSTREAM-MAPVALUES-", func(out forwarder[K, V2]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			out.forward(Record[K, V2]{Key: r.Key, Value: fn(r.Key, r.Value), Timestamp: r.Timestamp, Headers: r.Headers})
		})
	}, s.n)
	return Stream[K, V2]{b: s.b, n: n, keys: s.keys, rekeyed: s.rekeyed}
}

// SelectKey gives each record a new key computed from it.
func SelectKey[K, V, K2 any](s Stream[K, V], fn func(key K, value V) K2) Stream[K2, V] {
	n := addStatelessNode(s.b, "KSTREAM-KEY-SELECT-", func(out forwarder[K2, V]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			out.forward(Record[K2, V]{Key: fn(r.Key, r.Value), Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, Tombstone: r.Tombstone})
		})
	}, s.n)
	return Stream[K2, V]{b: s.b, n: n, vals: s.vals, rekeyed: true}
}

// FlatMap turns each record into zero or more records.
func FlatMap[K, V, K2, V2 any](s Stream[K, V], fn func(key K, value V) []KeyValue[K2, V2]) Stream[K2, V2] {
	n := addStatelessNode(s.b, "KSTREAM-FLATMAP-", func(out forwarder[K2, V2]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			for _, kv := range fn(r.Key, r.Value) {
				out.forward(Record[K2, V2]{Key: kv.Key, Value: kv.Value, Timestamp: r.Timestamp, Headers: r.Headers})
			}
		})
	}, s.n)
	return Stream[K2, V2]{b: s.b, n: n, rekeyed: true}
}

// FlatMapValues turns each record into zero or more records with its key.
func FlatMapValues[K, V, V2 any](s Stream[K, V], fn func(key K, value V) []V2) Stream[K, V2] {
	n := addStatelessNode(s.b, "KSTREAM-FLATMAPVALUES-", func(out forwarder[K, V2]) receiver[K, V] {
		return receiverFunc[K, V](func(r Record[K, V]) {
			for _, v := range fn(r.Key, r.Value) {
				out.forward(Record[K, V2]{Key: r.Key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers})
			}
		})
	}, s.n)
	return Stream[K, V2]{b: s.b, n: n, keys: s.keys, rekeyed: s.rekeyed}
}

// Process runs a Processor API processor inside the DSL, connected to the
// named stores (Kafka's KStream.process).
func Process[K, V, K2, V2 any](s Stream[K, V], supply func() Processor[K, V, K2, V2], stores ...string) Stream[K2, V2] {
	out := AddProcessor(s.b.t, s.b.t.generatedName("KSTREAM-PROCESSOR-"), supply, Node[K, V]{t: s.b.t, n: s.n})
	for _, name := range stores {
		s.b.t.ConnectStore(name, out.n.name)
	}
	return Stream[K2, V2]{b: s.b, n: out.n, rekeyed: true}
}
