package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// JoinWindows says which records of two streams a stream-stream join pairs
// (Kafka's JoinWindows, KIP-633): a left record at time t joins the right
// records of its key timestamped in [t-Before, t+After]. Before may be
// negative, to look only forward, as long as Before+After is not negative.
//
// Grace is how long after a record's window ends, in stream time, it still
// takes part: stream time is the largest timestamp the join has seen on
// either side. A left record's window ends at t+After, a right record's at
// t+Before. A record that arrives after its window ended and its grace
// passed is late and dropped, and a stored record whose window has closed
// joins nothing more. So two records join when their timestamps are within
// the window and neither's window had closed when the second arrived; with
// records in timestamp order these are exactly Kafka's results. Left and
// outer joins emit a record that joined nothing when its window closes
// (KIP-633's emit-after-window-close), and never emit a record both unjoined
// and joined.
//
// The join keeps each side's records for max(Before, After)+Grace in window
// stores: a long grace costs state and delays the unjoined results. Stream
// time is kept in memory, as Kafka keeps it: a task that restarts judges
// lateness against the records it has processed since.
type JoinWindows struct {
	// Before is how much earlier than a left record a right record may be.
	Before time.Duration
	// After is how much later than a left record a right record may be.
	After time.Duration
	// Grace is how long, in stream time, a window stays open after it ends.
	Grace time.Duration
}

// JoinWithin returns symmetric join windows: records join when their
// timestamps differ by at most timeDifference (Kafka's
// JoinWindows.ofTimeDifferenceAndGrace).
func JoinWithin(timeDifference, grace time.Duration) JoinWindows {
	return JoinWindows{Before: timeDifference, After: timeDifference, Grace: grace}
}

// validate checks what Kafka's JoinWindows checks.
func (w JoinWindows) validate() error {
	switch {
	case w.Before+w.After < 0:
		return fmt.Errorf("%w: join windows of size Before+After = %v; it must not be negative", ErrTopology, w.Before+w.After)
	case w.Grace < 0:
		return fmt.Errorf("%w: join grace %v is negative", ErrTopology, w.Grace)
	}
	return nil
}

// retention is how long each side's window store keeps a record: until
// its window can no longer be open on the other side's account, one
// millisecond past max(Before, After)+Grace so that the store's own
// boundary (it keeps timestamps above stream time minus retention) never
// bites first.
func (w JoinWindows) retention() time.Duration {
	return max(w.Before, w.After) + w.Grace + time.Millisecond
}

// windowChangelogAdditionalRetention is how much longer a window store's
// changelog keeps records than the store does (Kafka's
// windowstore.changelog.additional.retention.ms, one day by default), so
// that clock drift between brokers and clients never deletes what a
// restoration still needs.
const windowChangelogAdditionalRetention = 24 * time.Hour

// newJoinWindowStore describes one side's store of a stream-stream join:
// every record of the side by key and timestamp, duplicates kept. Its
// changelog is compacted and deleted after the retention, as Kafka's
// window changelogs are. As is ignored: the join names its stores.
func newJoinWindowStore[K, V any](name string, keys Serde[K], values Serde[V], retention time.Duration, opts []StoreOption) *storeDef {
	defaults := WithLoggingConfig(map[string]string{
		"cleanup.policy": "compact,delete",
		"retention.ms":   strconv.FormatInt((retention + windowChangelogAdditionalRetention).Milliseconds(), 10),
	})
	d := newStoreDef(name, storeWindow, append([]StoreOption{defaults}, opts...))
	d.name = name
	d.caching = false
	d.newTyped = func(t *task, kv store.KeyValue) StateStore {
		return &joinWindowStore[K, V]{def: d, kv: kv, keys: keys, values: values, retention: retention, topic: t.env.resolve(d.changelogSuffix(), true)}
	}
	return d
}

// joinWindowStore is a task's typed window store of one join side. Its
// store.Window is made at first use, after restoration has filled the
// KeyValue, so that it derives its stream time from the restored data (a
// task is rebuilt after an abort, so a Window never outlives one).
type joinWindowStore[K, V any] struct {
	def       *storeDef
	kv        store.KeyValue
	keys      Serde[K]
	values    Serde[V]
	retention time.Duration
	topic     string // for the serdes: the changelog topic
	window    *store.Window
}

