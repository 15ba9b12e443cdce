package streams

import (
	"fmt"
	"math"
	"sync"
)

// StreamJoined configures a stream-stream join (Kafka's StreamJoined).
// Pass at most one; the zero value takes everything from the streams.
type StreamJoined[K, V1, V2 any] struct {
	// Keys, Left and Right serialize the key and the two sides' values for
	// the join's stores and for the repartition topic of a side whose key
	// was changed upstream. Each defaults to the serde its stream carries;
	// the topology fails to build when neither gives one.
	Keys  Serde[K]
	Left  Serde[V1]
	Right Serde[V2]
	// StoreName names the join's stores, and so their changelog topics,
	// as Kafka's withStoreName does: "<StoreName>-this-join-store" and
	// "<StoreName>-other-join-store" ("-outer-this-join-store" and
	// "-outer-other-join-store" for the outer sides), and the store of
	// unjoined records "<StoreName>-left-shared-join-store" (left joins) or
	// "<StoreName>-outer-shared-join-store" (outer joins). It also names
	// repartition topics "<StoreName>-left-repartition" and
	// "<StoreName>-right-repartition". Default: generated names, which
	// change when the topology does.
	StoreName string
	// StoreOptions say how the stores are kept (InMemory,
	// WithLoggingDisabled, WithLoggingConfig); As is ignored.
	StoreOptions []StoreOption
}

// JoinStreams joins two streams on their keys within windows (Kafka's
// KStream.join with JoinWindows): for each pair of a left and a right
// record of the same key whose timestamps JoinWindows accepts, the result
// has joiner's value and the later of the two timestamps, and is emitted as
// soon as the second record arrives. Tombstones and late records (see
// JoinWindows) join nothing. A side whose key was changed upstream is first
// repartitioned; the two sides' topics must have as many partitions.
//
// Both sides' records are kept in window stores; the result stream has no
// value serde. joiner may be called from several tasks at once.
func JoinStreams[K, V1, V2, VR any](left Stream[K, V1], right Stream[K, V2], joiner func(key K, left V1, right V2) VR, w JoinWindows, cfg ...StreamJoined[K, V1, V2]) Stream[K, VR] {
	return joinStreams(left, right, func(k K, l *V1, r *V2) VR { return joiner(k, *l, *r) }, w, false, false, cfg)
}

// LeftJoinStreams is JoinStreams that also emits each left record that
// joined no right record, with a nil right value, once its window has
// closed: when stream time passes its timestamp+After+Grace (Kafka's
// KStream.leftJoin, with KIP-633's emit-after-window-close). A left record
// is emitted either joined or unjoined, never both.
func LeftJoinStreams[K, V1, V2, VR any](left Stream[K, V1], right Stream[K, V2], joiner func(key K, left V1, right *V2) VR, w JoinWindows, cfg ...StreamJoined[K, V1, V2]) Stream[K, VR] {
	return joinStreams(left, right, func(k K, l *V1, r *V2) VR { return joiner(k, *l, r) }, w, true, false, cfg)
}

// OuterJoinStreams is LeftJoinStreams for both sides: a right record that
// joined nothing is emitted with a nil left value when stream time passes
// its timestamp+Before+Grace (Kafka's KStream.outerJoin). Exactly one of
// the joiner's values is nil for an unjoined record, neither for a pair.
func OuterJoinStreams[K, V1, V2, VR any](left Stream[K, V1], right Stream[K, V2], joiner func(key K, left *V1, right *V2) VR, w JoinWindows, cfg ...StreamJoined[K, V1, V2]) Stream[K, VR] {
	return joinStreams(left, right, joiner, w, true, true, cfg)
}

// ssJoin is what a stream-stream join's two processors share, for every
// task: the windows in milliseconds, the serdes, the joiner, the store
// names, and each task's clock.
type ssJoin[K, V1, V2, VR any] struct {
	beforeMs, afterMs, graceMs int64
	rightOuter                 bool // a left join keeps only left records unjoined
	joiner                     func(K, *V1, *V2) VR
	keys                       Serde[K]
	left                       Serde[V1]
	right                      Serde[V2]
	leftStore, rightStore      string
	outerStore                 string // "" for an inner join
	clocks                     joinClocks
}

