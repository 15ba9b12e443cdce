package streams

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// ForeignKeyJoin joins each row of table t with the row of table other
// whose key foreignKey extracts from the row's value (KIP-213, Kafka's
// KTable.join(KTable, Function, ValueJoiner)). The result has t's keys and
// holds a row for each row of t whose foreign key other holds. The tables
// need not be co-partitioned.
//
// How it works, as in Kafka: each change of t sends a subscription,
// keyed by the foreign key, through the SUBSCRIPTION-REGISTRATION topic to
// the tasks of other, which keep the subscriptions in a store keyed by
// foreign key and primary key. A subscription, and each change of other
// (found by a prefix scan of that store), sends other's value back through
// the SUBSCRIPTION-RESPONSE topic to the partition of t's row. Every
// subscription carries a 128-bit murmur3 hash of the row's value; a
// response whose hash is not that of the row's current value is stale (the
// row changed since) and is dropped, so an old foreign value never
// overwrites a newer join.
//
// t and other need key and value serdes (tables read with TableFrom or
// made by an aggregation have them): the keys and values cross topics, and
// t's values are hashed. resultSerde and opts are those of the store
// holding the result.
func ForeignKeyJoin[K, V, KO, VO, VR any](t Table[K, V], other Table[KO, VO], foreignKey func(value V) KO, joiner func(key K, value V, otherValue VO) VR, resultSerde Serde[VR], opts ...StoreOption) Table[K, VR] {
	return foreignKeyJoin(t, other, foreignKey, false, func(k K, v V, o *VO) VR { return joiner(k, v, *o) }, resultSerde, opts)
}

// ForeignKeyLeftJoin is ForeignKeyJoin that keeps every row of t: when
// other has no row under its foreign key, joiner receives a nil other
// value (Kafka's KTable.leftJoin(KTable, Function, ...)).
func ForeignKeyLeftJoin[K, V, KO, VO, VR any](t Table[K, V], other Table[KO, VO], foreignKey func(value V) KO, joiner func(key K, value V, otherValue *VO) VR, resultSerde Serde[VR], opts ...StoreOption) Table[K, VR] {
	return foreignKeyJoin(t, other, foreignKey, true, joiner, resultSerde, opts)
}

// fkJoin is what the nodes of one foreign-key join share.
type fkJoin[K, V, KO, VO any] struct {
	left       Table[K, V]
	right      Table[KO, VO]
	foreignKey func(V) KO
	leftJoin   bool
	// The suffixes of the internal topics, and the resolved names that
	// the serdes are given: the topics themselves for keys and values, and
	// Kafka's pseudo-topic "<registration topic>-vh" for value hashes.
	subscriptionSuffix, responseSuffix string
	subscriptionTopic, responseTopic   func(t *task) string
	valueHashTopic                     func(t *task) string
	subscriptionStore                  string
	subscriptions                      Serde[fkSubscription]
	responses                          Serde[fkResponse]
	// answerNode and foreignNode write to the response topic.
	answerNode, foreignNode *node
}

func foreignKeyJoin[K, V, KO, VO, VR any](left Table[K, V], right Table[KO, VO], foreignKey func(V) KO, leftJoin bool, joiner func(K, V, *VO) VR, resultSerde Serde[VR], opts []StoreOption) Table[K, VR] {
	b := left.b
	if right.b != b {
		b.t.fail(fmt.Errorf("%w: a foreign-key join of tables of two builders", ErrTopology))
	}
	if left.keys == nil || left.vals == nil || right.keys == nil || right.vals == nil || resultSerde == nil {
		b.t.fail(fmt.Errorf("%w: a foreign-key join needs the key and value serdes of both tables, and a result serde", ErrTopology))
	}
	if left.getter == nil || right.getter == nil {
		b.t.fail(fmt.Errorf("%w: a foreign-key join needs tables whose values it can look up", ErrTopology))
	}
	j := &fkJoin[K, V, KO, VO]{left: left, right: right, foreignKey: foreignKey, leftJoin: leftJoin,
		subscriptions: fkSubscriptionSerde{}, responses: fkResponseSerde{}}
	j.subscriptionSuffix = b.t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-") + "-topic"
	j.subscriptionTopic = func(t *task) string { return t.env.resolve(j.subscriptionSuffix, true) }
	j.valueHashTopic = func(t *task) string { return t.env.resolve(j.subscriptionSuffix+"-vh", true) }
	j.addSubscriptionSender()
	j.addSubscriptionReceiver()
	j.responseSuffix = b.t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-") + "-topic"
	j.responseTopic = func(t *task) string { return t.env.resolve(j.responseSuffix, true) }
	j.addResponseSink()
	return addResponseResolver(j, joiner, resultSerde, opts)
}

