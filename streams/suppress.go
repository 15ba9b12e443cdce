package streams

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// SuppressUntilWindowCloses holds back a windowed aggregation's updates and
// emits one final result per window when it closes: when stream time, as
// the updates reaching it carry it, passes the window's end plus the grace
// period (plus the inactivity gap for sessions) (Kafka's
// suppress(Suppressed.untilWindowCloses)). A window deleted before it
// closes, such as a session merged into another, is not emitted. The table
// must come from a windowed aggregation, through Filter and TableMapValues
// at most.
//
// The buffer is a store (in memory unless options say otherwise) with a
// changelog, so that it survives restarts; it is unbounded, as Kafka's
// BufferConfig.unbounded(): it holds every window not closed yet. After a
// restart updates of windows closed before it are ignored, so that no
// window is emitted twice.
func SuppressUntilWindowCloses[K, V any](t Table[Windowed[K], V], opts ...StoreOption) Table[Windowed[K], V] {
	wc, ok := findWindowClose(t.n)
	if !ok {
		t.b.t.fail(fmt.Errorf("%w: SuppressUntilWindowCloses needs a table made by a windowed aggregation", ErrTopology))
		wc = &windowClose{}
	}
	cfg := suppressConfig[Windowed[K]]{
		bufferTime:     func(key Windowed[K], _ int64) int64 { return toMillis(key.End) },
		afterMs:        wc.afterEndMs,
		finalResults:   true,
		dropTombstones: true,
	}
	return suppress(t, cfg, opts)
}

// SuppressUntilTimeLimit rate-limits a table's updates: the first update of
// a key is held for limit of stream time, during which later updates of the
// key replace it, and then the latest is emitted (Kafka's
// suppress(Suppressed.untilTimeLimit)). Deletes are emitted too. The buffer
// is unbounded and survives restarts, as SuppressUntilWindowCloses's does.
func SuppressUntilTimeLimit[K, V any](t Table[K, V], limit time.Duration, opts ...StoreOption) Table[K, V] {
	if limit < 0 {
		t.b.t.fail(fmt.Errorf("%w: SuppressUntilTimeLimit with negative limit %v", ErrTopology, limit))
	}
	cfg := suppressConfig[K]{
		bufferTime: func(_ K, recordMs int64) int64 { return recordMs },
		afterMs:    limit.Milliseconds(),
	}
	return suppress(t, cfg, opts)
}

// findWindowClose walks up from a table's node through single-parent table
// operators to the windowed aggregation that made it.
func findWindowClose(n *node) (*windowClose, bool) {
	for n != nil {
		if n.windowClose != nil {
			return n.windowClose, true
		}
		if n.kind != kindProcessor || len(n.parents) != 1 {
			return nil, false
		}
		n = n.parents[0]
	}
	return nil, false
}

// suppressConfig is what distinguishes the two suppressions.
type suppressConfig[K any] struct {
	// bufferTime is the time an entry is buffered under: the window end,
	// or the time of the update that first buffered the key.
	bufferTime func(key K, recordMs int64) int64
	// afterMs: an entry is emitted when stream time reaches its buffer
	// time plus afterMs.
	afterMs int64
	// finalResults ignores updates of entries that would be emitted at
	// once: windows already closed, which only a restart can bring back.
	finalResults bool
	// dropTombstones does not emit deletes: a window deleted before it
	// closed has no final result.
	dropTombstones bool
}

