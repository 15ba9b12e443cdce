package runtime

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// transactionContext is the connect.TransactionContext of a task with
// transaction.boundary=connector: the task asks, during a poll, for its
// transaction to end after the poll's batch or after one of its records,
// and sendBatch does it when it gets there.
type transactionContext struct {
	mu          sync.Mutex
	commitBatch bool
	abortBatch  bool
	commitAfter map[*connect.SourceRecord]bool
	abortAfter  map[*connect.SourceRecord]bool
}

func newTransactionContext() *transactionContext {
	return &transactionContext{commitAfter: map[*connect.SourceRecord]bool{}, abortAfter: map[*connect.SourceRecord]bool{}}
}

func (c *transactionContext) CommitTransaction() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commitBatch = true
}

func (c *transactionContext) CommitTransactionAfter(record *connect.SourceRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.commitAfter[record] = true
}

func (c *transactionContext) AbortTransaction() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.abortBatch = true
}

func (c *transactionContext) AbortTransactionAfter(record *connect.SourceRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.abortAfter[record] = true
}

// batchEnd is how a batch's requests end the transaction: its records
// ending it, by index (a commit after one wins over an abort, as Kafka
// decides), and whether the transaction ends after the batch.
type batchEnd struct {
	afterRecord map[int]bool // index -> commit (true) or abort (false)
	end, commit bool
}

// take returns the requests about records, and clears them for the next
// batch. A record asked about that is not in the batch fails the task.
func (c *transactionContext) take(records []connect.SourceRecord) (batchEnd, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := batchEnd{afterRecord: map[int]bool{}}
	index := make(map[*connect.SourceRecord]int, len(records))
	for i := range records {
		index[&records[i]] = i
	}
	for rec := range c.abortAfter {
		i, ok := index[rec]
		if !ok {
			return out, fmt.Errorf("AbortTransactionAfter was given a record that is not in the batch the task polled")
		}
		out.afterRecord[i] = false
	}
	for rec := range c.commitAfter {
		i, ok := index[rec]
		if !ok {
			return out, fmt.Errorf("CommitTransactionAfter was given a record that is not in the batch the task polled")
		}
		out.afterRecord[i] = true
	}
	out.end, out.commit = c.commitBatch || c.abortBatch, c.commitBatch
	c.commitBatch, c.abortBatch = false, false
	clear(c.commitAfter)
	clear(c.abortAfter)
	return out, nil
}

// sendDefined sends a batch of a task that defines its own transactions,
// ending them where the task asked.
func (x *sourceTransactions) sendDefined(ctx context.Context, r *sourceTaskRunner, records []connect.SourceRecord) error {
	ends, err := x.defined.take(records)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.id, err)
	}
	for i := range records {
		if err := x.begin(r); err != nil {
			return err
		}
		if err := r.send(ctx, records[i]); err != nil {
			return err
		}
		if commit, ok := ends.afterRecord[i]; ok {
			if err := x.end(ctx, r, commit); err != nil {
				return err
			}
		}
	}
	if ends.end && x.open {
		return x.end(ctx, r, ends.commit)
	}
	return nil
}

// begin opens a transaction unless one is open.
func (x *sourceTransactions) begin(r *sourceTaskRunner) error {
	if x.open {
		return nil
	}
	if err := r.producer.BeginTransaction(); err != nil {
		return fmt.Errorf("task %s: begin transaction: %w", r.id, err)
	}
	x.open = true
	return nil
}

// end commits the open transaction, or aborts it as the task asked: the
// records are dropped but their source offsets are committed, in a
// transaction of their own, so the task does not read them again.
func (x *sourceTransactions) end(ctx context.Context, r *sourceTaskRunner, commit bool) error {
	if commit {
		return x.commit(ctx, r)
	}
	if err := r.producer.Flush(ctx); err != nil {
		return x.abort(ctx, r, err)
	}
	if err := r.producer.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return fmt.Errorf("task %s: abort transaction: %w", r.id, err)
	}
	x.open = false
	r.acks.Lock()
	r.acks.written = nil // aborted: not written, not for CommitRecord
	r.acks.Unlock()
	if err := x.begin(r); err != nil {
		return err
	}
	return x.commit(ctx, r)
}
