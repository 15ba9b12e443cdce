package streams

import "fmt"

// Grouped is a stream grouped by key for an aggregation (Kafka's
// KGroupedStream). If the key was changed upstream, the aggregation first
// repartitions the stream through a topic named after its store, so that all
// records of a key meet in one task.
type Grouped[K, V any] struct {
	s    Stream[K, V]
	keys Serde[K]
	vals Serde[V]
}

// GroupByKey groups a stream by its key, with the serdes the repartition
// topic and the stores need.
func GroupByKey[K, V any](s Stream[K, V], keys Serde[K], values Serde[V]) Grouped[K, V] {
	return Grouped[K, V]{s: s, keys: keys, vals: values}
}

// GroupBy groups a stream by a key computed from each record.
func GroupBy[K, V, K2 any](s Stream[K, V], fn func(key K, value V) K2, keys Serde[K2], values Serde[V]) Grouped[K2, V] {
	return GroupByKey(SelectKey(s, fn), keys, values)
}

// input is the grouped stream, repartitioned when its key changed; name
// names the repartition topic after the aggregation's store.
func (g Grouped[K, V]) input(name string) Stream[K, V] {
	if !g.s.rekeyed {
		return g.s
	}
	return repartition(g.s, name, g.keys, g.vals, 0)
}

// Count counts the records per key (Kafka's count()). Tombstones are not
// counted.
func Count[K, V any](g Grouped[K, V], opts ...StoreOption) Table[K, int64] {
	return Aggregate(g, func() int64 { return 0 }, func(_ K, _ V, agg int64) int64 { return agg + 1 }, Int64, opts...)
}

// Reduce combines the values of each key with fn, the first value standing
// as it is.
func Reduce[K, V any](g Grouped[K, V], fn func(aggregate, value V) V, opts ...StoreOption) Table[K, V] {
	return aggregate(g, "KSTREAM-REDUCE-", g.vals, opts, func(_ K, v V, agg V, found bool) V {
		if !found {
			return v
		}
		return fn(agg, v)
	})
}

// Aggregate folds the values of each key into an aggregate, starting from
// init() (Kafka's aggregate()).
func Aggregate[K, V, A any](g Grouped[K, V], init func() A, add func(key K, value V, aggregate A) A, aggregateSerde Serde[A], opts ...StoreOption) Table[K, A] {
	return aggregate(g, "KSTREAM-AGGREGATE-", aggregateSerde, opts, func(k K, v V, agg A, found bool) A {
		if !found {
			agg = init()
		}
		return add(k, v, agg)
	})
}

func aggregate[K, V, A any](g Grouped[K, V], prefix string, aggSerde Serde[A], opts []StoreOption, fold func(K, V, A, bool) A) Table[K, A] {
	b := g.s.b
	def := newTableStore(b.t.generatedName(prefix+"STATE-STORE-"), g.keys, aggSerde, opts)
	in := g.input(def.name)
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
		return receiverFunc[K, V](func(r Record[K, V]) {
			if r.Tombstone || t.err != nil {
				return
			}
			old, found, err := w.get(r.Key)
			if err == nil {
				ts := max(toMillis(r.Timestamp), old.Timestamp)
				err = w.write(r.Key, ValueAndTimestamp[A]{Value: fold(r.Key, r.Value, old.Value, found), Timestamp: ts}, false)
			}
			if err != nil {
				t.fail(fmt.Errorf("aggregate %q: %w", def.name, err))
			}
		}), nil
	}
	b.t.addNode(n, in.n)
	b.t.AddStateStore(def, n.name)
	return Table[K, A]{b: b, n: n, keys: g.keys, vals: aggSerde, store: def.name, getter: storeGetter[K, A](def.name), getterStores: []string{def.name}}
}
