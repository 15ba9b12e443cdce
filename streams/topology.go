package streams

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Topology is a graph of sources, processors and sinks with the state
// stores they use: what an application runs. Build one with a Builder (the
// DSL) or with AddSource, AddProcessor and AddSink (the Processor API), or
// both. A Topology is a description: each task makes its own instances of
// its processors and stores from it, so the functions given to operators
// must be safe to call from several tasks at once.
//
// A Topology is built by one goroutine and not changed after it is handed to
// NewApp or NewTestDriver.
type Topology struct {
	nodes  []*node
	byName map[string]*node
	stores map[string]*storeDef
	// internalTopics are the repartition and changelog topics the topology
	// needs, by the suffix that follows "<application.id>-".
	internalTopics map[string]*internalTopic
	globals        []*globalStore
	sequence       int
	err            error
}

type nodeKind int

const (
	kindSource nodeKind = iota
	kindProcessor
	kindSink
)

// node is one vertex of the topology. instantiate makes the node's instance
// for one task from the instances of its children, which are made first.
type node struct {
	name     string
	kind     nodeKind
	parents  []*node
	children []*node
	stores   []string
	// topics are a source's input topics or a sink's output topic (empty when
	// a TopicChooser picks it per record); internal ones are suffixes to be
	// prefixed with the application id.
	topics      []string
	internal    bool
	extract     TimestampExtractor // sources only; nil = the record's own timestamp
	instantiate func(t *task, children []any) (any, error)
	// windowClose is set on windowed aggregations: when their windows
	// close, for Suppress.
	windowClose *windowClose
}

// globalStore is a store every instance fills with all partitions of a
// topic, for GlobalTable.
type globalStore struct {
	store string
	topic string
	def   *storeDef
}

// internalTopic is a repartition or changelog topic the application creates.
type internalTopic struct {
	suffix     string
	changelog  bool
	partitions int // 0: as many as the sub-topology's input partitions
	configs    map[string]string
}

// NewTopology returns an empty topology for the Processor API.
func NewTopology() *Topology {
	return &Topology{
		byName:         make(map[string]*node),
		stores:         make(map[string]*storeDef),
		internalTopics: make(map[string]*internalTopic),
	}
}

// Node is a handle to a source or processor of a Topology whose output
// records have key type K and value type V: the parent of the nodes added
// after it.
type Node[K, V any] struct {
	t *Topology
	n *node
}

// Name is the node's name in Describe.
func (n Node[K, V]) Name() string { return n.n.name }

// fail keeps the first error of building a topology; the DSL's methods cannot
// return errors, so Build and NewApp report it.
func (t *Topology) fail(err error) {
	if t.err == nil {
		t.err = err
	}
}

// generatedName makes a node name the way Kafka Streams does:
// KSTREAM-FILTER-0000000003.
func (t *Topology) generatedName(prefix string) string {
	name := fmt.Sprintf("%s%010d", prefix, t.sequence)
	t.sequence++
	return name
}

func (t *Topology) addNode(n *node, parents ...*node) *node {
	if n.name == "" {
		t.fail(fmt.Errorf("%w: a node needs a name", ErrTopology))
	}
	if _, dup := t.byName[n.name]; dup {
		t.fail(fmt.Errorf("%w: node name %q is used twice", ErrTopology, n.name))
	}
	for _, p := range parents {
		if p == nil {
			continue
		}
		if p.kind == kindSink {
			t.fail(fmt.Errorf("%w: sink %q cannot be the parent of %q", ErrTopology, p.name, n.name))
		}
		n.parents = append(n.parents, p)
		p.children = append(p.children, n)
	}
	if n.kind != kindSource && len(n.parents) == 0 {
		t.fail(fmt.Errorf("%w: %q has no parent", ErrTopology, n.name))
	}
	t.nodes = append(t.nodes, n)
	t.byName[n.name] = n
	return n
}

// subtopology is a connected part of the topology: nodes linked by edges or
// by a shared store. Records cross between sub-topologies only through
// topics, so each runs as independent tasks, one per input partition.
type subtopology struct {
	id           int
	nodes        []*node
	sources      []*node
	sourceTopics []string // logical names; internal ones are suffixes
	internal     map[string]bool
	stores       []string
}

