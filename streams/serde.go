package streams

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Serde turns values of one type into the bytes of a record's key or value and
// back, as Kafka Streams' Serde does. A nil slice is Kafka's null: Serialize
// may return nil for a value that has no bytes, and Deserialize receives nil
// for a null key or value. The topic is the one being written or read, for
// serdes that keep a schema per topic. A Serde is used from many tasks at
// once and must be safe for concurrent use.
type Serde[T any] interface {
	Serialize(topic string, value T) ([]byte, error)
	Deserialize(topic string, data []byte) (T, error)
}

// String is the serde of UTF-8 strings (Kafka's StringSerde). A null
// deserializes to "".
var String Serde[string] = stringSerde{}

// Bytes passes bytes through unchanged (Kafka's ByteArraySerde).
var Bytes Serde[[]byte] = bytesSerde{}

// Int64 is the serde of 8-byte big-endian integers (Kafka's LongSerde), the
// format of the counts that Count writes.
var Int64 Serde[int64] = int64Serde{}

// Int32 is the serde of 4-byte big-endian integers (Kafka's IntegerSerde).
var Int32 Serde[int32] = int32Serde{}

// JSON returns a serde that encodes T with encoding/json. A null
// deserializes to T's zero value.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

// Nullable wraps a serde so that Kafka's null maps to a nil pointer: use it to
// tell a tombstone from a zero value, for example when reading a compacted
// topic as a stream.
func Nullable[T any](s Serde[T]) Serde[*T] { return nullableSerde[T]{inner: s} }

type stringSerde struct{}

func (stringSerde) Serialize(_ string, v string) ([]byte, error) { return []byte(v), nil }

func (stringSerde) Deserialize(_ string, data []byte) (string, error) { return string(data), nil }

type bytesSerde struct{}

func (bytesSerde) Serialize(_ string, v []byte) ([]byte, error) { return v, nil }

func (bytesSerde) Deserialize(_ string, data []byte) ([]byte, error) { return data, nil }

type int64Serde struct{}

func (int64Serde) Serialize(_ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
}

func (int64Serde) Deserialize(topic string, data []byte) (int64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, fmt.Errorf("%w: an int64 in topic %q has %d bytes, not 8", ErrSerialization, topic, len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

type int32Serde struct{}

func (int32Serde) Serialize(_ string, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)), nil
}

func (int32Serde) Deserialize(topic string, data []byte) (int32, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 4 {
		return 0, fmt.Errorf("%w: an int32 in topic %q has %d bytes, not 4", ErrSerialization, topic, len(data))
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

type jsonSerde[T any] struct{}

func (jsonSerde[T]) Serialize(topic string, v T) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: JSON for topic %q: %w", ErrSerialization, topic, err)
	}
	return data, nil
}

func (jsonSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("%w: JSON in topic %q: %w", ErrSerialization, topic, err)
	}
	return v, nil
}

type nullableSerde[T any] struct{ inner Serde[T] }

func (s nullableSerde[T]) Serialize(topic string, v *T) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return s.inner.Serialize(topic, *v)
}

func (s nullableSerde[T]) Deserialize(topic string, data []byte) (*T, error) {
	if data == nil {
		return nil, nil
	}
	v, err := s.inner.Deserialize(topic, data)
	if err != nil {
		return nil, err
	}
	return &v, nil
}