// fkTopicConfigs are those of the two topics of a foreign-key join,
// which are repartition topics.
func fkTopicConfigs() map[string]string {
	return map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}
}

// The instructions of a subscription, as Kafka numbers them.
const (
	// fkDeleteNoPropagate removes the subscription and answers nothing.
	fkDeleteNoPropagate byte = 0
	// fkDeleteAndPropagate removes the subscription and answers "no
	// foreign value", to delete the result (or left-join it with none).
	fkDeleteAndPropagate byte = 1
	// fkPropagateNullIfNoValue subscribes and answers the foreign value, or
	// "none" when there is none: the row's result must be replaced.
	fkPropagateNullIfNoValue byte = 2
	// fkPropagateOnlyIfValue subscribes and answers only when there is a
	// foreign value: a new row of an inner join has no result to replace.
	fkPropagateOnlyIfValue byte = 3
)

// addSubscriptionSender adds, on t's side, the node that turns each change
// of t into subscriptions to the foreign keys of its old and new values,
// and the sink of the registration topic.
func (j *fkJoin[K, V, KO, VO]) addSubscriptionSender() {
	b := j.left.b
	n := &node{name: b.t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-"), kind: kindProcessor}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[[]byte, fkSubscription](n, children)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) {
			if tk.err == nil {
				if err := j.subscribe(tk, r, out); err != nil {
					tk.fail(fmt.Errorf("%s: %w", n.name, err))
				}
			}
		}), nil
	}
	b.t.addNode(n, j.left.n)
	b.t.internalTopics[j.subscriptionSuffix] = &internalTopic{suffix: j.subscriptionSuffix, configs: fkTopicConfigs()}
	addSink(b.t, b.t.generatedName("KTABLE-SINK-"), j.subscriptionSuffix, true, sinkOptions[[]byte, fkSubscription]{keys: Bytes, values: j.subscriptions}, n)
}

// subscribe sends the subscriptions of one change of t, with Kafka's
// instructions: a row whose foreign key changed unsubscribes from the old
// one (telling a left join's result to drop the old match), a deleted row
// unsubscribes and deletes its result.
func (j *fkJoin[K, V, KO, VO]) subscribe(tk *task, r Record[K, change[V]], out forwarder[[]byte, fkSubscription]) error {
	c := r.Value
	pk, err := j.left.keys.Serialize(j.responseTopic(tk), r.Key)
	if err != nil {
		return err
	}
	sub := fkSubscription{partition: tk.id.Partition, primaryKey: pk}
	if c.hasNew {
		if sub.hash, err = j.hashOf(tk, c.newValue); err != nil {
			return err
		}
	}
	var oldFK, newFK []byte
	if c.hasOld {
		if oldFK, err = j.right.keys.Serialize(j.subscriptionTopic(tk), j.foreignKey(c.oldValue)); err != nil {
			return err
		}
	}
	if c.hasNew {
		if newFK, err = j.right.keys.Serialize(j.subscriptionTopic(tk), j.foreignKey(c.newValue)); err != nil {
			return err
		}
	}
	send := func(fk []byte, instruction byte) {
		s := sub
		s.instruction = instruction
		out.forward(Record[[]byte, fkSubscription]{Key: fk, Value: s, Timestamp: r.Timestamp, Headers: r.Headers})
	}
	switch {
	case c.hasOld && !c.hasNew:
		send(oldFK, fkDeleteAndPropagate)
	case c.hasOld:
		if !bytes.Equal(oldFK, newFK) {
			if j.leftJoin {
				send(oldFK, fkDeleteAndPropagate)
			} else {
				send(oldFK, fkDeleteNoPropagate)
			}
		}
		send(newFK, fkPropagateNullIfNoValue)
	case c.hasNew && j.leftJoin:
		send(newFK, fkPropagateNullIfNoValue)
	case c.hasNew:
		send(newFK, fkPropagateOnlyIfValue)
	}
	return nil
}

