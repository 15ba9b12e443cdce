package streams

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// GroupedTable is a table regrouped under new keys for an aggregation
// (Kafka's KGroupedTable). Unlike a grouped stream, whose records only add,
// each change of the table takes its old value out of its old group
// (the subtractor) and puts its new value into its new group (the adder).
// The changes travel through a repartition topic named after the
// aggregation's store, so that each group is aggregated by one task.
type GroupedTable[K, V any] struct {
	b    *Builder
	n    *node // forwards Record[K, change[V]]
	keys Serde[K]
	vals Serde[V]
}

// TableGroupBy regroups a table: fn gives each key and value its group and
// the value that goes into it (Kafka's KTable.groupBy). The serdes are
// those of the repartition topic and the aggregation's store.
//
// An update that keeps its group is sent as one record carrying the old
// and the new value; one that changes group sends a subtraction to the old
// group, then an addition to the new.
func TableGroupBy[K, V, K2, V2 any](t Table[K, V], fn func(key K, value V) (K2, V2), keys Serde[K2], values Serde[V2]) GroupedTable[K2, V2] {
	if keys == nil || values == nil {
		t.b.t.fail(fmt.Errorf("%w: TableGroupBy needs a key and a value serde", ErrTopology))
	}
	n := addStatelessNode(t.b, "KTABLE-SELECT-", func(out forwarder[K2, change[V2]]) receiver[K, change[V]] {
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			forwardRegrouped(r, fn, keys, out)
		})
	}, t.n)
	return GroupedTable[K2, V2]{b: t.b, n: n, keys: keys, vals: values}
}

// forwardRegrouped sends a table change to the groups of its old and new
// values. Keys are compared serialized, as Kafka compares them.
func forwardRegrouped[K, V, K2, V2 any](r Record[K, change[V]], fn func(K, V) (K2, V2), keys Serde[K2], out forwarder[K2, change[V2]]) {
	c := r.Value
	var newKey, oldKey K2
	var newValue, oldValue V2
	if c.hasNew {
		newKey, newValue = fn(r.Key, c.newValue)
	}
	if c.hasOld {
		oldKey, oldValue = fn(r.Key, c.oldValue)
	}
	send := func(key K2, value change[V2]) {
		out.forward(Record[K2, change[V2]]{Key: key, Value: value, Timestamp: r.Timestamp, Headers: r.Headers})
	}
	if c.hasNew && c.hasOld && sameKey(keys, newKey, oldKey) {
		send(newKey, change[V2]{newValue: newValue, hasNew: true, oldValue: oldValue, hasOld: true})
		return
	}
	if c.hasOld {
		send(oldKey, change[V2]{oldValue: oldValue, hasOld: true})
	}
	if c.hasNew {
		send(newKey, change[V2]{newValue: newValue, hasNew: true})
	}
}

