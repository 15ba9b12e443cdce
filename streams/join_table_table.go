package streams

import (
	"fmt"
	"slices"
)

// JoinTables joins two tables on their keys (Kafka's KTable.join): the
// result holds a key while both tables do, with joiner's value of the two
// and the later of their timestamps. An update of either side updates the
// result, and a delete of either side deletes the key from it; the result's
// changes carry the joined value they replace, as a table's do.
//
// The result is computed from the two tables' stores when it is read (by a
// join or a query of a table derived from it), unless opts are given: then
// it is also kept in a store of its own, named by As or a generated name,
// with values serialized by values, and cached like the other tables of
// the DSL (Kafka's Materialized). values may be nil when opts are not
// given; downstream operators that need a value serde then need one of
// their own. The two tables' topics must have as many partitions. joiner
// may be called from several tasks at once, and again when the result is
// read: it must be a pure function of its arguments.
func JoinTables[K, V1, V2, VR any](left Table[K, V1], right Table[K, V2], joiner func(key K, left V1, right V2) VR, values Serde[VR], opts ...StoreOption) Table[K, VR] {
	return joinTables(left, right, tableJoinInner, func(k K, l *V1, r *V2) VR { return joiner(k, *l, *r) }, values, opts)
}

// LeftJoinTables is JoinTables keeping every key of the left table: one
// the right table lacks joins a nil right value (Kafka's KTable.leftJoin).
func LeftJoinTables[K, V1, V2, VR any](left Table[K, V1], right Table[K, V2], joiner func(key K, left V1, right *V2) VR, values Serde[VR], opts ...StoreOption) Table[K, VR] {
	return joinTables(left, right, tableJoinLeft, func(k K, l *V1, r *V2) VR { return joiner(k, *l, r) }, values, opts)
}

// OuterJoinTables is JoinTables keeping every key of either table, the
// side that lacks it joining a nil value (Kafka's KTable.outerJoin).
func OuterJoinTables[K, V1, V2, VR any](left Table[K, V1], right Table[K, V2], joiner func(key K, left *V1, right *V2) VR, values Serde[VR], opts ...StoreOption) Table[K, VR] {
	return joinTables(left, right, tableJoinOuter, joiner, values, opts)
}

// tableJoinKind says when a table-table join's result holds a key.
type tableJoinKind int

const (
	tableJoinInner tableJoinKind = iota
	tableJoinLeft
	tableJoinOuter
)

// holds reports whether the result has a row for a key that the left and
// the right table have or lack.
func (k tableJoinKind) holds(hasLeft, hasRight bool) bool {
	switch k {
	case tableJoinInner:
		return hasLeft && hasRight
	case tableJoinLeft:
		return hasLeft
	default:
		return hasLeft || hasRight
	}
}

// nodePrefixes are Kafka's names of the join's two processors.
func (k tableJoinKind) nodePrefixes() (this, other string) {
	switch k {
	case tableJoinInner:
		return "KTABLE-JOINTHIS-", "KTABLE-JOINOTHER-"
	case tableJoinLeft:
		return "KTABLE-LEFTTHIS-", "KTABLE-LEFTOTHER-"
	default:
		return "KTABLE-OUTERTHIS-", "KTABLE-OUTEROTHER-"
	}
}