func suppress[K, V any](t Table[K, V], cfg suppressConfig[K], opts []StoreOption) Table[K, V] {
	b := t.b
	if t.keys == nil || t.vals == nil {
		b.t.fail(fmt.Errorf("%w: suppress needs the table's key and value serdes (a TableMapValues result has no value serde)", ErrTopology))
	}
	// Kafka Streams names the processor, then its store.
	n := &node{name: b.t.generatedName("KTABLE-SUPPRESS-"), kind: kindProcessor}
	def := newStoreDef(b.t.generatedName("KTABLE-SUPPRESS-STATE-STORE-"), storeKeyValue, append([]StoreOption{InMemory()}, opts...))
	def.newTyped = func(tk *task, kv store.KeyValue) StateStore {
		return &suppressBuffer{def: def, kv: kv, topic: tk.env.resolve(def.changelogSuffix(), true)}
	}
	n.instantiate = func(tk *task, children []any) (any, error) {
		out, err := childReceivers[K, change[V]](n, children)
		if err != nil {
			return nil, err
		}
		buf, err := suppressBufferOf(tk, def.name)
		if err != nil {
			return nil, err
		}
		p := &suppressProcessor[K, V]{task: tk, buf: buf, cfg: cfg, keys: t.keys, vals: t.vals, out: out}
		return receiverFunc[K, change[V]](p.receive), nil
	}
	b.t.addNode(n, t.n)
	b.t.AddStateStore(def, n.name)
	parent := t.getter
	getter := func(tk *task) (valueGetter[K, V], error) {
		get, err := parent(tk)
		if err != nil {
			return nil, err
		}
		buf, err := suppressBufferOf(tk, def.name)
		if err != nil {
			return nil, err
		}
		return suppressedGetter(buf, t.keys, t.vals, get), nil
	}
	stores := append(append([]string(nil), t.getterStores...), def.name)
	return Table[K, V]{b: b, n: n, keys: t.keys, vals: t.vals, getter: getter, getterStores: stores}
}

// suppressedGetter reads what the suppressed table last emitted: the value
// before the buffered updates of a key, or the parent's value when none is
// buffered (Kafka's suppression value getter).
func suppressedGetter[K, V any](buf *suppressBuffer, keys Serde[K], vals Serde[V], parent valueGetter[K, V]) valueGetter[K, V] {
	return func(key K) (ValueAndTimestamp[V], bool, error) {
		raw, err := keys.Serialize(buf.topic, key)
		if err != nil {
			return ValueAndTimestamp[V]{}, false, err
		}
		e, found, err := buf.get(raw)
		if err != nil || !found {
			if err != nil {
				return ValueAndTimestamp[V]{}, false, err
			}
			return parent(key)
		}
		if e.prior == nil {
			return ValueAndTimestamp[V]{}, false, nil
		}
		v, err := vals.Deserialize(buf.topic, e.prior)
		return ValueAndTimestamp[V]{Value: v, Timestamp: e.recordMs}, err == nil, err
	}
}

// suppressProcessor buffers a table's changes and emits them when due.
// observed is the largest timestamp of the changes it received (Kafka's
// observedStreamTime in KTableSuppressProcessor).
type suppressProcessor[K, V any] struct {
	task *task
	buf  *suppressBuffer
	cfg  suppressConfig[K]
	keys Serde[K]
	vals Serde[V]
	out  forwarder[K, change[V]]
}

func (p *suppressProcessor[K, V]) receive(r Record[K, change[V]]) {
	if p.task.err != nil {
		return
	}
	if err := p.process(r); err != nil {
		p.task.fail(fmt.Errorf("suppress %q: %w", p.buf.def.name, err))
	}
}

func (p *suppressProcessor[K, V]) process(r Record[K, change[V]]) error {
	if err := p.buf.load(); err != nil {
		return err
	}
	ts := toMillis(r.Timestamp)
	p.buf.observed = max(p.buf.observed, ts)
	raw, err := p.keys.Serialize(p.buf.topic, r.Key)
	if err != nil {
		return err
	}
	e, found, err := p.buf.get(raw)
	if err != nil {
		return err
	}
	if !found {
		e = bufferEntry{bufferMs: p.cfg.bufferTime(r.Key, ts)}
		if p.cfg.finalResults && p.due(e.bufferMs) {
			return nil
		}
		if r.Value.hasOld {
			if e.prior, err = p.serializeValue(r.Value.oldValue); err != nil {
				return err
			}
		}
	}
	e.recordMs, e.value = ts, nil
	if r.Value.hasNew {
		if e.value, err = p.serializeValue(r.Value.newValue); err != nil {
			return err
		}
	}
	e.hasValue = r.Value.hasNew
	if err := p.buf.put(raw, e); err != nil {
		return err
	}
	return p.evict()
}