func (j *fkJoin[K, V, KO, VO]) hashOf(tk *task, v V) (valueHash, error) {
	data, err := j.left.vals.Serialize(j.valueHashTopic(tk), v)
	if err != nil {
		return valueHash{}, err
	}
	return hashValue(data), nil
}

// addSubscriptionReceiver adds, on other's side, the source of the
// registration topic, the subscription store, the node that keeps it and
// answers each subscription with other's current value, and the node that
// answers every subscriber of a key of other when that key changes.
func (j *fkJoin[K, V, KO, VO]) addSubscriptionReceiver() {
	t := j.left.b.t
	src := &node{name: t.generatedName("KTABLE-SOURCE-"), kind: kindSource, topics: []string{j.subscriptionSuffix}, internal: true}
	src.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[[]byte, fkSubscription](src, children)
		if err != nil {
			return nil, err
		}
		return &sourceNode[[]byte, fkSubscription]{task: tk, node: src, keys: Bytes, values: j.subscriptions, out: out}, nil
	}
	t.addNode(src)
	j.subscriptionStore = t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-")
	receive := &node{name: t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-"), kind: kindProcessor}
	receive.instantiate = func(tk *task, children []any) (any, error) {
		return j.newSubscriptionProcessor(tk, receive, children)
	}
	t.addNode(receive, src)
	j.answerNode = receive
	foreign := &node{name: t.generatedName("KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-"), kind: kindProcessor}
	foreign.instantiate = func(tk *task, children []any) (any, error) {
		return j.newForeignChangeProcessor(tk, foreign, children)
	}
	t.addNode(foreign, j.right.n)
	j.foreignNode = foreign
	def := newStoreDef(j.subscriptionStore, storeKeyValue, nil)
	def.caching = false
	def.newTyped = func(_ *task, kv store.KeyValue) StateStore { return &bytesStore{def: def, kv: kv} }
	t.AddStateStore(def, receive.name, foreign.name)
	for _, name := range j.right.getterStores {
		t.ConnectStore(name, receive.name)
	}
}

// newSubscriptionProcessor makes a task's instance of the node that keeps
// the subscription store and answers each subscription.
func (j *fkJoin[K, V, KO, VO]) newSubscriptionProcessor(tk *task, n *node, children []any) (any, error) {
	out, err := childReceivers[[]byte, fkResponse](n, children)
	if err != nil {
		return nil, err
	}
	subs, err := bytesStoreOf(tk, j.subscriptionStore)
	if err != nil {
		return nil, err
	}
	get, err := j.right.getter(tk)
	if err != nil {
		return nil, err
	}
	return receiverFunc[[]byte, fkSubscription](func(r Record[[]byte, fkSubscription]) {
		if tk.err != nil {
			return
		}
		resp, ok, err := j.answer(tk, subs, get, r)
		if err != nil {
			tk.fail(fmt.Errorf("%s: %w", n.name, err))
			return
		}
		if ok {
			out.forward(resp)
		}
	}), nil
}

