package streams

import (
	"fmt"
	"slices"
)

// Joined configures a stream-table join (Kafka's Joined). Pass at most one;
// the zero value takes everything from the stream.
type Joined[K, V any] struct {
	// Keys and Values serialize the stream's records for the repartition
	// topic a stream whose key was changed upstream goes through first.
	// Each defaults to the serde the stream carries.
	Keys   Serde[K]
	Values Serde[V]
	// Name names that repartition topic "<Name>-repartition"; default a
	// generated name, which changes when the topology does.
	Name string
}

// JoinStreamTable joins each stream record with the table's current value
// of its key (Kafka's KStream.join(KTable)): a record whose key the table
// lacks, and a tombstone, is dropped; the others become joiner's value with
// the record's timestamp. Updates of the table join nothing: they only
// change what later stream records find. A stream whose key was changed
// upstream is first repartitioned; the table's topic and the stream's must
// have as many partitions.
//
// The table's current value is the latest one the task has processed, so
// the result depends on the order in which records of the stream and the
// table arrive (Kafka's max.task.idle.ms waits for the slower input). joiner
// may be called from several tasks at once.
func JoinStreamTable[K, V, VT, VR any](s Stream[K, V], t Table[K, VT], joiner func(key K, value V, tableValue VT) VR, cfg ...Joined[K, V]) Stream[K, VR] {
	return joinStreamTable(s, t, "KSTREAM-JOIN-", false, func(k K, v V, tv *VT) VR { return joiner(k, v, *tv) }, cfg)
}

// LeftJoinStreamTable is JoinStreamTable that also joins a record whose
// key the table lacks, with a nil table value (Kafka's KStream.leftJoin).
func LeftJoinStreamTable[K, V, VT, VR any](s Stream[K, V], t Table[K, VT], joiner func(key K, value V, tableValue *VT) VR, cfg ...Joined[K, V]) Stream[K, VR] {
	return joinStreamTable(s, t, "KSTREAM-LEFTJOIN-", true, joiner, cfg)
}

func joinStreamTable[K, V, VT, VR any](s Stream[K, V], t Table[K, VT], prefix string, left bool, joiner func(K, V, *VT) VR, cfgs []Joined[K, V]) Stream[K, VR] {
	b := s.b
	if t.b != b {
		b.t.fail(fmt.Errorf("%w: a stream and a table from different builders are joined", ErrTopology))
	}
	var cfg Joined[K, V]
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	if len(cfgs) > 1 {
		b.t.fail(fmt.Errorf("%w: a stream-table join takes at most one Joined", ErrTopology))
	}
	if cfg.Keys == nil {
		cfg.Keys = s.keys
	}
	if cfg.Values == nil {
		cfg.Values = s.vals
	}
	if s.rekeyed && (cfg.Keys == nil || cfg.Values == nil) {
		b.t.fail(fmt.Errorf("%w: a stream-table join of a re-keyed stream needs its serdes for the repartition topic: give them in Joined", ErrTopology))
	}
	s = coPartition(s, cfg.Name, cfg.Keys, cfg.Values)
	if t.getter == nil || len(t.getterStores) == 0 {
		b.t.fail(fmt.Errorf("%w: the joined table cannot be read by key", ErrTopology))
	}
	getter := t.getter
	n := addJoinNode(b, b.t.generatedName(prefix), s.n, func(tk *task, out forwarder[K, VR]) (receiver[K, V], error) {
		get, err := getter(tk)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, V](func(r Record[K, V]) {
			if r.Tombstone || tk.err != nil {
				return // a null value joins nothing, as in Kafka
			}
			found, ok, err := get(r.Key)
			if err != nil {
				tk.fail(fmt.Errorf("stream-table join: %w", err))
				return
			}
			var tv *VT
			if ok {
				tv = &found.Value
			} else if !left {
				return
			}
			out.forward(Record[K, VR]{Key: r.Key, Value: joiner(r.Key, r.Value, tv), Timestamp: r.Timestamp, Headers: r.Headers})
		}), nil
	})
	connectStores(b.t, n, t.getterStores)
	keys := s.keys
	if keys == nil {
		keys = t.keys
	}
	return Stream[K, VR]{b: b, n: n, keys: keys}
}

// connectStores connects a join processor to the stores a table's value
// getter reads, which puts it in the same sub-topology as the table and so
// makes the application check that their topics are co-partitioned.
func connectStores(t *Topology, n *node, stores []string) {
	for _, name := range stores {
		if !slices.Contains(n.stores, name) {
			t.ConnectStore(name, n.name)
		}
	}
}