func (p *suppressProcessor[K, V]) serializeValue(v V) ([]byte, error) {
	data, err := p.vals.Serialize(p.buf.topic, v)
	if data == nil && err == nil {
		data = []byte{} // a value, even if its serde makes it empty
	}
	return data, err
}

func (p *suppressProcessor[K, V]) due(bufferMs int64) bool {
	return p.buf.observed >= addMillisSaturated(bufferMs, p.cfg.afterMs)
}

// evict emits, oldest first, the entries that are due, and records the
// stream time it emitted at.
func (p *suppressProcessor[K, V]) evict() error {
	due, err := p.buf.oldest(p.due)
	if err != nil || len(due) == 0 {
		return err
	}
	for _, d := range due {
		if err := p.buf.remove(d.raw, d.entry); err != nil {
			return err
		}
		if err := p.emit(d.raw, d.entry); err != nil {
			return err
		}
	}
	return p.buf.saveObserved()
}

func (p *suppressProcessor[K, V]) emit(raw []byte, e bufferEntry) error {
	if !e.hasValue && p.cfg.dropTombstones {
		return nil
	}
	key, err := p.keys.Deserialize(p.buf.topic, raw)
	if err != nil {
		return err
	}
	var c change[V]
	if c.hasNew = e.hasValue; c.hasNew {
		if c.newValue, err = p.vals.Deserialize(p.buf.topic, e.value); err != nil {
			return err
		}
	}
	if c.hasOld = e.prior != nil; c.hasOld {
		if c.oldValue, err = p.vals.Deserialize(p.buf.topic, e.prior); err != nil {
			return err
		}
	}
	if !c.hasNew && !c.hasOld {
		return nil
	}
	saved := p.task.currentTime
	p.task.currentTime = e.recordMs
	p.out.forward(Record[K, change[V]]{Key: key, Value: c, Timestamp: fromMillis(e.recordMs)})
	p.task.currentTime = saved
	return p.task.err
}

// suppressBuffer is the store of a suppression: entries ordered by buffer
// time, and the stream time of the last emission, in a logged KeyValue:
//
//	0x00 "observed"                       stream time, int64 BE
//	0x01 | buffer time | serialized key   recordMs int64 BE | flags |
//	                                      prior length uint32 BE | prior | value
//
// Buffer times are written with the sign bit flipped so that they order as
// numbers. flags: 0x01 the entry has a value (else it is a delete), 0x02 it
// has a prior value. An index from key to buffer time, in memory, is
// rebuilt from the store at first use, after the task's restoration.
type suppressBuffer struct {
	def      *storeDef
	kv       store.KeyValue
	topic    string
	loaded   bool
	index    map[string]int64
	observed int64
}

type bufferEntry struct {
	bufferMs int64
	recordMs int64
	prior    []byte // nil: none
	value    []byte
	hasValue bool
}

var observedKey = []byte("\x00observed")

const (
	entryPrefix    = 0x01
	flagHasValue   = 0x01
	flagHasPrior   = 0x02
	entryHeadBytes = 8 + 1 + 4
)

func suppressBufferOf(t *task, name string) (*suppressBuffer, error) {
	s, err := t.store(name)
	if err != nil {
		return nil, err
	}
	buf, ok := s.(*suppressBuffer)
	if !ok {
		return nil, fmt.Errorf("%w: %q is a %T, not a suppression buffer", ErrUnknownStore, name, s)
	}
	return buf, nil
}

func (b *suppressBuffer) Name() string { return b.def.name }

func (b *suppressBuffer) Persistent() bool { return b.def.persistent }

func (b *suppressBuffer) load() error {
	if b.loaded {
		return nil
	}
	b.index, b.observed = make(map[string]int64), -1
	data, err := b.kv.Get(observedKey)
	if err != nil {
		return err
	}
	if len(data) == 8 {
		b.observed = int64(binary.BigEndian.Uint64(data))
	}
	it, err := b.kv.Range([]byte{entryPrefix}, []byte{entryPrefix + 1})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		k := it.Key()
		if len(k) < 9 {
			return fmt.Errorf("suppression buffer %q: %w: key %x", b.def.name, store.ErrCorrupt, k)
		}
		b.index[string(k[9:])] = int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63))
	}
	b.loaded = true
	return it.Err()
}

