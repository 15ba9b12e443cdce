package runtime

import (
	"fmt"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// consumedRecordsMaxBytes caps the raw records kept for the errant record
// reporter (keys, values and headers). Past it the oldest of a partition
// are dropped, and a record reported after that goes to the dead letter
// queue converted back from the SinkRecord, as Kafka does for records a
// task made itself.
const consumedRecordsMaxBytes = 64 << 20

// consumedRecords keeps the raw records handed to Put, per partition and in
// offset order, until their offsets are committed, so that a record a task
// reports goes to the dead letter queue as it was consumed (what Kafka's
// InternalSinkRecord carries). Safe for concurrent use.
type consumedRecords struct {
	mu struct {
		sync.Mutex
		byPartition map[connect.TopicPartition][]*kgo.Record
		bytes       int
	}
}

func newConsumedRecords() *consumedRecords {
	c := &consumedRecords{}
	c.mu.byPartition = map[connect.TopicPartition][]*kgo.Record{}
	return c
}

func recordBytes(r *kgo.Record) int {
	n := len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// add keeps r, consumed after the records kept for its partition.
func (c *consumedRecords) add(r *kgo.Record) {
	tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
	size := recordBytes(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.mu.byPartition[tp]
	for len(kept) > 0 && c.mu.bytes+size > consumedRecordsMaxBytes {
		c.mu.bytes -= recordBytes(kept[0])
		kept = kept[1:]
	}
	if c.mu.bytes+size <= consumedRecordsMaxBytes {
		kept = append(kept, r)
		c.mu.bytes += size
	}
	c.mu.byPartition[tp] = kept
}

// find returns the record of tp at offset, or nil.
func (c *consumedRecords) find(tp connect.TopicPartition, offset int64) *kgo.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.mu.byPartition[tp]
	i := sort.Search(len(kept), func(i int) bool { return kept[i].Offset >= offset })
	if i < len(kept) && kept[i].Offset == offset {
		return kept[i]
	}
	return nil
}

// prune forgets the records of tp below offset, once committed.
func (c *consumedRecords) prune(tp connect.TopicPartition, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.mu.byPartition[tp]
	for len(kept) > 0 && kept[0].Offset < offset {
		c.mu.bytes -= recordBytes(kept[0])
		kept = kept[1:]
	}
	if len(kept) == 0 {
		delete(c.mu.byPartition, tp)
		return
	}
	c.mu.byPartition[tp] = kept
}

// drop forgets the records of partitions no longer assigned.
func (c *consumedRecords) drop(partitions []connect.TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range partitions {
		for _, r := range c.mu.byPartition[tp] {
			c.mu.bytes -= recordBytes(r)
		}
		delete(c.mu.byPartition, tp)
	}
}

// errantReporter is the ErrantRecordReporter a sink task gets (Kafka's
// WorkerErrantRecordReporter): it reports through the task's error
// operator, stage TASK_PUT, so that the record is logged and written to
// the dead letter queue before its partition's next offset commit. Under
// errors.tolerance=none a report fails the task once Put returns. Safe for
// concurrent use.
type errantReporter struct {
	operator   *errorOperator
	consumed   *consumedRecords
	converters recordConverters
	// taskClass names the task in the __connect.errors.class.name header.
	taskClass string

	mu struct {
		sync.Mutex
		failed error // the first report that fails the task
	}
}

// Report sends record to the dead letter queue with err.
func (e *errantReporter) Report(record connect.SinkRecord, err error) <-chan error {
	original, fromErr := e.original(record)
	tp := connect.TopicPartition{Topic: record.OriginalTopic, Partition: record.OriginalPartition}
	if tp.Topic == "" {
		tp = connect.TopicPartition{Topic: record.Topic, Partition: record.Partition}
	}
	done, failErr := e.operator.handle(failure{original: original, partition: tp, stage: stageTaskPut, class: e.taskClass, err: err}, true)
	if failErr == nil && fromErr != nil {
		failErr = fmt.Errorf("task %s: reporting an errant record of %s: %w", e.operator.task, tp, fromErr)
	}
	if failErr != nil {
		e.mu.Lock()
		if e.mu.failed == nil {
			e.mu.failed = failErr
		}
		e.mu.Unlock()
		result := make(chan error, 1)
		result <- failErr
		return result
	}
	return done
}

// original finds the consumed record of record, or makes one from it with
// the converters when it is not kept (a record the task made, or one
// evicted), as Kafka does for records that are not its own.
func (e *errantReporter) original(record connect.SinkRecord) (*kgo.Record, error) {
	if record.OriginalTopic != "" {
		tp := connect.TopicPartition{Topic: record.OriginalTopic, Partition: record.OriginalPartition}
		if r := e.consumed.find(tp, record.OriginalOffset); r != nil {
			return r, nil
		}
	}
	topic := record.Topic
	var headers connect.RecordHeaders
	for _, h := range record.Headers {
		b, err := e.converters.header.FromConnectHeader(topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return nil, fmt.Errorf("converting header %s: %w", h.Key, err)
		}
		headers.Add(h.Key, b)
	}
	key, err := e.converters.key.FromConnectData(topic, &headers, record.KeySchema, record.Key)
	if err != nil {
		return nil, fmt.Errorf("converting the key: %w", err)
	}
	value, err := e.converters.value.FromConnectData(topic, &headers, record.ValueSchema, record.Value)
	if err != nil {
		return nil, fmt.Errorf("converting the value: %w", err)
	}
	r := &kgo.Record{Topic: topic, Partition: record.Partition, Offset: record.Offset, Key: key, Value: value, Timestamp: record.Timestamp}
	for _, h := range headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return r, nil
}

// takeFailure returns the report that fails the task, if any.
func (e *errantReporter) takeFailure() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.mu.failed
}