// answer applies one subscription to the store and makes its response,
// if it has one.
func (j *fkJoin[K, V, KO, VO]) answer(tk *task, subs *bytesStore, get valueGetter[KO, VO], r Record[[]byte, fkSubscription]) (Record[[]byte, fkResponse], bool, error) {
	s := r.Value
	key := combinedKey(r.Key, s.primaryKey)
	var err error
	if s.instruction == fkDeleteNoPropagate || s.instruction == fkDeleteAndPropagate {
		err = subs.kv.Delete(key)
	} else {
		err = subs.kv.Put(key, encodeStoredSubscription(s))
	}
	resp := Record[[]byte, fkResponse]{Key: s.primaryKey, Value: fkResponse{hash: s.hash, partition: s.partition}, Timestamp: r.Timestamp, Headers: r.Headers}
	if err != nil || s.instruction == fkDeleteNoPropagate {
		return resp, false, err
	}
	if s.instruction == fkDeleteAndPropagate {
		return resp, true, nil
	}
	fk, err := j.right.keys.Deserialize(j.subscriptionTopic(tk), r.Key)
	if err != nil {
		return resp, false, err
	}
	other, found, err := get(fk)
	if err != nil {
		return resp, false, err
	}
	if found {
		if resp.Value.value, err = j.right.vals.Serialize(j.responseTopic(tk), other.Value); err != nil {
			return resp, false, err
		}
		resp.Value.hasValue = resp.Value.value != nil
		resp.Timestamp = fromMillis(max(toMillis(r.Timestamp), other.Timestamp))
	}
	return resp, resp.Value.hasValue || s.instruction == fkPropagateNullIfNoValue, nil
}

// newForeignChangeProcessor makes a task's instance of the node that
// answers every subscriber of a key of other when the key's value changes.
func (j *fkJoin[K, V, KO, VO]) newForeignChangeProcessor(tk *task, n *node, children []any) (any, error) {
	out, err := childReceivers[[]byte, fkResponse](n, children)
	if err != nil {
		return nil, err
	}
	subs, err := bytesStoreOf(tk, j.subscriptionStore)
	if err != nil {
		return nil, err
	}
	return receiverFunc[KO, change[VO]](func(r Record[KO, change[VO]]) {
		if tk.err != nil {
			return
		}
		responses, err := j.subscribers(tk, subs, r)
		if err != nil {
			tk.fail(fmt.Errorf("%s: %w", n.name, err))
			return
		}
		for _, resp := range responses {
			out.forward(resp)
		}
	}), nil
}

// subscribers makes the responses to every subscription of r's key, from
// a prefix scan of the subscription store.
func (j *fkJoin[K, V, KO, VO]) subscribers(tk *task, subs *bytesStore, r Record[KO, change[VO]]) ([]Record[[]byte, fkResponse], error) {
	fk, err := j.right.keys.Serialize(j.subscriptionTopic(tk), r.Key)
	if err != nil {
		return nil, err
	}
	template := fkResponse{}
	if r.Value.hasNew {
		if template.value, err = j.right.vals.Serialize(j.responseTopic(tk), r.Value.newValue); err != nil {
			return nil, err
		}
		template.hasValue = template.value != nil
	}
	prefix := combinedKey(fk, nil)
	it, err := subs.kv.Range(prefix, prefixEnd(prefix))
	if err != nil {
		return nil, err
	}
	var out []Record[[]byte, fkResponse]
	for it.Next() {
		resp := template
		if resp.hash, resp.partition, err = decodeStoredSubscription(it.Value()); err != nil {
			break
		}
		pk := bytes.Clone(it.Key()[len(prefix):])
		out = append(out, Record[[]byte, fkResponse]{Key: pk, Value: resp, Timestamp: r.Timestamp, Headers: r.Headers})
	}
	return out, errors.Join(err, it.Err(), it.Close())
}