// subtopologies splits the topology into its connected parts, numbered in the
// order of their first node, as Kafka Streams numbers them.
func (t *Topology) subtopologies() []*subtopology {
	parent := make(map[*node]*node, len(t.nodes))
	var find func(n *node) *node
	find = func(n *node) *node {
		for parent[n] != n {
			parent[n] = parent[parent[n]]
			n = parent[n]
		}
		return n
	}
	union := func(a, b *node) { parent[find(a)] = find(b) }
	for _, n := range t.nodes {
		parent[n] = n
	}
	for _, n := range t.nodes {
		for _, c := range n.children {
			union(n, c)
		}
	}
	for _, def := range t.stores {
		for i := 1; i < len(def.users); i++ {
			union(def.users[0], def.users[i])
		}
	}
	byRoot := make(map[*node]*subtopology)
	var subs []*subtopology
	for _, n := range t.nodes {
		root := find(n)
		s := byRoot[root]
		if s == nil {
			s = &subtopology{id: len(subs), internal: make(map[string]bool)}
			byRoot[root] = s
			subs = append(subs, s)
		}
		s.nodes = append(s.nodes, n)
		if n.kind == kindSource {
			s.sources = append(s.sources, n)
			for _, topic := range n.topics {
				s.sourceTopics = append(s.sourceTopics, topic)
				if n.internal {
					s.internal[topic] = true
				}
			}
		}
		for _, name := range n.stores {
			if !slices.Contains(s.stores, name) {
				s.stores = append(s.stores, name)
			}
		}
	}
	return subs
}

// validate checks what can be checked without a cluster.
func (t *Topology) validate() error {
	if t.err != nil {
		return t.err
	}
	seen := make(map[string]string)
	for _, n := range t.nodes {
		if n.kind != kindSource {
			continue
		}
		for _, topic := range n.topics {
			if other, dup := seen[topic]; dup {
				return fmt.Errorf("%w: topic %q is read by both %q and %q", ErrTopology, topic, other, n.name)
			}
			seen[topic] = n.name
		}
	}
	for _, g := range t.globals {
		if other, dup := seen[g.topic]; dup {
			return fmt.Errorf("%w: topic %q is read by both %q and global table %q", ErrTopology, g.topic, other, g.store)
		}
	}
	for name, def := range t.stores {
		if len(def.users) == 0 {
			return fmt.Errorf("%w: store %q is connected to no processor", ErrTopology, name)
		}
	}
	return nil
}

// Describe prints the topology the way Kafka Streams' TopologyDescription
// does: each sub-topology with its sources, processors, sinks and stores,
// then the internal topics the application creates.
func (t *Topology) Describe() string {
	var b strings.Builder
	b.WriteString("Topologies:\n")
	for _, s := range t.subtopologies() {
		fmt.Fprintf(&b, "   Sub-topology: %d\n", s.id)
		for _, n := range s.nodes {
			describeNode(&b, n)
		}
	}
	for _, g := range t.globals {
		fmt.Fprintf(&b, "   Global store: %s (topic: %s)\n", g.store, g.topic)
	}
	if len(t.internalTopics) > 0 {
		b.WriteString("Internal topics:\n")
		suffixes := make([]string, 0, len(t.internalTopics))
		for suffix := range t.internalTopics {
			suffixes = append(suffixes, suffix)
		}
		sort.Strings(suffixes)
		for _, suffix := range suffixes {
			kind := "repartition"
			if t.internalTopics[suffix].changelog {
				kind = "changelog"
			}
			fmt.Fprintf(&b, "   <application.id>-%s (%s)\n", suffix, kind)
		}
	}
	return b.String()
}

func describeNode(b *strings.Builder, n *node) {
	switch n.kind {
	case kindSource:
		fmt.Fprintf(b, "    Source: %s (topics: [%s])\n", n.name, strings.Join(n.topics, ", "))
	case kindProcessor:
		fmt.Fprintf(b, "    Processor: %s (stores: [%s])\n", n.name, strings.Join(n.stores, ", "))
	case kindSink:
		topic := "<chosen per record>"
		if len(n.topics) > 0 {
			topic = n.topics[0]
		}
		fmt.Fprintf(b, "    Sink: %s (topic: %s)\n", n.name, topic)
	}
	if len(n.children) > 0 {
		fmt.Fprintf(b, "      --> %s\n", strings.Join(nodeNames(n.children), ", "))
	} else if n.kind != kindSink {
		b.WriteString("      --> none\n")
	}
	if len(n.parents) > 0 {
		fmt.Fprintf(b, "      <-- %s\n", strings.Join(nodeNames(n.parents), ", "))
	}
}

func nodeNames(nodes []*node) []string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.name
	}
	return names
}