// joinClock is a task's stream time of one join, over both sides (Kafka's
// shared time tracker), and a lower bound of the timestamps in its outer
// store. It lives in memory: a task rebuilt after a restart or an abort
// starts it over from the records it processes, so records are taken as
// late only against what the task has seen since.
type joinClock struct {
	streamTime int64 // math.MinInt64 before any record
	// earliest bounds the outer store's timestamps from below, so that
	// the store is scanned only when something in it may have closed;
	// math.MinInt64 until the first scan.
	earliest int64
}

// joinClocks hands the two processors of a join in one task the same
// clock. Tasks are built on several threads at once, hence the lock; a
// clock itself is used only by its task's goroutine.
type joinClocks struct {
	mu     sync.Mutex
	byTask map[*task]*joinClock
}

func (c *joinClocks) of(t *task) *joinClock {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clock := c.byTask[t]; clock != nil {
		return clock
	}
	if c.byTask == nil {
		c.byTask = make(map[*task]*joinClock)
	}
	clock := &joinClock{streamTime: math.MinInt64, earliest: math.MinInt64}
	c.byTask[t] = clock
	t.closers = append(t.closers, func() error {
		c.mu.Lock()
		delete(c.byTask, t)
		c.mu.Unlock()
		return nil
	})
	return clock
}

// streamJoinSerdes picks the serdes of a join: the configured ones, else
// the streams' own.
func streamJoinSerdes[K, V1, V2 any](left Stream[K, V1], right Stream[K, V2], cfgs []StreamJoined[K, V1, V2]) StreamJoined[K, V1, V2] {
	var cfg StreamJoined[K, V1, V2]
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	if len(cfgs) > 1 {
		left.b.t.fail(fmt.Errorf("%w: a stream-stream join takes at most one StreamJoined", ErrTopology))
	}
	if cfg.Keys == nil {
		cfg.Keys = left.keys
	}
	if cfg.Keys == nil {
		cfg.Keys = right.keys
	}
	if cfg.Left == nil {
		cfg.Left = left.vals
	}
	if cfg.Right == nil {
		cfg.Right = right.vals
	}
	if cfg.Keys == nil || cfg.Left == nil || cfg.Right == nil {
		left.b.t.fail(fmt.Errorf("%w: a stream-stream join needs serdes for the key and both values: give them in StreamJoined", ErrTopology))
	}
	return cfg
}

// joinStreamNames are the node and store names of a stream-stream join,
// as Kafka Streams makes them.
type joinStreamNames struct {
	this, other, merge                string
	thisStore, otherStore, outerStore string
	leftRepartition, rightRepartition string
}

func newJoinStreamNames(t *Topology, storeName string, leftOuter, rightOuter bool) joinStreamNames {
	thisPrefix, thisSuffix := "KSTREAM-JOINTHIS-", "-this-join"
	if rightOuter {
		thisPrefix, thisSuffix = "KSTREAM-OUTERTHIS-", "-outer-this-join"
	}
	otherPrefix, otherSuffix := "KSTREAM-JOINOTHER-", "-other-join"
	if leftOuter {
		otherPrefix, otherSuffix = "KSTREAM-OUTEROTHER-", "-outer-other-join"
	}
	sharedSuffix := "-left-shared-join"
	if rightOuter {
		sharedSuffix = "-outer-shared-join"
	}
	n := joinStreamNames{this: t.generatedName(thisPrefix)}
	n.other = t.generatedName(otherPrefix)
	n.merge = t.generatedName("KSTREAM-MERGE-")
	n.thisStore, n.otherStore = n.this+"-store", n.other+"-store"
	n.outerStore = "KSTREAM-OUTERSHARED-" + n.this[len(thisPrefix):] + "-store"
	if storeName != "" {
		n.thisStore = storeName + thisSuffix + "-store"
		n.otherStore = storeName + otherSuffix + "-store"
		n.outerStore = storeName + sharedSuffix + "-store"
		n.leftRepartition, n.rightRepartition = storeName+"-left", storeName+"-right"
	}
	return n
}