func joinTables[K, V1, V2, VR any](left Table[K, V1], right Table[K, V2], kind tableJoinKind, joiner func(K, *V1, *V2) VR, values Serde[VR], opts []StoreOption) Table[K, VR] {
	b := left.b
	if right.b != b {
		b.t.fail(fmt.Errorf("%w: joined tables come from different builders", ErrTopology))
	}
	if left.getter == nil || right.getter == nil || len(left.getterStores) == 0 || len(right.getterStores) == 0 {
		b.t.fail(fmt.Errorf("%w: a joined table cannot be read by key", ErrTopology))
	}
	keys := left.keys
	if keys == nil {
		keys = right.keys
	}
	thisPrefix, otherPrefix := kind.nodePrefixes()
	rightGetter, leftGetter := right.getter, left.getter
	this := addJoinNode(b, b.t.generatedName(thisPrefix), left.n, func(t *task, out forwarder[K, change[VR]]) (receiver[K, change[V1]], error) {
		return newTableJoinSide(t, rightGetter, kind.holds, joiner, out)
	})
	connectStores(b.t, this, right.getterStores)
	other := addJoinNode(b, b.t.generatedName(otherPrefix), right.n, func(t *task, out forwarder[K, change[VR]]) (receiver[K, change[V2]], error) {
		holds := func(hasRight, hasLeft bool) bool { return kind.holds(hasLeft, hasRight) }
		return newTableJoinSide(t, leftGetter, holds, func(k K, r *V2, l *V1) VR { return joiner(k, l, r) }, out)
	})
	connectStores(b.t, other, left.getterStores)
	result := Table[K, VR]{b: b, keys: keys, vals: values}
	if len(opts) == 0 {
		result.n = addStatelessNode(b, "KTABLE-MERGE-", func(out forwarder[K, change[VR]]) receiver[K, change[VR]] {
			return receiverFunc[K, change[VR]](out.forward)
		}, this, other)
		result.getter = joinedGetter(left, right, kind, joiner)
		result.getterStores = append(slices.Clone(left.getterStores), right.getterStores...)
		return result
	}
	if values == nil {
		b.t.fail(fmt.Errorf("%w: a materialized table-table join needs the serde of its values", ErrTopology))
	}
	def := newTableStore(b.t.generatedName("KTABLE-MERGE-STATE-STORE-"), keys, values, opts)
	merge := &node{name: b.t.generatedName("KTABLE-MERGE-"), kind: kindProcessor}
	merge.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[K, change[VR]](merge, children)
		if err != nil {
			return nil, err
		}
		w, err := newTableWriter[K, VR](t, def.name, out)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, change[VR]](func(r Record[K, change[VR]]) {
			if t.err != nil {
				return
			}
			v := ValueAndTimestamp[VR]{Value: r.Value.newValue, Timestamp: toMillis(r.Timestamp)}
			if err := w.write(r.Key, v, !r.Value.hasNew); err != nil {
				t.fail(fmt.Errorf("table join %q: %w", def.name, err))
			}
		}), nil
	}
	b.t.addNode(merge, this, other)
	b.t.AddStateStore(def, merge.name)
	result.n, result.store = merge, def.name
	result.getter, result.getterStores = storeGetter[K, VR](def.name), []string{def.name}
	return result
}

// newTableJoinSide makes the processor of one side's changes: it looks the
// key up in the other table and forwards the change of the joined row. holds
// and join take this side's value first.
func newTableJoinSide[K, VThis, VOther, VR any](t *task, otherGetter func(*task) (valueGetter[K, VOther], error), holds func(hasThis, hasOther bool) bool, join func(K, *VThis, *VOther) VR, out forwarder[K, change[VR]]) (receiver[K, change[VThis]], error) {
	get, err := otherGetter(t)
	if err != nil {
		return nil, err
	}
	return receiverFunc[K, change[VThis]](func(r Record[K, change[VThis]]) {
		if t.err != nil {
			return
		}
		other, hasOther, err := get(r.Key)
		if err != nil {
			t.fail(fmt.Errorf("table join: %w", err))
			return
		}
		var otherValue *VOther
		ts := toMillis(r.Timestamp)
		if hasOther {
			otherValue = &other.Value
			ts = max(ts, other.Timestamp)
		}
		c := r.Value
		var joined change[VR]
		if joined.hasNew = holds(c.hasNew, hasOther); joined.hasNew {
			joined.newValue = join(r.Key, optional(c.newValue, c.hasNew), otherValue)
		}
		if joined.hasOld = holds(c.hasOld, hasOther); joined.hasOld {
			joined.oldValue = join(r.Key, optional(c.oldValue, c.hasOld), otherValue)
		}
		if !joined.hasNew && !joined.hasOld {
			return
		}
		forwardAt(t, out, Record[K, change[VR]]{Key: r.Key, Value: joined, Timestamp: fromMillis(ts), Headers: r.Headers})
	}), nil
}

// optional is a pointer to a copy of v when present, else nil.
func optional[V any](v V, present bool) *V {
	if !present {
		return nil
	}
	return &v
}

// joinedGetter reads the joined value of a key from the two tables, for a
// result that has no store of its own.
func joinedGetter[K, V1, V2, VR any](left Table[K, V1], right Table[K, V2], kind tableJoinKind, joiner func(K, *V1, *V2) VR) func(*task) (valueGetter[K, VR], error) {
	leftGetter, rightGetter := left.getter, right.getter
	return func(t *task) (valueGetter[K, VR], error) {
		getLeft, err := leftGetter(t)
		if err != nil {
			return nil, err
		}
		getRight, err := rightGetter(t)
		if err != nil {
			return nil, err
		}
		return func(key K) (ValueAndTimestamp[VR], bool, error) {
			l, hasLeft, err := getLeft(key)
			if err != nil {
				return ValueAndTimestamp[VR]{}, false, err
			}
			r, hasRight, err := getRight(key)
			if err != nil || !kind.holds(hasLeft, hasRight) {
				return ValueAndTimestamp[VR]{}, false, err
			}
			ts := int64(0)
			if hasLeft {
				ts = l.Timestamp
			}
			if hasRight {
				ts = max(ts, r.Timestamp)
			}
			value := joiner(key, optional(l.Value, hasLeft), optional(r.Value, hasRight))
			return ValueAndTimestamp[VR]{Value: value, Timestamp: ts}, true, nil
		}, nil
	}
}
