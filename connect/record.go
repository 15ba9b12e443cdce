package connect

import (
	"strconv"
	"time"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String returns Kafka's form, "topic-3".
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// Header is a Connect header of a record: a key and a value with its schema
// (Kafka's ConnectHeader). Keys may repeat.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Headers are a record's Connect headers in order.
type Headers []Header

// Last returns the last header with the key, as Kafka's lastWithName.
func (h Headers) Last(key string) (Header, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i], true
		}
	}
	return Header{}, false
}

// RecordHeader is a header of a Kafka record as it is on the wire: a key
// and raw bytes (nil for a null value). Converters see these, not Connect
// headers (see Converter).
type RecordHeader struct {
	Key   string
	Value []byte
}

// RecordHeaders are a Kafka record's headers in order.
type RecordHeaders []RecordHeader

// Last returns the last header with the key.
func (h RecordHeaders) Last(key string) (RecordHeader, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i], true
		}
	}
	return RecordHeader{}, false
}

// Add appends a header.
func (h *RecordHeaders) Add(key string, value []byte) {
	*h = append(*h, RecordHeader{Key: key, Value: value})
}

// SourceRecord is a record a source task read from its system, to be
// written to Kafka (Kafka's SourceRecord).
//
// SourcePartition names the part of the source system it came from (a
// table, a file) and SourceOffset its position there; the worker commits
// the latest offset of each partition once the record is written, and
// gives it back through OffsetReader after a restart. Their values must be
// nil, strings, booleans, int8 to int64 or float32/float64 (no arrays, maps
// or structs); they come back as the JSON offset store reads them: integers
// as int64, floating point numbers as float64.
type SourceRecord struct {
	SourcePartition map[string]any
	SourceOffset    map[string]any

	Topic string
	// Partition is the Kafka partition to write to; nil lets the producer's
	// partitioner choose from the key. Go 1.26 writes it new(int32(3)).
	Partition *int32

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any

	// Timestamp is the record's timestamp; the zero time lets the producer
	// set it.
	Timestamp time.Time
	Headers   Headers
}

// TimestampType says where a consumed record's timestamp came from
// (Kafka's TimestampType).
type TimestampType int8

// The timestamp types, with Kafka's ids.
const (
	NoTimestampType TimestampType = -1
	CreateTime      TimestampType = 0
	LogAppendTime   TimestampType = 1
)

// String returns Kafka's name: "NoTimestampType", "CreateTime",
// "LogAppendTime".
func (t TimestampType) String() string {
	switch t {
	case CreateTime:
		return "CreateTime"
	case LogAppendTime:
		return "LogAppendTime"
	}
	return "NoTimestampType"
}

// SinkRecord is a record read from Kafka and converted, handed to a sink
// task (Kafka's SinkRecord).
type SinkRecord struct {
	Topic     string
	Partition int32
	Offset    int64

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any

	// Timestamp is the record's timestamp, the zero time when TimestampType
	// is NoTimestampType.
	Timestamp     time.Time
	TimestampType TimestampType
	Headers       Headers

	// OriginalTopic, OriginalPartition and OriginalOffset locate the record
	// as it was consumed, before transforms (which may change Topic and
	// Partition) ran. Offsets handed to Flush and PreCommit, and those a
	// task commits, are in these terms (KIP-793).
	OriginalTopic     string
	OriginalPartition int32
	OriginalOffset    int64
}

// RecordMetadata says where the producer wrote a source record.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
}
