package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// Task and connector states, as the REST API and the status topic name
// them.
const (
	StateUnassigned = "UNASSIGNED"
	StateRunning    = "RUNNING"
	StatePaused     = "PAUSED"
	StateStopped    = "STOPPED"
	StateFailed     = "FAILED"
	StateRestarting = "RESTARTING"
)

// TaskID names a task of a connector, as the REST API does.
type TaskID struct {
	Connector string
	Task      int
}

func (id TaskID) String() string { return fmt.Sprintf("%s-%d", id.Connector, id.Task) }

// recordConverters turn Connect keys, values and headers into bytes and
// back, as a connector's configuration chose them.
type recordConverters struct {
	key, value connect.Converter
	header     connect.HeaderConverter
}

// sourceTaskRunner runs one source task on its own goroutine (run): it
// polls the task, transforms and converts each record and hands it to the
// producer, and commits the source offsets of every record the producer
// has acknowledged, every offset.flush.interval.ms and when it stops.
type sourceTaskRunner struct {
	id         TaskID
	task       connect.SourceTask
	config     map[string]string
	converters recordConverters
	// transform applies the connector's transforms; false drops the
	// record. nil keeps every record as it is.
	transform    func(*connect.SourceRecord) (bool, error)
	producer     *kgo.Client
	offsets      offsetStore
	flushEvery   time.Duration
	flushTimeout time.Duration
	// report is told of each state the task enters; err explains FAILED.
	report func(state string, err error)
	logger *slog.Logger
	target *targetState

	// txn, when set, makes the task exactly-once: its records and offsets
	// go in producer transactions instead of the offset store.
	txn *sourceTransactions

	// pending are the offsets of the records handed to the producer since
	// the last commit, the latest per source partition.
	pending map[string]connect.SourcePartitionOffset

	acks struct {
		sync.Mutex
		err error // the first failed write
		// written are acknowledged records for RecordCommitter.
		written []writtenRecord
	}
}

// writtenRecord is a record the producer acknowledged, with where it went.
type writtenRecord struct {
	record   connect.SourceRecord
	metadata *connect.RecordMetadata
}

// run drives the task until ctx ends or the task fails. It commits what
// was written before it returns.
func (r *sourceTaskRunner) run(ctx context.Context) {
	r.pending = map[string]connect.SourcePartitionOffset{}
	if r.txn != nil {
		// Fence the task's previous incarnation first, as Kafka
		// initializes the producer before the task: that completes its
		// last transaction, so the offsets read next include what it
		// committed (the commit marker may still be on its way, which
		// would keep them past the last stable offset).
		if err := fenceProducer(ctx, r.producer, r.txn.id); err != nil {
			r.fail(fmt.Errorf("starting task %s: %w", r.id, err))
			return
		}
	}
	tctx := &sourceTaskContext{config: r.config, reader: storeReader{store: r.offsets, connector: r.id.Connector}}
	if r.txn != nil && r.txn.defined != nil {
		tctx.txn = r.txn.defined
	}
	if err := r.task.Start(tctx, r.config); err != nil {
		r.fail(fmt.Errorf("starting task %s: %w", r.id, err))
		return
	}
	err := r.loop(ctx)
	// The last commit outlives ctx: what was written must be recorded.
	stopCtx := context.WithoutCancel(ctx)
	if err == nil {
		err = r.commit(stopCtx)
	}
	if err == nil && r.txn != nil && r.txn.defined != nil && r.txn.open {
		// A transaction the task did not end is not the task's to
		// commit: its records come again from the last committed offsets.
		err = r.producer.EndTransaction(stopCtx, kgo.TryAbort)
	}
	if stopErr := r.task.Stop(); err == nil && stopErr != nil {
		err = fmt.Errorf("stopping task %s: %w", r.id, stopErr)
	}
	if err != nil {
		r.fail(err)
		return
	}
	r.report(StateUnassigned, nil)
}

// loop polls until ctx ends (nil) or the task fails.
func (r *sourceTaskRunner) loop(ctx context.Context) error {
	ticker := time.NewTicker(r.flushEvery)
	defer ticker.Stop()
	r.report(StateRunning, nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := r.commit(ctx); err != nil {
				return err
			}
		default:
		}
		if r.target.paused() {
			if err := r.commit(ctx); err != nil {
				return err
			}
			r.report(StatePaused, nil)
			if !r.target.waitResumed(ctx) {
				return nil
			}
			r.report(StateRunning, nil)
		}
		records, err := r.task.Poll(ctx)
		if err != nil && ctx.Err() == nil && !isRetriable(err) {
			return fmt.Errorf("task %s: poll: %w", r.id, err)
		}
		if r.txn != nil {
			if err := r.txn.sendBatch(ctx, r, records); err != nil {
				return err
			}
			continue
		}
		for i := range records {
			if err := r.send(ctx, records[i]); err != nil {
				return err
			}
		}
		if err := r.afterWrites(ctx); err != nil {
			return err
		}
	}
}

