package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/connect"
)

// keyTxnBoundaryInterval is how long a transaction of
// transaction.boundary=interval lasts; offset.flush.interval.ms when unset.
const keyTxnBoundaryInterval = "transaction.boundary.interval.ms"

// sourceTransactions makes a source task exactly-once (KIP-618): its
// records and their source offsets are written in one producer
// transaction, the offsets to the offsets topic, so that a task that dies
// mid-transaction leaves neither, and its successor, whose producer has the
// same transactional id and so fences it, resumes from offsets that match
// the records in the topic exactly.
type sourceTransactions struct {
	// id is the producer's transactional id.
	id           string
	offsetsTopic string
	// interval is transaction.boundary=interval's length (the task's
	// loop commits on its ticker, which then ticks at this interval);
	// zero commits after each poll that returned records
	// (transaction.boundary=poll).
	interval time.Duration
	// defined, for transaction.boundary=connector, is the task's
	// TransactionContext: the task ends its transactions.
	defined *transactionContext
	open    bool
}

// transactionalID is the producer's transactional.id of a source task
// under exactly-once, as Kafka names it.
func transactionalID(groupID string, id TaskID) string {
	return fmt.Sprintf("%s-%s-%d", groupID, id.Connector, id.Task)
}

// newSourceTransactions reads a connector's transaction boundary.
func newSourceTransactions(worker *WorkerConfig, id TaskID, config map[string]string) (*sourceTransactions, error) {
	x := &sourceTransactions{id: transactionalID(worker.GroupID, id), offsetsTopic: worker.OffsetTopic}
	switch strings.ToLower(config[keyTxnBoundary]) {
	case "", "poll":
	case "interval":
		x.interval = worker.OffsetFlushInterval
		if v, ok := config[keyTxnBoundaryInterval]; ok {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return nil, fmt.Errorf("%s must be a positive number of milliseconds, not %q", keyTxnBoundaryInterval, v)
			}
			x.interval = time.Duration(ms) * time.Millisecond
		}
	case "connector":
		x.defined = newTransactionContext()
	default:
		return nil, fmt.Errorf("%w: transaction.boundary=%s", errors.ErrUnsupported, config[keyTxnBoundary])
	}
	return x, nil
}

// sendBatch writes a poll's records in the open transaction, beginning one
// if needed, and commits it when the boundary is reached.
func (x *sourceTransactions) sendBatch(ctx context.Context, r *sourceTaskRunner, records []connect.SourceRecord) error {
	if x.defined != nil {
		return x.sendDefined(ctx, r, records)
	}
	if len(records) > 0 {
		if err := x.begin(r); err != nil {
			return err
		}
	}
	for i := range records {
		if err := r.send(ctx, records[i]); err != nil {
			return err
		}
	}
	if x.interval == 0 {
		return x.commit(ctx, r)
	}
	return nil
}

// commit writes the pending source offsets into the open transaction and
// commits it once every record is acknowledged; a failed write aborts it
// and fails the task, whose successor resumes from the last commit.
func (x *sourceTransactions) commit(ctx context.Context, r *sourceTaskRunner) error {
	if !x.open {
		return r.afterWrites(ctx)
	}
	x.open = false
	for _, o := range r.pending {
		key, err := offsetKey(r.id.Connector, o.Partition)
		if err != nil {
			return x.abort(ctx, r, err)
		}
		var value []byte
		if o.Offset != nil {
			if value, err = json.Marshal(o.Offset); err != nil {
				return x.abort(ctx, r, fmt.Errorf("offset %v: %w", o.Offset, err))
			}
		}
		r.producer.Produce(ctx, &kgo.Record{Topic: x.offsetsTopic, Key: key, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				r.acknowledged(connect.SourceRecord{Topic: x.offsetsTopic}, nil, err)
			}
		})
	}
	if err := r.producer.Flush(ctx); err != nil {
		return x.abort(ctx, r, err)
	}
	r.acks.Lock()
	writeErr := r.acks.err
	r.acks.Unlock()
	if writeErr != nil {
		return x.abort(ctx, r, writeErr)
	}
	if err := r.producer.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("task %s: commit transaction: %w", r.id, err)
	}
	clear(r.pending)
	if err := r.afterWrites(ctx); err != nil {
		return err
	}
	if c, ok := r.task.(connect.Committer); ok {
		if err := c.Commit(ctx); err != nil {
			r.logger.Warn("task commit failed", "task", r.id.String(), "err", err)
		}
	}
	return nil
}

// abort ends the open transaction without its records and fails the task
// with cause.
func (x *sourceTransactions) abort(ctx context.Context, r *sourceTaskRunner, cause error) error {
	if err := r.producer.AbortBufferedRecords(ctx); err != nil {
		cause = errors.Join(cause, err)
	}
	if err := r.producer.EndTransaction(ctx, kgo.TryAbort); err != nil {
		cause = errors.Join(cause, err)
	}
	return fmt.Errorf("task %s: transaction aborted: %w", r.id, cause)
}

// fenceTasks bumps the producer epochs of tasks [from, to) of a connector
// under exactly-once, as Kafka's leader fences the tasks of a previous
// generation: a task that no successor will replace (the connector now has
// fewer tasks, or none) could otherwise still commit records from a worker
// the group gave up on. A task that is replaced is fenced by its successor,
// which initializes the same transactional id.
func fenceTasks(ctx context.Context, client *kgo.Client, groupID, connector string, from, to int) error {
	for task := from; task < to; task++ {
		id := transactionalID(groupID, TaskID{Connector: connector, Task: task})
		if err := fenceProducer(ctx, client, id); err != nil {
			return err
		}
	}
	return nil
}

// fenceProducer initializes a transactional id, which aborts its open
// transaction and fences its current producer.
func fenceProducer(ctx context.Context, client *kgo.Client, id string) error {
	for {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = int32(time.Minute / time.Millisecond)
		req.ProducerID, req.ProducerEpoch = -1, -1
		resp, err := req.RequestWith(ctx, client)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		// The coordinator answers CONCURRENT_TRANSACTIONS while it aborts
		// the fenced producer's transaction.
		if err == nil || !errors.Is(err, kerr.ConcurrentTransactions) && !kerr.IsRetriable(err) {
			if err != nil {
				return fmt.Errorf("fencing the producers of %s: %w", id, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fencing the producers of %s: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
