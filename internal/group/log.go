package group

import "context"

// Log is one partition of __consumer_offsets as the coordinator uses it.
// The broker adapts its partition replica to it. Append and Load are called
// only from the coordinator goroutine; WaitDurable from request goroutines.
type Log interface {
	// Append writes records as one batch, atomically, and returns the
	// offset after it: the records take the offsets just below end, in
	// order. It does not wait for the batch to be durable. A non-nil txn
	// makes the batch transactional, written for txn's producer id and
	// epoch (a TxnOffsetCommit); a partition that knows a newer epoch of
	// that producer writes nothing and returns an error wrapping
	// kerr.InvalidProducerEpoch.
	Append(records []Record, txn *Producer) (end int64, err error)
	// WaitDurable blocks until every record before end is durable.
	WaitDurable(end int64) error
	// Load calls fn with each record and each transaction marker from
	// the log start to its end, in offset order.
	Load(ctx context.Context, fn func(LogRecord) error) error
}

// Producer is the transactional producer a batch is written for.
type Producer struct {
	ID    int64
	Epoch int16
}

// LogRecord is one entry of the log as Load reads it back: a record of a
// batch, or a transaction marker (a control batch).
type LogRecord struct {
	// Offset is the entry's offset in the partition.
	Offset int64
	// ProducerID is the producer id of the entry's batch; -1 for none.
	ProducerID int64
	// Transactional says the record's batch was transactional: the
	// offsets it commits stay pending until a marker of ProducerID.
	Transactional bool
	// Marker says the entry is ProducerID's transaction marker, which
	// commits (Commit) or aborts its transaction; Key and Value are nil.
	Marker, Commit bool
	// Key and Value are the record's; a nil Value is a tombstone.
	Key, Value []byte
}