// coPartition repartitions a stream whose key was changed upstream, so
// that records of a key meet those of the other side in one task. name
// names the topic; "" generates one.
func coPartition[K, V any](s Stream[K, V], name string, keys Serde[K], values Serde[V]) Stream[K, V] {
	if !s.rekeyed {
		return s
	}
	if name == "" {
		name = s.b.t.generatedName("KSTREAM-REPARTITION-")
	}
	return repartition(s, name, keys, values, 0)
}

func joinStreams[K, V1, V2, VR any](left Stream[K, V1], right Stream[K, V2], joiner func(K, *V1, *V2) VR, w JoinWindows, leftOuter, rightOuter bool, cfgs []StreamJoined[K, V1, V2]) Stream[K, VR] {
	b := left.b
	if right.b != b {
		b.t.fail(fmt.Errorf("%w: joined streams come from different builders", ErrTopology))
	}
	if err := w.validate(); err != nil {
		b.t.fail(err)
	}
	cfg := streamJoinSerdes(left, right, cfgs)
	names := newJoinStreamNames(b.t, cfg.StoreName, leftOuter, rightOuter)
	left = coPartition(left, names.leftRepartition, cfg.Keys, cfg.Left)
	right = coPartition(right, names.rightRepartition, cfg.Keys, cfg.Right)
	j := &ssJoin[K, V1, V2, VR]{
		beforeMs: w.Before.Milliseconds(), afterMs: w.After.Milliseconds(), graceMs: w.Grace.Milliseconds(),
		rightOuter: rightOuter, joiner: joiner,
		keys: cfg.Keys, left: cfg.Left, right: cfg.Right,
		leftStore: names.thisStore, rightStore: names.otherStore,
	}
	if leftOuter || rightOuter {
		j.outerStore = names.outerStore
	}
	this := addJoinNode(b, names.this, left.n, func(t *task, out forwarder[K, VR]) (receiver[K, V1], error) {
		return newJoinSide(t, j, out, sideParams[K, V1, V2, VR]{
			name: names.this, this: j.leftStore, other: j.rightStore, thisValues: j.left, otherValues: j.right,
			backward: j.beforeMs, forward: j.afterMs, thisSide: joinSideLeft, thisOuter: leftOuter, otherOuter: rightOuter,
			join: j.joiner,
		})
	})
	other := addJoinNode(b, names.other, right.n, func(t *task, out forwarder[K, VR]) (receiver[K, V2], error) {
		return newJoinSide(t, j, out, sideParams[K, V2, V1, VR]{
			name: names.other, this: j.rightStore, other: j.leftStore, thisValues: j.right, otherValues: j.left,
			backward: j.afterMs, forward: j.beforeMs, thisSide: joinSideRight, thisOuter: rightOuter, otherOuter: leftOuter,
			join: func(k K, r *V2, l *V1) VR { return j.joiner(k, l, r) },
		})
	})
	retention := w.retention()
	b.t.AddStateStore(newJoinWindowStore(j.leftStore, cfg.Keys, cfg.Left, retention, cfg.StoreOptions), this.name, other.name)
	b.t.AddStateStore(newJoinWindowStore(j.rightStore, cfg.Keys, cfg.Right, retention, cfg.StoreOptions), this.name, other.name)
	if j.outerStore != "" {
		b.t.AddStateStore(newJoinOuterStore(j.outerStore, cfg.StoreOptions), this.name, other.name)
	}
	merge := &node{name: names.merge, kind: kindProcessor}
	merge.instantiate = func(_ *task, children []any) (any, error) {
		out, err := childReceivers[K, VR](merge, children)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, VR](out.forward), nil
	}
	b.t.addNode(merge, this, other)
	return Stream[K, VR]{b: b, n: merge, keys: cfg.Keys}
}

