package streams

import "fmt"

type sinkOptions[K, V any] struct {
	keys   Serde[K]
	values Serde[V]
	choose TopicChooser[K, V]
}

func addSink[K, V any](t *Topology, name, topic string, internal bool, opts sinkOptions[K, V], parents ...*node) {
	if opts.keys == nil || opts.values == nil {
		t.fail(fmt.Errorf("%w: sink %q needs a key and a value serde", ErrTopology, name))
	}
	if topic == "" && opts.choose == nil {
		t.fail(fmt.Errorf("%w: sink %q writes to no topic", ErrTopology, name))
	}
	n := &node{name: name, kind: kindSink, internal: internal}
	if topic != "" {
		n.topics = []string{topic}
	}
	n.instantiate = func(tk *task, _ []any) (any, error) {
		s := &sinkNode[K, V]{task: tk, node: n, opts: opts}
		if topic != "" {
			s.topic = tk.env.resolve(topic, internal)
		}
		return s, nil
	}
	t.addNode(n, parents...)
}

// sinkNode serializes records and hands them to the task's collector.
type sinkNode[K, V any] struct {
	task  *task
	node  *node
	topic string
	opts  sinkOptions[K, V]
}

func (s *sinkNode[K, V]) receive(r Record[K, V]) {
	if s.task.err != nil {
		return
	}
	topic := s.topic
	if s.opts.choose != nil {
		topic = s.opts.choose(r, s.task.current)
		if topic == "" {
			s.task.fail(fmt.Errorf("sink %q: the topic chooser picked no topic", s.node.name))
			return
		}
	}
	key, err := s.opts.keys.Serialize(topic, r.Key)
	if err != nil {
		s.task.fail(fmt.Errorf("sink %q: key for %q: %w", s.node.name, topic, err))
		return
	}
	var value []byte
	if !r.Tombstone {
		value, err = s.opts.values.Serialize(topic, r.Value)
		if err != nil {
			s.task.fail(fmt.Errorf("sink %q: value for %q: %w", s.node.name, topic, err))
			return
		}
	}
	s.task.env.collector.send(topic, -1, key, value, r.Headers, toMillis(r.Timestamp))
}