func entryKey(bufferMs int64, raw []byte) []byte {
	k := make([]byte, 0, 9+len(raw))
	k = append(k, entryPrefix)
	k = binary.BigEndian.AppendUint64(k, uint64(bufferMs)^(1<<63))
	return append(k, raw...)
}

func (b *suppressBuffer) get(raw []byte) (bufferEntry, bool, error) {
	if err := b.load(); err != nil {
		return bufferEntry{}, false, err
	}
	bufferMs, ok := b.index[string(raw)]
	if !ok {
		return bufferEntry{}, false, nil
	}
	data, err := b.kv.Get(entryKey(bufferMs, raw))
	if err != nil {
		return bufferEntry{}, false, err
	}
	e, err := decodeEntry(data)
	if err != nil {
		return bufferEntry{}, false, fmt.Errorf("suppression buffer %q: %w", b.def.name, err)
	}
	e.bufferMs = bufferMs
	return e, true, nil
}

func (b *suppressBuffer) put(raw []byte, e bufferEntry) error {
	value := make([]byte, entryHeadBytes, entryHeadBytes+len(e.prior)+len(e.value))
	binary.BigEndian.PutUint64(value, uint64(e.recordMs))
	if e.hasValue {
		value[8] |= flagHasValue
	}
	if e.prior != nil {
		value[8] |= flagHasPrior
	}
	binary.BigEndian.PutUint32(value[9:], uint32(len(e.prior)))
	value = append(append(value, e.prior...), e.value...)
	if err := b.kv.Put(entryKey(e.bufferMs, raw), value); err != nil {
		return err
	}
	b.index[string(raw)] = e.bufferMs
	return nil
}

func (b *suppressBuffer) remove(raw []byte, e bufferEntry) error {
	delete(b.index, string(raw))
	return b.kv.Delete(entryKey(e.bufferMs, raw))
}

func (b *suppressBuffer) saveObserved() error {
	return b.kv.Put(observedKey, binary.BigEndian.AppendUint64(nil, uint64(b.observed)))
}

// dueEntry is an entry to emit, with its serialized key.
type dueEntry struct {
	raw   []byte
	entry bufferEntry
}

// oldest returns the entries, oldest first, whose buffer time due accepts.
func (b *suppressBuffer) oldest(due func(bufferMs int64) bool) ([]dueEntry, error) {
	it, err := b.kv.Range([]byte{entryPrefix}, []byte{entryPrefix + 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []dueEntry
	for it.Next() {
		k := it.Key()
		bufferMs := int64(binary.BigEndian.Uint64(k[1:9]) ^ (1 << 63))
		if !due(bufferMs) {
			break
		}
		e, err := decodeEntry(it.Value())
		if err != nil {
			return nil, fmt.Errorf("suppression buffer %q: %w", b.def.name, err)
		}
		e.bufferMs = bufferMs
		out = append(out, dueEntry{raw: append([]byte(nil), k[9:]...), entry: e})
	}
	return out, it.Err()
}

func decodeEntry(data []byte) (bufferEntry, error) {
	if len(data) < entryHeadBytes {
		return bufferEntry{}, fmt.Errorf("%w: entry of %d bytes", store.ErrCorrupt, len(data))
	}
	e := bufferEntry{recordMs: int64(binary.BigEndian.Uint64(data)), hasValue: data[8]&flagHasValue != 0}
	n := int64(binary.BigEndian.Uint32(data[9:]))
	rest := data[entryHeadBytes:]
	if n > int64(len(rest)) || n > math.MaxInt32 {
		return bufferEntry{}, fmt.Errorf("%w: entry prior of %d bytes in %d", store.ErrCorrupt, n, len(rest))
	}
	if data[8]&flagHasPrior != 0 {
		e.prior = append([]byte{}, rest[:n]...)
	}
	if e.hasValue {
		e.value = append([]byte{}, rest[n:]...)
	}
	return e, nil
}
