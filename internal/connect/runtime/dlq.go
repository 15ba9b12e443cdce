package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// The context headers of a dead letter queue record, with Kafka's names
// (DeadLetterQueueReporter). Values are UTF-8 strings; the partition,
// offset and task id are written in decimal, as Kafka writes them.
const (
	dlqHeaderPrefix         = "__connect.errors."
	dlqHeaderTopic          = dlqHeaderPrefix + "topic"
	dlqHeaderPartition      = dlqHeaderPrefix + "partition"
	dlqHeaderOffset         = dlqHeaderPrefix + "offset"
	dlqHeaderConnector      = dlqHeaderPrefix + "connector.name"
	dlqHeaderTaskID         = dlqHeaderPrefix + "task.id"
	dlqHeaderStage          = dlqHeaderPrefix + "stage"
	dlqHeaderClass          = dlqHeaderPrefix + "class.name"
	dlqHeaderExceptionClass = dlqHeaderPrefix + "exception.class.name"
	dlqHeaderMessage        = dlqHeaderPrefix + "exception.message"
	dlqHeaderTrace          = dlqHeaderPrefix + "exception.stacktrace"
)

const (
	// dlqPartitions is the partition count of a dead letter queue topic the
	// worker creates (Kafka's DLQ_NUM_DESIRED_PARTITIONS).
	dlqPartitions = 1
	// dlqSetupTimeout bounds finding or creating the topic (Kafka's admin
	// default.api.timeout.ms).
	dlqSetupTimeout = 60 * time.Second
	// dlqDeliveryTimeout bounds a write, so that an offset commit waiting
	// for it ends (Kafka's producer delivery.timeout.ms default); the
	// producer options given may override it.
	dlqDeliveryTimeout = 2 * time.Minute
	// dlqCloseTimeout bounds the wait for the last writes when a task stops.
	dlqCloseTimeout = 30 * time.Second
)

// deadLetterQueue writes the original consumed records of a sink task's
// tolerated failures to errors.deadletterqueue.topic.name, each with the
// consumed record's key, value, headers and timestamp, plus the context
// headers when errors.deadletterqueue.context.headers.enable is set.
//
// Writes are asynchronous. Each is tracked under the consumed partition of
// its record until await confirms it, so that the runner commits a
// partition's offsets only once the records skipped in it are in the queue:
// a record that reaches the queue is never consumed again, and a record
// whose write failed is never committed past. Safe for concurrent use.
type deadLetterQueue struct {
	topic          string
	task           TaskID
	contextHeaders bool
	producer       *kgo.Client
	logger         *slog.Logger

	mu struct {
		sync.Mutex
		// pending are the writes not yet awaited, per consumed partition,
		// in the order they were made.
		pending map[connect.TopicPartition][]*dlqWrite
	}
}

// dlqWrite is one record on its way to the queue.
type dlqWrite struct {
	done chan struct{} // closed once err is set
	err  error
}

// openDeadLetterQueue makes the queue of task: it creates the topic if it
// does not exist (one partition, the configured replication factor, which
// fails clearly when the cluster cannot meet it, as in Kafka) and a
// producer from opts.
func openDeadLetterQueue(ctx context.Context, opts []kgo.Opt, task TaskID, config errorHandlingConfig, logger *slog.Logger) (*deadLetterQueue, error) {
	all := append([]kgo.Opt{
		kgo.ClientID("connector-dlq-producer-" + task.String()),
		kgo.RecordDeliveryTimeout(dlqDeliveryTimeout),
	}, opts...)
	producer, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("task %s: dead letter queue producer: %w", task, err)
	}
	setupCtx, cancel := context.WithTimeout(ctx, dlqSetupTimeout)
	defer cancel()
	if err := ensureDLQTopic(setupCtx, producer, config); err != nil {
		producer.Close()
		return nil, fmt.Errorf("task %s: could not initialize dead letter queue with topic=%s: %w", task, config.dlqTopic, err)
	}
	q := &deadLetterQueue{topic: config.dlqTopic, task: task, contextHeaders: config.dlqContextHeaders, producer: producer, logger: logger}
	q.mu.pending = map[connect.TopicPartition][]*dlqWrite{}
	return q, nil
}

