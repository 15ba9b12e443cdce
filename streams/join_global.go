package streams

import "fmt"

// JoinGlobalTable joins each record of the stream with the value of a
// global table under the key that keyOf computes from the record (Kafka's
// KStream.join(GlobalKTable, KeyValueMapper, ValueJoinerWithKey)). A record
// whose key the table does not hold, and a tombstone, is dropped. The
// stream and the table's topic need not be co-partitioned, and a stream
// whose key was changed upstream is not repartitioned: every instance holds
// the whole table. The result keeps the record's key, timestamp and
// headers.
//
// The table is read as it is when the record is processed: its updates
// are not ordered with the stream's records by timestamp. keyOf and joiner
// may be called from several tasks at once.
func JoinGlobalTable[K, V, GK, GV, VR any](s Stream[K, V], g GlobalTable[GK, GV], keyOf func(key K, value V) GK, joiner func(key K, value V, tableValue GV) VR) Stream[K, VR] {
	return joinGlobal(s, g, "KSTREAM-JOIN-", false, keyOf, func(k K, v V, gv *GV) VR { return joiner(k, v, *gv) })
}

// LeftJoinGlobalTable is JoinGlobalTable that also joins a record whose
// key the table does not hold, with a nil table value (Kafka's
// KStream.leftJoin(GlobalKTable, ...)).
func LeftJoinGlobalTable[K, V, GK, GV, VR any](s Stream[K, V], g GlobalTable[GK, GV], keyOf func(key K, value V) GK, joiner func(key K, value V, tableValue *GV) VR) Stream[K, VR] {
	return joinGlobal(s, g, "KSTREAM-LEFTJOIN-", true, keyOf, joiner)
}

// joinGlobal adds the join node; joiner gets nil when the table lacks the
// key, which only a left join passes on.
func joinGlobal[K, V, GK, GV, VR any](s Stream[K, V], g GlobalTable[GK, GV], prefix string, left bool, keyOf func(K, V) GK, joiner func(K, V, *GV) VR) Stream[K, VR] {
	if g.b != s.b {
		s.b.t.fail(fmt.Errorf("%w: the global table %q belongs to another builder", ErrTopology, g.store))
	}
	n := &node{name: s.b.t.generatedName(prefix), kind: kindProcessor}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, VR](n, children)
		if err != nil {
			return nil, err
		}
		get, err := tk.env.globals.reader(g.store)
		if err != nil {
			return nil, fmt.Errorf("streams: %s: %w", n.name, err)
		}
		lookup := func(key GK) (*GV, error) {
			raw, err := g.keys.Serialize(g.topic, key)
			if err != nil {
				return nil, err
			}
			if raw, err = get(raw); err != nil || raw == nil {
				return nil, err
			}
			value, err := g.vals.Deserialize(g.topic, raw)
			if err != nil {
				return nil, err
			}
			return &value, nil
		}
		return receiverFunc[K, V](func(r Record[K, V]) {
			if r.Tombstone || tk.err != nil {
				return
			}
			other, err := lookup(keyOf(r.Key, r.Value))
			if err != nil {
				tk.fail(fmt.Errorf("%s: global store %q: %w", n.name, g.store, err))
				return
			}
			if other != nil || left {
				out.forward(Record[K, VR]{Key: r.Key, Value: joiner(r.Key, r.Value, other), Timestamp: r.Timestamp, Headers: r.Headers})
			}
		}), nil
	}
	s.b.t.addNode(n, s.n)
	return Stream[K, VR]{b: s.b, n: n, keys: s.keys, rekeyed: s.rekeyed}
}