// addResponseSink adds the sink that sends responses to the partition of
// the subscribing row, which the subscription names.
func (j *fkJoin[K, V, KO, VO]) addResponseSink() {
	t := j.left.b.t
	t.internalTopics[j.responseSuffix] = &internalTopic{suffix: j.responseSuffix, configs: fkTopicConfigs()}
	n := &node{name: t.generatedName("KTABLE-SINK-"), kind: kindSink, internal: true, topics: []string{j.responseSuffix}}
	n.instantiate = func(tk *task, _ []any) (any, error) {
		topic := j.responseTopic(tk)
		return receiverFunc[[]byte, fkResponse](func(r Record[[]byte, fkResponse]) {
			if tk.err != nil {
				return
			}
			value, err := j.responses.Serialize(topic, r.Value)
			if err != nil {
				tk.fail(fmt.Errorf("sink %q: %w", n.name, err))
				return
			}
			tk.env.collector.send(topic, r.Value.partition, r.Key, value, r.Headers, toMillis(r.Timestamp))
		}), nil
	}
	t.addNode(n, j.answerNode, j.foreignNode)
}

// addResponseResolver adds, on t's side, the source of the response topic
// and the node that drops stale responses, joins the others with the row's
// current value and keeps the result table.
func addResponseResolver[K, V, KO, VO, VR any](j *fkJoin[K, V, KO, VO], joiner func(K, V, *VO) VR, resultSerde Serde[VR], opts []StoreOption) Table[K, VR] {
	b := j.left.b
	t := b.t
	src := &node{name: t.generatedName("KTABLE-SOURCE-"), kind: kindSource, topics: []string{j.responseSuffix}, internal: true}
	src.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, fkResponse](src, children)
		if err != nil {
			return nil, err
		}
		return &sourceNode[K, fkResponse]{task: tk, node: src, keys: j.left.keys, values: j.responses, out: out}, nil
	}
	t.addNode(src)
	def := newTableStore(t.generatedName("KTABLE-FK-JOIN-OUTPUT-STATE-STORE-"), j.left.keys, resultSerde, opts)
	n := &node{name: t.generatedName("KTABLE-FK-JOIN-OUTPUT-"), kind: kindProcessor}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, change[VR]](n, children)
		if err != nil {
			return nil, err
		}
		w, err := newTableWriter[K, VR](tk, def.name, out)
		if err != nil {
			return nil, err
		}
		get, err := j.left.getter(tk)
		if err != nil {
			return nil, err
		}
		return receiverFunc[K, fkResponse](func(r Record[K, fkResponse]) {
			if tk.err == nil {
				if err := resolve(j, tk, get, w, joiner, r); err != nil {
					tk.fail(fmt.Errorf("%s: %w", n.name, err))
				}
			}
		}), nil
	}
	t.addNode(n, src)
	t.AddStateStore(def, n.name)
	for _, name := range j.left.getterStores {
		t.ConnectStore(name, n.name)
	}
	return Table[K, VR]{b: b, n: n, keys: j.left.keys, vals: resultSerde, store: def.name, getter: storeGetter[K, VR](def.name), getterStores: []string{def.name}}
}

// resolve handles one response: dropped when its hash is not that of the
// row's current value, else joined with it into the result table.
func resolve[K, V, KO, VO, VR any](j *fkJoin[K, V, KO, VO], tk *task, get valueGetter[K, V], w *tableWriter[K, VR], joiner func(K, V, *VO) VR, r Record[K, fkResponse]) error {
	current, found, err := get(r.Key)
	if err != nil {
		return err
	}
	var currentHash valueHash
	if found {
		if currentHash, err = j.hashOf(tk, current.Value); err != nil {
			return err
		}
	}
	if currentHash != r.Value.hash {
		return nil // stale: the row changed since the subscription
	}
	ts := toMillis(r.Timestamp)
	if !found || !r.Value.hasValue && !j.leftJoin {
		return w.write(r.Key, ValueAndTimestamp[VR]{Timestamp: ts}, true)
	}
	var other *VO
	if r.Value.hasValue {
		v, err := j.right.vals.Deserialize(j.responseTopic(tk), r.Value.value)
		if err != nil {
			return err
		}
		other = &v
	}
	return w.write(r.Key, ValueAndTimestamp[VR]{Value: joiner(r.Key, current.Value, other), Timestamp: ts}, false)
}

// bytesStore is a task's store that the DSL reads and writes as bytes:
// the subscription store of a foreign-key join.
type bytesStore struct {
	def *storeDef
	kv  store.KeyValue
}