// addJoinNode adds a join processor whose instance make builds for a task.
func addJoinNode[K, VIn, VOut any](b *Builder, name string, parent *node, make func(t *task, out forwarder[K, VOut]) (receiver[K, VIn], error)) *node {
	n := &node{name: name, kind: kindProcessor}
	n.instantiate = func(t *task, children []any) (any, error) {
		out, err := childReceivers[K, VOut](n, children)
		if err != nil {
			return nil, err
		}
		return make(t, out)
	}
	b.t.addNode(n, parent)
	return n
}

// sideParams is one side of a join seen from that side: its records are
// "this", the other side's "other". A record at t of this side joins the
// other side's records in [t-backward, t+forward], and its window ends at
// t+forward: for the left side backward is Before and forward After, for
// the right side the reverse.
type sideParams[K, VThis, VOther, VR any] struct {
	name                  string
	this, other           string // store names
	thisValues            Serde[VThis]
	otherValues           Serde[VOther]
	backward, forward     int64
	thisSide              byte
	thisOuter, otherOuter bool
	join                  func(key K, this *VThis, other *VOther) VR
}

// joinSide is one side's processor of a stream-stream join in one task.
type joinSide[K, VThis, VOther, VR any] struct {
	sideParams[K, VThis, VOther, VR]
	task    *task
	graceMs int64
	clock   *joinClock
	thisWS  *joinWindowStore[K, VThis]
	otherWS *joinWindowStore[K, VOther]
	outer   *joinOuterStore // nil for an inner join
	out     forwarder[K, VR]
	// closeWindows emits the records of the outer store whose window has
	// closed.
	closeWindows func() error
}

func newJoinSide[K, V1, V2, VThis, VOther, VR any](t *task, j *ssJoin[K, V1, V2, VR], out forwarder[K, VR], p sideParams[K, VThis, VOther, VR]) (receiver[K, VThis], error) {
	s := &joinSide[K, VThis, VOther, VR]{sideParams: p, task: t, graceMs: j.graceMs, clock: j.clocks.of(t), out: out}
	var err error
	if s.thisWS, err = joinWindowStoreOf[K, VThis](t, p.this); err != nil {
		return nil, err
	}
	if s.otherWS, err = joinWindowStoreOf[K, VOther](t, p.other); err != nil {
		return nil, err
	}
	if j.outerStore != "" {
		st, err := t.store(j.outerStore)
		if err != nil {
			return nil, err
		}
		outer, ok := st.(*joinOuterStore)
		if !ok {
			return nil, fmt.Errorf("%w: %q is a %T, not an outer join store", ErrUnknownStore, j.outerStore, st)
		}
		s.outer = outer
		s.closeWindows = func() error { return j.closeWindows(t, s.clock, outer, out) }
	}
	return s, nil
}