// send transforms, converts and produces one record.
func (r *sourceTaskRunner) send(ctx context.Context, rec connect.SourceRecord) error {
	if err := r.track(rec); err != nil {
		return err
	}
	if r.transform != nil {
		keep, err := r.transform(&rec)
		if err != nil {
			return fmt.Errorf("task %s: transforming a record for %s: %w", r.id, rec.Topic, err)
		}
		if !keep {
			r.acknowledged(rec, nil, nil)
			return nil
		}
	}
	kr, err := r.toKafka(rec)
	if err != nil {
		return fmt.Errorf("task %s: converting a record for %s: %w", r.id, rec.Topic, err)
	}
	// A record in flight is written even if the task stops meanwhile.
	r.producer.Produce(context.WithoutCancel(ctx), kr, func(kr *kgo.Record, err error) {
		var md *connect.RecordMetadata
		if err == nil {
			md = &connect.RecordMetadata{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Timestamp: kr.Timestamp}
		}
		r.acknowledged(rec, md, err)
	})
	return nil
}

// track notes rec's source offset as the latest of its source partition.
func (r *sourceTaskRunner) track(rec connect.SourceRecord) error {
	if rec.SourcePartition == nil {
		return nil
	}
	id, err := partitionID(rec.SourcePartition)
	if err != nil {
		return fmt.Errorf("task %s: source partition %v: %w", r.id, rec.SourcePartition, err)
	}
	r.pending[id] = connect.SourcePartitionOffset{Partition: rec.SourcePartition, Offset: rec.SourceOffset}
	return nil
}

// partitionID identifies a source partition among the pending offsets: a
// canonical form, much cheaper than its JSON key, which track would
// otherwise compute for every record (a quarter of a file source's time).
// Keys and strings are length-prefixed, so no two partitions share a form.
func partitionID(p map[string]any) (string, error) {
	var keys []string
	if len(p) > 1 {
		keys = make([]string, 0, len(p))
		for k := range p {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	} else {
		for k := range p {
			keys = []string{k}
		}
	}
	b := make([]byte, 0, 64)
	for _, k := range keys {
		b = strconv.AppendInt(b, int64(len(k)), 10)
		b = append(b, ':')
		b = append(b, k...)
		var err error
		if b, err = appendPartitionValue(b, p[k]); err != nil {
			return "", err
		}
	}
	return string(b), nil
}

func appendPartitionValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		return append(b, v...), nil
	case nil:
		return append(b, 'n'), nil
	case bool:
		return strconv.AppendBool(append(b, 'b'), v), nil
	case int64:
		return strconv.AppendInt(append(b, 'i'), v, 10), nil
	case int32:
		return strconv.AppendInt(append(b, 'i'), int64(v), 10), nil
	case float64:
		return strconv.AppendFloat(append(b, 'f'), v, 'g', -1, 64), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = append(b, 'j')
	b = strconv.AppendInt(b, int64(len(j)), 10)
	b = append(b, ':')
	return append(b, j...), nil
}