// ensureDLQTopic creates the topic unless it exists. It looks first, as
// Kafka does, so that a worker without the right to create topics can use
// one made for it.
func ensureDLQTopic(ctx context.Context, cl *kgo.Client, config errorHandlingConfig) error {
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx, config.dlqTopic)
	if err != nil {
		return fmt.Errorf("listing topics: %w", err)
	}
	if topics.Has(config.dlqTopic) {
		return topics[config.dlqTopic].Err
	}
	resp, err := adm.CreateTopic(ctx, dlqPartitions, config.dlqReplicationFactor, nil, config.dlqTopic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("creating the topic with replication factor %d: %w", config.dlqReplicationFactor, err)
	}
	return nil
}

// write queues the original record of f and returns a channel that
// receives the write's result.
func (q *deadLetterQueue) write(f failure) <-chan error {
	rec := q.record(f)
	w := &dlqWrite{done: make(chan struct{})}
	result := make(chan error, 1)
	q.mu.Lock()
	q.mu.pending[f.partition] = append(q.mu.pending[f.partition], w)
	q.mu.Unlock()
	// The write outlives the task's context: a record skipped must land.
	q.producer.Produce(context.Background(), rec, func(_ *kgo.Record, err error) {
		if err != nil {
			err = fmt.Errorf("task %s: could not produce message to dead letter queue. topic=%s: %w", q.task, q.topic, err)
			q.logger.Error("dead letter queue write failed", "task", q.task.String(), "topic", q.topic,
				"record", fmt.Sprintf("%s-%d@%d", f.original.Topic, f.original.Partition, f.original.Offset), "err", err)
		}
		w.err = err
		close(w.done)
		result <- err
	})
	return result
}

// record is what goes to the queue for f: the consumed record's key, value,
// headers and timestamp (none when it had none: the producer sets it), and
// the context headers.
func (q *deadLetterQueue) record(f failure) *kgo.Record {
	o := f.original
	rec := &kgo.Record{Topic: q.topic, Key: o.Key, Value: o.Value, Headers: slices.Clone(o.Headers)}
	if connect.TimestampType(o.Attrs.TimestampType()) != connect.NoTimestampType && o.Timestamp.UnixMilli() >= 0 {
		rec.Timestamp = o.Timestamp
	}
	if !q.contextHeaders {
		return rec
	}
	add := func(key, value string) {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: key, Value: []byte(value)})
	}
	add(dlqHeaderTopic, o.Topic)
	add(dlqHeaderPartition, strconv.FormatInt(int64(o.Partition), 10))
	add(dlqHeaderOffset, strconv.FormatInt(o.Offset, 10))
	add(dlqHeaderConnector, q.task.Connector)
	add(dlqHeaderTaskID, strconv.Itoa(q.task.Task))
	add(dlqHeaderStage, string(f.stage))
	add(dlqHeaderClass, f.class)
	if f.err != nil {
		add(dlqHeaderExceptionClass, errorClassName(f.err))
		add(dlqHeaderMessage, f.err.Error())
		add(dlqHeaderTrace, errorTrace(f.err))
	}
	return rec
}

// await waits until every write made so far for the partitions is done and
// forgets them. It returns the first failed write's error, keeping the
// writes, so that the partitions' offsets are not committed past a record
// that is in neither the queue nor the sink; or ctx's error.
func (q *deadLetterQueue) await(ctx context.Context, partitions []connect.TopicPartition) error {
	for _, tp := range partitions {
		q.mu.Lock()
		writes := q.mu.pending[tp]
		q.mu.Unlock()
		for _, w := range writes {
			select {
			case <-w.done:
			case <-ctx.Done():
				return fmt.Errorf("task %s: waiting for dead letter queue writes: %w", q.task, ctx.Err())
			}
			if w.err != nil {
				return w.err
			}
		}
		// Writes made meanwhile were appended after those awaited.
		q.mu.Lock()
		q.mu.pending[tp] = q.mu.pending[tp][len(writes):]
		if len(q.mu.pending[tp]) == 0 {
			delete(q.mu.pending, tp)
		}
		q.mu.Unlock()
	}
	return nil
}

// discard forgets the writes of partitions lost to another member: their
// offsets will not be committed by this task.
func (q *deadLetterQueue) discard(partitions []connect.TopicPartition) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, tp := range partitions {
		delete(q.mu.pending, tp)
	}
}

// close waits a while for the writes still buffered and closes the
// producer.
func (q *deadLetterQueue) close(ctx context.Context) {
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dlqCloseTimeout)
	defer cancel()
	if err := q.producer.Flush(flushCtx); err != nil {
		q.logger.Warn("dead letter queue: records not written before the task stopped", "task", q.task.String(), "err", err)
	}
	q.producer.Close()
}
