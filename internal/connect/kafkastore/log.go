package kafkastore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrClosed is returned by a Log, or a store, used after Close (or before
// Start).
var ErrClosed = errors.New("kafkastore: log not running")

// Record is one record of a store's topic as the consumer function sees
// it. Its slices are the function's to keep.
type Record struct {
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte // nil: a tombstone
}

// KeyValue is a record to write; a nil Value writes a tombstone.
type KeyValue struct {
	Key   []byte
	Value []byte
}

// Position is where an acknowledged record was written.
type Position struct {
	Partition int32
	Offset    int64
}

// TopicSpec names a store's topic and says how to create it when it is
// missing (Kafka's <prefix>.storage.* worker settings).
type TopicSpec struct {
	Name string
	// Partitions at creation; -1 is the broker's default. The config
	// topic always has one.
	Partitions int32
	// ReplicationFactor at creation; -1 is the broker's default.
	ReplicationFactor int16
	// Configs are further topic configs at creation; cleanup.policy is
	// always compact, whatever they say, as Kafka's TopicAdmin forces.
	Configs map[string]string
}

// LogOptions configure a Log.
type LogOptions struct {
	Topic TopicSpec
	// SinglePartition refuses an existing topic with more than one
	// partition: the config topic's records must keep one order.
	SinglePartition bool
	// Setting is the worker property that named the topic and Purpose
	// what the topic keeps, for error messages (Kafka's wording).
	Setting, Purpose string
	// ClientOpts are the caller's client settings: seed brokers, TLS,
	// SASL, client id. The Log adds its own (acks=all, idempotent writes,
	// Kafka's key partitioner, direct consumption from the start), which
	// win; ClientOpts must not disable idempotent writes.
	ClientOpts []kgo.Opt
	// Logger gets the records a store ignores and the errors of
	// consuming; nil discards them.
	Logger *slog.Logger
}

// Log is a compacted topic read from its start and tailed, as Kafka
// Connect's KafkaBasedLog: a consumer function sees every record in
// order, and ReadToEnd is the barrier that says it has seen all of them
// up to now.
type Log struct {
	options LogOptions
	consume func(Record)
	logger  *slog.Logger

	// Set by Start, read-only after it.
	client     *kgo.Client
	admin      *kadm.Client
	partitions int32
	cancel     context.CancelFunc
	done       chan struct{} // closed when the consuming goroutine returns

	mu struct {
		sync.Mutex
		running bool
		closed  bool
		// next is, by partition, the offset after the last record the
		// consumer function returned from.
		next    map[int32]int64
		waiters []*endWaiter
	}
}

// endWaiter is a ReadToEnd call waiting for the consumer to reach ends.
type endWaiter struct {
	ends  map[int32]int64
	ready chan struct{}
}

// NewLog returns a Log that will call consume, from its own goroutine,
// for every record of the topic once started. consume must not call the
// Log's methods: ReadToEnd and the sends wait on that goroutine.
func NewLog(options LogOptions, consume func(Record)) *Log {
	logger := options.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{options: options, consume: consume, logger: logger, done: make(chan struct{})}
	l.mu.next = map[int32]int64{}
	return l
}

// Partitions is the topic's partition count, known once Start returned.
func (l *Log) Partitions() int32 { return l.partitions }

// Start creates the topic if it is missing (compacted, with the spec's
// partitions and replication factor), checks an existing one as Kafka
// does, starts consuming it from the start, and returns once every record
// already in it has been given to the consumer function. ctx bounds the
// start only; the consuming goroutine runs until Close.
func (l *Log) Start(ctx context.Context) error {
	if l.options.Topic.Name == "" || l.consume == nil {
		return fmt.Errorf("kafkastore: log needs a topic and a consumer function")
	}
	l.mu.Lock()
	if l.mu.running || l.mu.closed {
		l.mu.Unlock()
		return fmt.Errorf("kafkastore: log of topic %s started twice", l.options.Topic.Name)
	}
	l.mu.Unlock()
	if err := l.start(ctx); err != nil {
		l.Close()
		return err
	}
	if err := l.ReadToEnd(ctx); err != nil {
		l.Close()
		return fmt.Errorf("reading topic %s at start: %w", l.options.Topic.Name, err)
	}
	return nil
}

func (l *Log) start(ctx context.Context) error {
	topic := l.options.Topic.Name
	opts := append(slices.Clone(l.options.ClientOpts),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Kafka's murmur2 key hash: a key lands on the partition a Java
		// worker would write it to, so compaction keeps one record per key.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.DefaultProduceTopic(topic),
		// Control records (transaction markers) take offsets too; seeing
		// them lets ReadToEnd know the consumer is past them.
		kgo.KeepControlRecords(),
		// Committed records only: exactly-once source tasks write their
		// offsets in the transactions of their records (KIP-618), and an
		// aborted offset must never be read. Without transactions the
		// last stable offset is the high watermark, so nothing waits.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("client for topic %s: %w", topic, err)
	}
	l.client, l.admin = client, kadm.NewClient(client)
	partitions, err := ensureTopic(ctx, l.admin, l.options, l.logger)
	if err != nil {
		return err
	}
	l.partitions = partitions
	from := make(map[int32]kgo.Offset, partitions)
	for p := range partitions {
		from[p] = kgo.NewOffset().AtStart()
	}
	client.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	l.mu.Lock()
	l.mu.running = true
	l.mu.Unlock()
	go l.run(runCtx)
	return nil
}

// run is the consuming goroutine: it gives each fetched record to the
// consumer function and then releases the ReadToEnd calls it satisfied.
func (l *Log) run(ctx context.Context) {
	defer close(l.done)
	for {
		fetches := l.client.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			l.logger.Warn("kafkastore: consuming", "topic", topic, "partition", partition, "error", err)
		})
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if len(fp.Records) == 0 {
				return
			}
			for _, r := range fp.Records {
				if r.Attrs.IsControl() {
					continue
				}
				l.consume(Record{Partition: r.Partition, Offset: r.Offset,
					Key: cloneBytes(r.Key), Value: cloneBytes(r.Value)})
			}
			l.advance(fp.Partition, fp.Records[len(fp.Records)-1].Offset+1)
		})
	}
}

// cloneBytes copies b, keeping nil apart from empty: a record's slices
// point into the fetch's buffer, which a kept key would hold whole.
func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// advance records that the consumer function has seen partition up to
// next and releases the waiters that were waiting for no more.
func (l *Log) advance(partition int32, next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.next[partition] = next
	l.mu.waiters = slices.DeleteFunc(l.mu.waiters, func(w *endWaiter) bool {
		if !l.reachedLocked(w.ends) {
			return false
		}
		close(w.ready)
		return true
	})
}

func (l *Log) reachedLocked(ends map[int32]int64) bool {
	for p, end := range ends {
		if l.mu.next[p] < end {
			return false
		}
	}
	return true
}

// Close stops the consuming goroutine, waits for it and closes the
// client. Pending and later calls fail with ErrClosed.
func (l *Log) Close() {
	l.mu.Lock()
	wasRunning, wasClosed := l.mu.running, l.mu.closed
	l.mu.running, l.mu.closed = false, true
	l.mu.Unlock()
	if wasClosed {
		return
	}
	if wasRunning {
		l.cancel()
		<-l.done
	}
	if l.client != nil {
		l.client.Close()
	}
}