// toKafka converts a record's headers, key and value to bytes.
func (r *sourceTaskRunner) toKafka(rec connect.SourceRecord) (*kgo.Record, error) {
	var headers connect.RecordHeaders
	for _, h := range rec.Headers {
		b, err := r.converters.header.FromConnectHeader(rec.Topic, h.Key, h.Schema, h.Value)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
		headers.Add(h.Key, b)
	}
	key, err := r.converters.key.FromConnectData(rec.Topic, &headers, rec.KeySchema, rec.Key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	value, err := r.converters.value.FromConnectData(rec.Topic, &headers, rec.ValueSchema, rec.Value)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	kr := &kgo.Record{Topic: rec.Topic, Key: key, Value: value, Timestamp: rec.Timestamp}
	for _, h := range headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if rec.Partition != nil {
		withChosenPartition(kr, *rec.Partition)
	}
	return kr, nil
}

// acknowledged is called by the producer (or send, for a dropped record)
// once a record is written or failed.
func (r *sourceTaskRunner) acknowledged(rec connect.SourceRecord, md *connect.RecordMetadata, err error) {
	r.acks.Lock()
	defer r.acks.Unlock()
	if err != nil {
		if r.acks.err == nil {
			r.acks.err = fmt.Errorf("task %s: writing a record to %s: %w", r.id, rec.Topic, err)
		}
		return
	}
	if _, ok := r.task.(connect.RecordCommitter); ok {
		r.acks.written = append(r.acks.written, writtenRecord{record: rec, metadata: md})
	}
}

// afterWrites fails on a failed write and hands acknowledged records to a
// RecordCommitter, on the task's goroutine.
func (r *sourceTaskRunner) afterWrites(ctx context.Context) error {
	r.acks.Lock()
	err, written := r.acks.err, r.acks.written
	r.acks.written = nil
	r.acks.Unlock()
	if err != nil {
		return err
	}
	rc, ok := r.task.(connect.RecordCommitter)
	if !ok {
		return nil
	}
	for _, w := range written {
		if err := rc.CommitRecord(ctx, w.record, w.metadata); err != nil {
			return fmt.Errorf("task %s: commit record: %w", r.id, err)
		}
	}
	return nil
}

// commit waits (up to offset.flush.timeout.ms) until the producer has
// written every record handed to it, then stores their source offsets. A
// timeout keeps them for the next commit, as Kafka does; a failed write
// fails the task.
func (r *sourceTaskRunner) commit(ctx context.Context) error {
	if r.txn != nil {
		if r.txn.defined != nil {
			return nil // the task ends its transactions itself
		}
		return r.txn.commit(ctx, r)
	}
	if len(r.pending) == 0 {
		return r.afterWrites(ctx)
	}
	flushCtx, cancel := context.WithTimeout(ctx, r.flushTimeout)
	defer cancel()
	if err := r.producer.Flush(flushCtx); err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("offset commit: records not written in time; trying at the next commit",
				"task", r.id.String(), "timeout", r.flushTimeout)
		}
		return nil
	}
	if err := r.afterWrites(ctx); err != nil {
		return err
	}
	offsets := make([]connect.SourcePartitionOffset, 0, len(r.pending))
	for _, o := range r.pending {
		offsets = append(offsets, o)
	}
	if err := r.offsets.put(ctx, r.id.Connector, offsets); err != nil {
		r.logger.Warn("offset commit failed; trying at the next commit", "task", r.id.String(), "err", err)
		return nil
	}
	clear(r.pending)
	if c, ok := r.task.(connect.Committer); ok {
		if err := c.Commit(ctx); err != nil {
			r.logger.Warn("task commit failed", "task", r.id.String(), "err", err)
		}
	}
	return nil
}

func (r *sourceTaskRunner) fail(err error) {
	r.logger.Error("task failed", "task", r.id.String(), "err", err)
	r.report(StateFailed, err)
}

// sourceTaskContext is what a source task sees of the worker.
type sourceTaskContext struct {
	config map[string]string
	reader connect.OffsetReader
	txn    *transactionContext
}

func (c *sourceTaskContext) Config() map[string]string          { return c.config }
func (c *sourceTaskContext) OffsetReader() connect.OffsetReader { return c.reader }

// TransactionContext is nil unless the task defines its transactions
// (exactly-once with transaction.boundary=connector).
func (c *sourceTaskContext) TransactionContext() connect.TransactionContext {
	if c.txn == nil {
		return nil
	}
	return c.txn
}

// storeReader reads one connector's committed offsets from a store.
type storeReader struct {
	store     offsetStore
	connector string
}

func (s storeReader) Offset(ctx context.Context, partition map[string]any) (map[string]any, error) {
	out, err := s.store.get(ctx, s.connector, []map[string]any{partition})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (s storeReader) Offsets(ctx context.Context, partitions []map[string]any) ([]map[string]any, error) {
	return s.store.get(ctx, s.connector, partitions)
}

// targetState is the state the herder wants a task in: running or paused.
// Its zero value is running.
type targetState struct {
	mu      sync.Mutex
	isPause bool
	resumed chan struct{} // closed on resume; nil while running
}

func (t *targetState) paused() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.isPause
}

// set pauses or resumes.
func (t *targetState) set(pause bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pause == t.isPause {
		return
	}
	t.isPause = pause
	if pause {
		t.resumed = make(chan struct{})
		return
	}
	close(t.resumed)
	t.resumed = nil
}

// waitResumed waits while paused; false when ctx ended first.
func (t *targetState) waitResumed(ctx context.Context) bool {
	t.mu.Lock()
	ch := t.resumed
	t.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// isRetriable reports whether err is marked connect.RetriableError.
func isRetriable(err error) bool {
	var re *connect.RetriableError
	return errors.As(err, &re)
}