func (s *joinWindowStore[K, V]) Name() string { return s.def.name }

func (s *joinWindowStore[K, V]) Persistent() bool { return s.def.persistent }

func (s *joinWindowStore[K, V]) open() (*store.Window, error) {
	if s.window == nil {
		w, err := store.NewWindow(s.kv, nil, store.WindowOptions{Retention: s.retention, RetainDuplicates: true})
		if err != nil {
			return nil, err
		}
		s.window = w
	}
	return s.window, nil
}

// put keeps value under the serialized key at timestamp ts. A record
// older than the store's retention is not kept (false): the join's own
// lateness check makes that impossible, but it would not be an error.
func (s *joinWindowStore[K, V]) put(rawKey []byte, ts int64, value V) (bool, error) {
	w, err := s.open()
	if err != nil {
		return false, err
	}
	raw, err := encodeJoinValue(s.values, s.topic, value)
	if err != nil {
		return false, err
	}
	if err := w.Put(rawKey, ts, raw); err != nil {
		if errors.Is(err, store.ErrExpired) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// joinMatch is a record of the other side that a record joins.
type joinMatch[V any] struct {
	ts    int64
	value V
}

// fetch returns the records of the serialized key timestamped in
// [from, to], by timestamp and then in the order they were put.
func (s *joinWindowStore[K, V]) fetch(rawKey []byte, from, to int64) ([]joinMatch[V], error) {
	if from > to {
		return nil, nil
	}
	w, err := s.open()
	if err != nil {
		return nil, err
	}
	it, err := w.FetchRange(rawKey, from, to)
	if err != nil {
		return nil, err
	}
	var out []joinMatch[V]
	for it.Next() {
		v, err := decodeJoinValue(s.values, s.topic, it.Value())
		if err != nil {
			_ = it.Close()
			return nil, err
		}
		out = append(out, joinMatch[V]{ts: it.Start(), value: v})
	}
	return out, errors.Join(it.Err(), it.Close())
}

// Stored values of join stores start with a marker byte, so that a value
// whose serde writes nil is kept as a value, not taken for a deletion:
//
//	0x00          the serde wrote nil
//	0x01 <bytes>  the serde wrote bytes
const (
	joinValueNull    byte = 0x00
	joinValuePresent byte = 0x01
)

func encodeJoinValue[V any](serde Serde[V], topic string, v V) ([]byte, error) {
	raw, err := serde.Serialize(topic, v)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return []byte{joinValueNull}, nil
	}
	return append([]byte{joinValuePresent}, raw...), nil
}

func decodeJoinValue[V any](serde Serde[V], topic string, raw []byte) (V, error) {
	if len(raw) == 0 {
		var zero V
		return zero, fmt.Errorf("%w: empty join store value in %q", ErrSerialization, topic)
	}
	if raw[0] == joinValueNull {
		return serde.Deserialize(topic, nil)
	}
	return serde.Deserialize(topic, raw[1:])
}

// The outer store of a left or outer stream-stream join holds the records
// of the outer side(s) that have joined nothing yet, ordered by time, until
// their window closes and they are emitted unjoined (Kafka's shared outer
// join store). Its keys:
//
//	timestamp  int64 BE, sign bit flipped, so that keys sort by time
//	side       0x00 left, 0x01 right
//	key length uint32 BE, then the serialized key
//	sequence   uint32 BE: one more than the last stored under the same
//	           timestamp, side and key (duplicates are kept)
//
// Its values are the side's values with the marker byte of join stores.
const (
	joinSideLeft  byte = 0x00
	joinSideRight byte = 0x01
)

// newJoinOuterStore describes the outer store of a stream-stream join.
func newJoinOuterStore(name string, opts []StoreOption) *storeDef {
	d := newStoreDef(name, storeKeyValue, opts)
	d.name = name
	d.caching = false
	d.newTyped = func(t *task, kv store.KeyValue) StateStore {
		return &joinOuterStore{def: d, kv: kv, topic: t.env.resolve(d.changelogSuffix(), true)}
	}
	return d
}

// joinOuterStore is a task's outer store, at the byte level: the join
// processor serializes and deserializes its keys and values.
type joinOuterStore struct {
	def   *storeDef
	kv    store.KeyValue
	topic string // for the serdes: the changelog topic
}

func (s *joinOuterStore) Name() string { return s.def.name }

func (s *joinOuterStore) Persistent() bool { return s.def.persistent }

// joinOuterPrefix is the key of a timestamp, side and key, before the
// sequence number.
func joinOuterPrefix(ts int64, side byte, rawKey []byte) []byte {
	out := make([]byte, 0, 8+1+4+len(rawKey)+4)
	out = binary.BigEndian.AppendUint64(out, uint64(ts)^(1<<63))
	out = append(out, side)
	out = binary.BigEndian.AppendUint32(out, uint32(len(rawKey)))
	return append(out, rawKey...)
}

// joinOuterEntry is one stored record of the outer store.
type joinOuterEntry struct {
	raw    []byte // the store key
	ts     int64
	side   byte
	rawKey []byte
	value  []byte // with the marker byte
}

func parseJoinOuterKey(raw []byte) (joinOuterEntry, error) {
	if len(raw) < 8+1+4+4 {
		return joinOuterEntry{}, fmt.Errorf("%w: outer join store key %x", store.ErrCorrupt, raw)
	}
	n := int(binary.BigEndian.Uint32(raw[9:13]))
	if len(raw) != 8+1+4+n+4 {
		return joinOuterEntry{}, fmt.Errorf("%w: outer join store key %x", store.ErrCorrupt, raw)
	}
	return joinOuterEntry{raw: raw, ts: int64(binary.BigEndian.Uint64(raw) ^ (1 << 63)), side: raw[8], rawKey: raw[13 : 13+n]}, nil
}

// add keeps a record that has joined nothing yet.
func (s *joinOuterStore) add(ts int64, side byte, rawKey, value []byte) error {
	prefix := joinOuterPrefix(ts, side, rawKey)
	it, err := s.kv.ReverseRange(prefix, bytesPrefixEnd(prefix))
	if err != nil {
		return err
	}
	seq := uint32(0)
	if it.Next() {
		last := it.Key()
		if len(last) != len(prefix)+4 {
			_ = it.Close()
			return fmt.Errorf("%w: outer join store key %x", store.ErrCorrupt, last)
		}
		if seq = binary.BigEndian.Uint32(last[len(prefix):]); seq == math.MaxUint32 {
			_ = it.Close()
			return fmt.Errorf("streams: outer join store %q: too many records of one key and timestamp", s.def.name)
		}
		seq++
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return err
	}
	return s.kv.Put(binary.BigEndian.AppendUint32(prefix, seq), value)
}

// remove deletes the records of a timestamp, side and key: they joined.
func (s *joinOuterStore) remove(ts int64, side byte, rawKey []byte) error {
	prefix := joinOuterPrefix(ts, side, rawKey)
	return s.kv.DeleteRange(prefix, bytesPrefixEnd(prefix))
}

// takeBefore removes and returns the records timestamped before end for
// which closed is true, by time; the others stay. It also returns the
// smallest timestamp that stayed, or end if none did.
func (s *joinOuterStore) takeBefore(end int64, closed func(ts int64, side byte) bool) ([]joinOuterEntry, int64, error) {
	upper := binary.BigEndian.AppendUint64(nil, uint64(end)^(1<<63))
	it, err := s.kv.Range(nil, upper)
	if err != nil {
		return nil, 0, err
	}
	var taken []joinOuterEntry
	earliest := end
	for it.Next() {
		e, err := parseJoinOuterKey(append([]byte(nil), it.Key()...))
		if err != nil {
			_ = it.Close()
			return nil, 0, err
		}
		if !closed(e.ts, e.side) {
			earliest = min(earliest, e.ts)
			continue
		}
		e.value = append([]byte(nil), it.Value()...)
		taken = append(taken, e)
	}
	if err := errors.Join(it.Err(), it.Close()); err != nil {
		return nil, 0, err
	}
	for _, e := range taken {
		if err := s.kv.Delete(e.raw); err != nil {
			return nil, 0, err
		}
	}
	return taken, earliest, nil
}

// bytesPrefixEnd returns the smallest key above every key that starts with
// prefix, or nil (unbounded) when prefix is all 0xFF.
func bytesPrefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			end := append([]byte(nil), prefix[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}
