package connect

import (
	"context"
	"time"
)

// SourceTask reads records from an external system for the worker to write
// to Kafka (Kafka's SourceTask).
//
// The worker calls Start, Poll, the optional Commit and CommitRecord, and
// Stop on one goroutine, one call at a time, so a task needs no locks of its
// own. To stop or pause a task, the worker cancels the context of the Poll
// in progress and calls Stop once Poll has returned.
type SourceTask interface {
	// Start begins reading with the task's configuration (one of those
	// TaskConfigs returned). ctx stays valid until Stop returns; read the
	// committed offsets from ctx.OffsetReader() to resume.
	Start(ctx SourceTaskContext, config map[string]string) error
	// Poll returns the records read since the last call. When none are
	// ready it waits briefly (about a second at most) and returns nil, nil,
	// so that the worker can pause or stop the task; it returns promptly
	// when ctx is canceled. A RetriableError makes the worker poll again.
	Poll(ctx context.Context) ([]SourceRecord, error)
	// Stop ends the task and releases what Start took.
	Stop() error
}

// Committer is implemented by source tasks that keep offsets in the
// external system too (Kafka's SourceTask.commit): the worker calls Commit
// after each offset commit. The offsets committed are not necessarily those
// of the last records polled.
type Committer interface {
	Commit(ctx context.Context) error
}

// RecordCommitter is implemented by source tasks that acknowledge records
// one by one in the external system (Kafka's SourceTask.commitRecord). The
// worker calls CommitRecord for each record once the producer has written
// it, with metadata nil when a transform dropped the record or
// errors.tolerance=all let its failure pass.
type RecordCommitter interface {
	CommitRecord(ctx context.Context, record SourceRecord, metadata *RecordMetadata) error
}

// OffsetReader reads committed source offsets (Kafka's
// OffsetStorageReader). An offset not committed yet reads as nil.
type OffsetReader interface {
	// Offset returns the committed offset of one source partition.
	Offset(ctx context.Context, partition map[string]any) (map[string]any, error)
	// Offsets returns the committed offsets of several source partitions,
	// in their order.
	Offsets(ctx context.Context, partitions []map[string]any) ([]map[string]any, error)
}

// SourceTaskContext lets a source task talk to the worker. Its methods are
// safe to call from any goroutine.
type SourceTaskContext interface {
	// Config returns the task's latest configuration, which may differ from
	// the one given to Start when config providers resolve secrets anew.
	Config() map[string]string
	// OffsetReader reads the offsets committed for this connector.
	OffsetReader() OffsetReader
	// TransactionContext returns the context to define transactions with,
	// or nil unless exactly-once source support is enabled and the
	// connector is configured with transaction.boundary=connector.
	TransactionContext() TransactionContext
}

// TransactionContext lets a source task define the producer transactions
// that carry its records when it runs with exactly-once support and
// transaction.boundary=connector (KIP-618's TransactionContext). The
// records passed to the ...After methods are identified by address: pass a
// pointer into the slice that Poll returns (&records[i]), and do not
// reallocate that slice afterwards; the worker fails the task if the record
// is not in the batch.
type TransactionContext interface {
	// CommitTransaction commits the transaction after the batch of the next
	// (or current) Poll.
	CommitTransaction()
	// CommitTransactionAfter commits the transaction after record, which
	// ends it; it wins over AbortTransaction of the same batch.
	CommitTransactionAfter(record *SourceRecord)
	// AbortTransaction aborts the transaction after the batch of the next
	// (or current) Poll; the records are dropped, their offsets committed.
	AbortTransaction()
	// AbortTransactionAfter aborts the transaction after record; it wins
	// over CommitTransaction of the same batch.
	AbortTransactionAfter(record *SourceRecord)
}

// SinkTask writes records from Kafka to an external system (Kafka's
// SinkTask).
//
// The worker calls Start, then Open for the partitions assigned, Put with
// batches of their records, Flush (or PreCommit) before each offset commit,
// Close when partitions are revoked, and finally Stop, on one goroutine,
// one call at a time.
//
// Offsets: the worker commits, for each partition, the offset of the next
// record to read, in the partitions' original terms (see SinkRecord's
// Original fields). With Flush, a task says "everything put so far is
// written"; a task that writes asynchronously, or keeps offsets in the
// external system, implements PreCommitter instead to say which offsets are
// safe.
type SinkTask interface {
	// Start begins work with the task's configuration. ctx stays valid until
	// Stop returns.
	Start(ctx SinkTaskContext, config map[string]string) error
	// Put writes the records, or buffers them for Flush. A RetriableError
	// makes the worker pass the same records again after a backoff (see
	// SinkTaskContext.Timeout); ctx is canceled when the task must stop.
	Put(ctx context.Context, records []SinkRecord) error
	// Flush makes every record put so far durable in the external system.
	// offsets holds, per partition, the offset after the last record put;
	// the worker commits them when Flush returns nil.
	Flush(ctx context.Context, offsets map[TopicPartition]int64) error
	// Stop ends the task after a last Flush and commit.
	Stop() error
}

// PreCommitter is implemented by sink tasks that decide which offsets are
// safe to commit (Kafka's SinkTask.preCommit). When a task implements it,
// the worker calls PreCommit instead of Flush and commits what it returns:
// an empty map commits nothing (for tasks that keep offsets in the external
// system and rewind with SinkTaskContext.Offset).
type PreCommitter interface {
	PreCommit(ctx context.Context, offsets map[TopicPartition]int64) (map[TopicPartition]int64, error)
}

// PartitionOpenCloser is implemented by sink tasks that keep per-partition
// state, such as an open file per partition (Kafka's SinkTask.open and
// close). Open is called when partitions are assigned, before their records
// are put; Close when they are revoked, after their last Flush. Partitions
// are in their original terms.
type PartitionOpenCloser interface {
	Open(ctx context.Context, partitions []TopicPartition) error
	Close(ctx context.Context, partitions []TopicPartition) error
}

// SinkTaskContext lets a sink task steer the consumer that feeds it. Its
// methods are safe to call from any goroutine.
type SinkTaskContext interface {
	// Config returns the task's latest configuration.
	Config() map[string]string
	// Assignment returns the partitions currently assigned to the task.
	Assignment() []TopicPartition
	// Offset rewinds (or advances) the consumer of a partition to offset,
	// for tasks that keep offsets in the external system: the next records
	// put start there.
	Offset(tp TopicPartition, offset int64)
	// Timeout sets how long the worker waits before passing records again
	// after Put returned a RetriableError.
	Timeout(d time.Duration)
	// Pause stops fetching from the partitions until Resume.
	Pause(partitions ...TopicPartition)
	// Resume fetches again from paused partitions.
	Resume(partitions ...TopicPartition)
	// RequestCommit asks for an offset commit soon; a hint, not a promise.
	RequestCommit()
	// ErrantRecordReporter returns the reporter of records that cannot be
	// written, or nil when the connector has no errors.tolerance and dead
	// letter queue configured.
	ErrantRecordReporter() ErrantRecordReporter
}

// ErrantRecordReporter sends records a sink task cannot write to the
// connector's dead letter queue (errors.deadletterqueue.topic.name), with
// the error in its headers (Kafka's ErrantRecordReporter).
type ErrantRecordReporter interface {
	// Report queues record and its error and returns at once. The channel
	// receives one value, nil once the record is written or the error that
	// prevented it; it is buffered, so a task may ignore it. Records
	// reported are written before the next Flush or PreCommit.
	Report(record SinkRecord, err error) <-chan error
}