func (s *bytesStore) Name() string { return s.def.name }

func (s *bytesStore) Persistent() bool { return s.def.persistent }

func bytesStoreOf(t *task, name string) (*bytesStore, error) {
	s, err := t.store(name)
	if err != nil {
		return nil, err
	}
	b, ok := s.(*bytesStore)
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a bytes store", ErrUnknownStore, name, s)
	}
	return b, nil
}

// combinedKey is the subscription store's key (Kafka's CombinedKey): the
// foreign key's length as uint32 BE, the foreign key, the primary key. The
// subscriptions of one foreign key share the prefix of the first two.
func combinedKey(fk, pk []byte) []byte {
	out := make([]byte, 0, 4+len(fk)+len(pk))
	out = binary.BigEndian.AppendUint32(out, uint32(len(fk)))
	return append(append(out, fk...), pk...)
}

// prefixEnd is the smallest key above every key starting with prefix.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // all 0xff: unbounded
}

// valueHash is the hash of a row's value that a subscription carries;
// ok is false for a deleted row, which has none.
type valueHash struct {
	sum [16]byte
	ok  bool
}

// murmur3Seed is Kafka's Murmur3 default seed.
const murmur3Seed = 104729

func hashValue(data []byte) valueHash {
	h1, h2 := murmur3x64(data, murmur3Seed)
	var h valueHash
	binary.BigEndian.PutUint64(h.sum[:8], h1)
	binary.BigEndian.PutUint64(h.sum[8:], h2)
	h.ok = true
	return h
}

