package streams

import (
	"encoding/binary"
	"fmt"
)

// ValueAndTimestamp is what the DSL's stores keep per key: the value and the
// timestamp of the record that last changed it (Kafka's timestamped stores).
type ValueAndTimestamp[V any] struct {
	Value     V
	Timestamp int64 // milliseconds
}

// timestampedSerde writes the timestamp's 8 big-endian bytes before the
// value's, as Kafka's ValueAndTimestampSerializer does.
type timestampedSerde[V any] struct{ values Serde[V] }

func (s timestampedSerde[V]) Serialize(topic string, v ValueAndTimestamp[V]) ([]byte, error) {
	inner, err := s.values.Serialize(topic, v.Value)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(inner))
	binary.BigEndian.PutUint64(out, uint64(v.Timestamp))
	return append(out, inner...), nil
}

func (s timestampedSerde[V]) Deserialize(topic string, data []byte) (ValueAndTimestamp[V], error) {
	var v ValueAndTimestamp[V]
	if data == nil {
		return v, nil
	}
	if len(data) < 8 {
		return v, fmt.Errorf("%w: a timestamped value in %q has %d bytes", ErrSerialization, topic, len(data))
	}
	v.Timestamp = int64(binary.BigEndian.Uint64(data))
	inner, err := s.values.Deserialize(topic, data[8:])
	v.Value = inner
	return v, err
}

// change is what a table forwards: the key's new value and the one it
// replaces, so that downstream aggregations can subtract the old. A delete
// has no new value.
type change[V any] struct {
	newValue V
	oldValue V
	hasNew   bool
	hasOld   bool
}