func joinWindowStoreOf[K, V any](t *task, name string) (*joinWindowStore[K, V], error) {
	st, err := t.store(name)
	if err != nil {
		return nil, err
	}
	ws, ok := st.(*joinWindowStore[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a join window store", ErrUnknownStore, name, st)
	}
	return ws, nil
}

func (s *joinSide[K, VThis, VOther, VR]) receive(r Record[K, VThis]) {
	if s.task.err != nil {
		return
	}
	if err := s.process(r); err != nil {
		s.task.fail(fmt.Errorf("join %q: %w", s.name, err))
	}
}

// process joins one record: stream time moves first and closes windows,
// then the record, unless late, joins the other side's records whose
// windows are still open and is kept for the other side's records to come.
func (s *joinSide[K, VThis, VOther, VR]) process(r Record[K, VThis]) error {
	ts := toMillis(r.Timestamp)
	c := s.clock
	c.streamTime = max(c.streamTime, ts)
	if r.Tombstone {
		return nil // a null value joins nothing, as in Kafka
	}
	if s.closeWindows != nil {
		if err := s.closeWindows(); err != nil {
			return err
		}
	}
	if ts+s.forward+s.graceMs < c.streamTime {
		s.task.env.counters.droppedLate.Add(1)
		return nil
	}
	rawKey, err := s.thisWS.keys.Serialize(s.thisWS.topic, r.Key)
	if err != nil {
		return err
	}
	// The other side's records whose windows are open: those at or after
	// stream time - backward - grace, since the other side's window looks
	// forward by this side's backward.
	from := max(ts-s.backward, c.streamTime-s.backward-s.graceMs)
	matches, err := s.otherWS.fetch(rawKey, from, ts+s.forward)
	if err != nil {
		return err
	}
	if err := s.emitJoined(r, rawKey, matches); err != nil {
		return err
	}
	if len(matches) == 0 && s.thisOuter {
		raw, err := encodeJoinValue(s.thisValues, s.thisWS.topic, r.Value)
		if err != nil {
			return err
		}
		if err := s.outer.add(ts, s.thisSide, rawKey, raw); err != nil {
			return err
		}
		c.earliest = min(c.earliest, ts)
	}
	_, err = s.thisWS.put(rawKey, ts, r.Value)
	return err
}

// emitJoined forwards the record joined with each match, and takes the
// matches out of the outer store: they are joined now.
func (s *joinSide[K, VThis, VOther, VR]) emitJoined(r Record[K, VThis], rawKey []byte, matches []joinMatch[VOther]) error {
	ts := toMillis(r.Timestamp)
	for i, m := range matches {
		if s.otherOuter && (i == 0 || m.ts != matches[i-1].ts) {
			if err := s.outer.remove(m.ts, otherSide(s.thisSide), rawKey); err != nil {
				return err
			}
		}
		this, other := r.Value, m.value
		joined := Record[K, VR]{Key: r.Key, Value: s.join(r.Key, &this, &other), Timestamp: fromMillis(max(ts, m.ts)), Headers: r.Headers}
		forwardAt(s.task, s.out, joined)
	}
	return nil
}

// closeWindows emits, unjoined, the records of the outer store whose
// window has closed at the task's stream time, and deletes them. A left
// record's window closes after its timestamp+After+Grace, a right
// record's after its timestamp+Before+Grace.
func (j *ssJoin[K, V1, V2, VR]) closeWindows(t *task, c *joinClock, outer *joinOuterStore, out forwarder[K, VR]) error {
	lookMs := j.afterMs // only left records are kept in a left join
	if j.rightOuter {
		lookMs = min(j.beforeMs, j.afterMs)
	}
	end := c.streamTime - lookMs - j.graceMs // nothing at or after end has closed
	if c.earliest != math.MinInt64 && c.earliest >= end {
		return nil
	}
	closed := func(ts int64, side byte) bool {
		if side == joinSideLeft {
			return ts+j.afterMs+j.graceMs < c.streamTime
		}
		return ts+j.beforeMs+j.graceMs < c.streamTime
	}
	entries, earliest, err := outer.takeBefore(end, closed)
	if err != nil {
		return err
	}
	c.earliest = earliest
	for _, e := range entries {
		r, err := j.unjoined(outer, e)
		if err != nil {
			return err
		}
		forwardAt(t, out, r)
	}
	return nil
}

// unjoined makes the result of a record that joined nothing.
func (j *ssJoin[K, V1, V2, VR]) unjoined(outer *joinOuterStore, e joinOuterEntry) (Record[K, VR], error) {
	var r Record[K, VR]
	key, err := j.keys.Deserialize(outer.topic, e.rawKey)
	if err != nil {
		return r, err
	}
	r.Key, r.Timestamp = key, fromMillis(e.ts)
	if e.side == joinSideLeft {
		l, err := decodeJoinValue(j.left, outer.topic, e.value)
		if err != nil {
			return r, err
		}
		r.Value = j.joiner(key, &l, nil)
		return r, nil
	}
	v, err := decodeJoinValue(j.right, outer.topic, e.value)
	if err != nil {
		return r, err
	}
	r.Value = j.joiner(key, nil, &v)
	return r, nil
}

func otherSide(side byte) byte {
	if side == joinSideLeft {
		return joinSideRight
	}
	return joinSideLeft
}

// forwardAt forwards a record made by a join, with its timestamp as the
// task's current time, so that changelog writes downstream carry it.
func forwardAt[K, V any](t *task, out forwarder[K, V], r Record[K, V]) {
	saved := t.currentTime
	t.currentTime = toMillis(r.Timestamp)
	out.forward(r)
	t.currentTime = saved
}