// murmur3x64 is MurmurHash3's x64 128-bit variant.
func murmur3x64(data []byte, seed uint64) (h1, h2 uint64) {
	const c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
	h1, h2 = seed, seed
	n := len(data)
	for len(data) >= 16 {
		k1 := binary.LittleEndian.Uint64(data)
		k2 := binary.LittleEndian.Uint64(data[8:])
		h1 ^= bits.RotateLeft64(k1*c1, 31) * c2
		h1 = (bits.RotateLeft64(h1, 27)+h2)*5 + 0x52dce729
		h2 ^= bits.RotateLeft64(k2*c2, 33) * c1
		h2 = (bits.RotateLeft64(h2, 31)+h1)*5 + 0x38495ab5
		data = data[16:]
	}
	var k1, k2 uint64
	for i := len(data) - 1; i >= 0; i-- {
		if i >= 8 {
			k2 = k2<<8 | uint64(data[i])
		} else {
			k1 = k1<<8 | uint64(data[i])
		}
	}
	if len(data) > 8 {
		h2 ^= bits.RotateLeft64(k2*c2, 33) * c1
	}
	if len(data) > 0 {
		h1 ^= bits.RotateLeft64(k1*c1, 31) * c2
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1, h2 = fmix64(h1), fmix64(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// fkSubscription is a record of the registration topic, keyed by the
// foreign key.
type fkSubscription struct {
	instruction byte
	hash        valueHash
	partition   int32 // of the row's task, where the response goes
	primaryKey  []byte
}

// fkResponse is a record of the response topic, keyed by the primary key.
type fkResponse struct {
	hash      valueHash
	value     []byte // the foreign value when hasValue
	hasValue  bool
	partition int32 // where the sink sends it; not on the wire
}

// fkSubscriptionSerde is the registration topic's value format (Kafka's
// SubscriptionWrapper, version 1):
//
//	version      1 byte, 1
//	instruction  1 byte
//	hash flag    1 byte: 1 when a 16-byte hash follows
//	hash         16 bytes
//	partition    int32 BE, of the subscribing row
//	primary key  the rest
type fkSubscriptionSerde struct{}

const fkSubscriptionVersion = 1

func (fkSubscriptionSerde) Serialize(_ string, s fkSubscription) ([]byte, error) {
	out := make([]byte, 0, 23+len(s.primaryKey))
	out = append(out, fkSubscriptionVersion, s.instruction)
	out = appendHash(out, s.hash)
	out = binary.BigEndian.AppendUint32(out, uint32(s.partition))
	return append(out, s.primaryKey...), nil
}

func (fkSubscriptionSerde) Deserialize(topic string, data []byte) (fkSubscription, error) {
	var s fkSubscription
	if len(data) < 2 || data[0] != fkSubscriptionVersion || data[1] > fkPropagateOnlyIfValue {
		return s, fmt.Errorf("%w: a subscription in %q is not of version %d", ErrSerialization, topic, fkSubscriptionVersion)
	}
	s.instruction = data[1]
	hash, rest, ok := readHash(data[2:])
	if !ok || len(rest) < 4 {
		return s, fmt.Errorf("%w: a subscription in %q is truncated", ErrSerialization, topic)
	}
	s.hash, s.partition, s.primaryKey = hash, int32(binary.BigEndian.Uint32(rest)), rest[4:]
	return s, nil
}

// fkResponseSerde is the response topic's value format (Kafka's
// SubscriptionResponseWrapper):
//
//	version  1 byte, 0
//	flags    1 byte: 0x01 a hash follows, 0x02 a foreign value follows
//	hash     16 bytes
//	value    the foreign value, to the end
type fkResponseSerde struct{}

const (
	fkResponseVersion  = 0
	fkResponseHasHash  = 0x01
	fkResponseHasValue = 0x02
)

func (fkResponseSerde) Serialize(_ string, r fkResponse) ([]byte, error) {
	out := make([]byte, 2, 18+len(r.value))
	out[0] = fkResponseVersion
	if r.hash.ok {
		out[1] |= fkResponseHasHash
		out = append(out, r.hash.sum[:]...)
	}
	if r.hasValue {
		out[1] |= fkResponseHasValue
		out = append(out, r.value...)
	}
	return out, nil
}

func (fkResponseSerde) Deserialize(topic string, data []byte) (fkResponse, error) {
	var r fkResponse
	if len(data) < 2 || data[0] != fkResponseVersion || data[1]&^(fkResponseHasHash|fkResponseHasValue) != 0 {
		return r, fmt.Errorf("%w: a subscription response in %q is not of version %d", ErrSerialization, topic, fkResponseVersion)
	}
	flags, rest := data[1], data[2:]
	if flags&fkResponseHasHash != 0 {
		if len(rest) < 16 {
			return r, fmt.Errorf("%w: a subscription response in %q is truncated", ErrSerialization, topic)
		}
		r.hash.ok = true
		copy(r.hash.sum[:], rest)
		rest = rest[16:]
	}
	if flags&fkResponseHasValue != 0 {
		r.value, r.hasValue = rest, true
	} else if len(rest) > 0 {
		return r, fmt.Errorf("%w: a subscription response in %q has %d bytes too many", ErrSerialization, topic, len(rest))
	}
	return r, nil
}

// encodeStoredSubscription is the subscription store's value: the hash
// flag and hash, then the partition, as in the registration topic.
func encodeStoredSubscription(s fkSubscription) []byte {
	out := appendHash(make([]byte, 0, 21), s.hash)
	return binary.BigEndian.AppendUint32(out, uint32(s.partition))
}

func decodeStoredSubscription(data []byte) (valueHash, int32, error) {
	hash, rest, ok := readHash(data)
	if !ok || len(rest) != 4 {
		return hash, 0, fmt.Errorf("%w: a stored subscription of %d bytes", store.ErrCorrupt, len(data))
	}
	return hash, int32(binary.BigEndian.Uint32(rest)), nil
}

func appendHash(out []byte, h valueHash) []byte {
	if !h.ok {
		return append(out, 0)
	}
	return append(append(out, 1), h.sum[:]...)
}

func readHash(data []byte) (h valueHash, rest []byte, ok bool) {
	switch {
	case len(data) >= 1 && data[0] == 0:
		return h, data[1:], true
	case len(data) >= 17 && data[0] == 1:
		h.ok = true
		copy(h.sum[:], data[1:17])
		return h, data[17:], true
	}
	return h, nil, false
}
