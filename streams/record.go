package streams

import (
	"errors"
	"fmt"
	"time"
)

// Record is one record flowing through a topology.
//
// Tombstone marks a record whose value is Kafka's null: a delete when the
// record reaches a table or a compacted topic. Value is then V's zero value,
// and a sink writes a null value whatever V's serde would make of it.
// Operators that keep the value (Filter, Peek, SelectKey, Branch, Merge, To)
// keep the mark; operators that compute a new value clear it.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp time.Time
	Headers   []Header
	Tombstone bool
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// RecordMetadata says where the record being processed came from: its input
// topic, partition and offset. Records made by a punctuator have none.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
}

// TaskID names a task: a sub-topology and the input partition it processes,
// printed as Kafka Streams does ("0_3").
type TaskID struct {
	Subtopology int
	Partition   int32
}

func (id TaskID) String() string { return fmt.Sprintf("%d_%d", id.Subtopology, id.Partition) }

var (
	// ErrSerialization wraps every error a built-in serde returns.
	ErrSerialization = errors.New("streams: serialization")
	// ErrTopology is returned for a topology that cannot run: a name used
	// twice, a store nobody connects, input topics that are not co-partitioned.
	ErrTopology = errors.New("streams: invalid topology")
	// ErrUnknownStore is returned when a processor or a query asks for a
	// store that is not connected to it or not hosted here.
	ErrUnknownStore = errors.New("streams: unknown state store")
	// ErrClosed is returned by an application or a test driver used after Close.
	ErrClosed = errors.New("streams: closed")
)

// toMillis and fromMillis convert between the record timestamps of the API
// and the milliseconds of Kafka's wire and of stream time.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms) }