// sameKey compares two keys by their bytes; keys that do not serialize
// are different, and the sink reports the error.
func sameKey[K any](keys Serde[K], a, b K) bool {
	x, err1 := keys.Serialize("", a)
	y, err2 := keys.Serialize("", b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// TableCount counts the rows of the table in each group (Kafka's
// KGroupedTable.count()). A group whose rows all left keeps its count of
// zero, as in Kafka.
func TableCount[K, V any](g GroupedTable[K, V], opts ...StoreOption) Table[K, int64] {
	return TableAggregate(g, func() int64 { return 0 },
		func(_ K, _ V, agg int64) int64 { return agg + 1 },
		func(_ K, _ V, agg int64) int64 { return agg - 1 },
		Int64, opts...)
}

// TableReduce combines the values of each group: adder folds a value in,
// subtractor takes a value out; the first value of a group stands as it
// is (Kafka's KGroupedTable.reduce).
func TableReduce[K, V any](g GroupedTable[K, V], adder, subtractor func(aggregate, value V) V, opts ...StoreOption) Table[K, V] {
	return tableAggregate(g, "KTABLE-REDUCE-", g.vals, opts, func(_ K, c change[V], agg V, found bool) V {
		if c.hasOld && found {
			agg = subtractor(agg, c.oldValue)
		}
		if c.hasNew {
			if !found {
				return c.newValue
			}
			agg = adder(agg, c.newValue)
		}
		return agg
	})
}

// TableAggregate folds the values of each group into an aggregate that
// starts from init(): adder folds a value in, subtractor takes one out
// (Kafka's KGroupedTable.aggregate).
func TableAggregate[K, V, A any](g GroupedTable[K, V], init func() A, adder, subtractor func(key K, value V, aggregate A) A, aggregateSerde Serde[A], opts ...StoreOption) Table[K, A] {
	return tableAggregate(g, "KTABLE-AGGREGATE-", aggregateSerde, opts, func(k K, c change[V], agg A, found bool) A {
		if c.hasOld && found {
			agg = subtractor(k, c.oldValue, agg)
		}
		if c.hasNew {
			if !found {
				agg = init()
			}
			agg = adder(k, c.newValue, agg)
		}
		return agg
	})
}

// tableAggregate repartitions the grouped changes and folds them into a
// table store. A subtraction for a group that has no aggregate yet (its
// addition was lost or is still on its way) is skipped, as Kafka does.
func tableAggregate[K, V, A any](g GroupedTable[K, V], prefix string, aggSerde Serde[A], opts []StoreOption, fold func(K, change[V], A, bool) A) Table[K, A] {
	b := g.b
	def := newTableStore(b.t.generatedName("KTABLE-AGGREGATE-STATE-STORE-"), g.keys, aggSerde, opts)
	grouped := Stream[K, change[V]]{b: b, n: g.n, rekeyed: true}
	in := repartition(grouped, def.name, g.keys, Serde[change[V]](changeSerde[V]{values: g.vals}), 0)
	n := &node{name: b.t.generatedName(prefix), kind: kindProcessor}
	n.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[K, change[A]](n, children)
		if err != nil {
			return nil, err
		}
		w, err := newTableWriter[K, A](t, def.name, out)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			if t.err != nil {
				return
			}
			old, found, err := w.get(r.Key)
			if err == nil && (found || r.Value.hasNew) {
				ts := toMillis(r.Timestamp)
				if found {
					ts = max(ts, old.Timestamp)
				}
				err = w.write(r.Key, ValueAndTimestamp[A]{Value: fold(r.Key, r.Value, old.Value, found), Timestamp: ts}, false)
			}
			if err != nil {
				t.fail(fmt.Errorf("table aggregate %q: %w", def.name, err))
			}
		}), nil
	}
	b.t.addNode(n, in.n)
	b.t.AddStateStore(def, n.name)
	return Table[K, A]{b: b, n: n, keys: g.keys, vals: aggSerde, store: def.name, getter: storeGetter[K, A](def.name), getterStores: []string{def.name}}
}

// changeSerde carries a table change through a repartition topic (Kafka's
// ChangedSerializer):
//
//	flags    1 byte: 0x01 a new value follows, 0x02 an old value follows
//	new      uint32 BE length, then the new value's bytes
//	old      the old value's bytes, to the end
//
// A value its serde turns into null is taken as absent.
type changeSerde[V any] struct{ values Serde[V] }

const (
	changeHasNew = 0x01
	changeHasOld = 0x02
)

func (s changeSerde[V]) Serialize(topic string, c change[V]) ([]byte, error) {
	var newBytes, oldBytes []byte
	var err error
	if c.hasNew {
		if newBytes, err = s.values.Serialize(topic, c.newValue); err != nil {
			return nil, err
		}
	}
	if c.hasOld {
		if oldBytes, err = s.values.Serialize(topic, c.oldValue); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 1, 5+len(newBytes)+len(oldBytes))
	if newBytes != nil {
		out[0] |= changeHasNew
		out = binary.BigEndian.AppendUint32(out, uint32(len(newBytes)))
		out = append(out, newBytes...)
	}
	if oldBytes != nil {
		out[0] |= changeHasOld
		out = append(out, oldBytes...)
	}
	return out, nil
}

func (s changeSerde[V]) Deserialize(topic string, data []byte) (change[V], error) {
	var c change[V]
	if len(data) < 1 || data[0]&^(changeHasNew|changeHasOld) != 0 {
		return c, fmt.Errorf("%w: a table change in %q is not in the change format", ErrSerialization, topic)
	}
	flags, rest := data[0], data[1:]
	var err error
	if flags&changeHasNew != 0 {
		if len(rest) < 4 || uint64(binary.BigEndian.Uint32(rest)) > uint64(len(rest)-4) {
			return c, fmt.Errorf("%w: a table change in %q is truncated", ErrSerialization, topic)
		}
		n := binary.BigEndian.Uint32(rest)
		if c.newValue, err = s.values.Deserialize(topic, rest[4:4+n]); err != nil {
			return c, err
		}
		c.hasNew, rest = true, rest[4+n:]
	}
	if flags&changeHasOld != 0 {
		if c.oldValue, err = s.values.Deserialize(topic, rest); err != nil {
			return c, err
		}
		c.hasOld = true
	} else if len(rest) > 0 {
		return c, fmt.Errorf("%w: a table change in %q has %d bytes too many", ErrSerialization, topic, len(rest))
	}
	return c, nil
}
