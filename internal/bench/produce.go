package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// runProduce is `fjord bench produce`.
func runProduce(ctx context.Context, o Options, stderr io.Writer) (Summary, error) {
	if err := ensureTopic(ctx, o); err != nil {
		return Summary{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failure := &firstError{cancel: cancel}
	m := newMeter(o.Producers, true)
	value := payload(o.RecordBytes)

	// Clients connect before the clock starts, so the run measures
	// producing and not the first metadata round trips of each client.
	clients := make([]*kgo.Client, 0, o.Producers)
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	for i := range o.Producers {
		opts := producerOptions(o)
		if o.TransactionRecords > 0 {
			opts = append(opts, kgo.TransactionalID(fmt.Sprintf("fjord-bench-%s-%d-%d", o.Topic, i, time.Now().UnixNano())))
		}
		cl, err := newClient(o, opts...)
		if err != nil {
			return Summary{}, err
		}
		clients = append(clients, cl)
	}

	stopProgress := func() {}
	if !o.Quiet {
		stopProgress = startProgress(ctx, ModeProduce, o.Records, m, stderr)
	}
	start := time.Now()
	var wg sync.WaitGroup
	var workers []*producerWorker
	for i, cl := range clients {
		share := o.Records / int64(o.Producers)
		if int64(i) < o.Records%int64(o.Producers) {
			share++
		}
		w := &producerWorker{
			client:           cl,
			records:          share,
			txnRecords:       o.TransactionRecords,
			flushRecords:     o.FlushRecords,
			value:            value,
			recordsPerSecond: o.RecordsPerSecond / float64(o.Producers),
			meter:            m,
			latency:          m.recorders[i],
			failure:          failure,
		}
		workers = append(workers, w)
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if err := failure.get(); err != nil {
		return Summary{}, fmt.Errorf("producing to %q after %d acknowledged records: %w", o.Topic, m.records.Load(), err)
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	summary := newSummary(ModeProduce, m.records.Load(), m.bytes.Load(), elapsed, m.latency())
	if o.TransactionRecords > 0 || o.FlushRecords > 0 {
		ends := NewHistogram()
		for _, w := range workers {
			ends.Merge(w.ends)
		}
		if o.TransactionRecords > 0 {
			summary.addCommits(ends)
		} else {
			summary.addFlushes(ends)
		}
	}
	return summary, nil
}

// producerWorker drives one kgo client.
type producerWorker struct {
	client           *kgo.Client
	records          int64
	value            []byte
	recordsPerSecond float64 // 0: unlimited
	meter            *meter
	latency          *latencyRecorder
	failure          *firstError
	// txnRecords, when positive, is how many records each transaction
	// holds; flushRecords, when positive, how many records go before each
	// wait for their acknowledgements. ends is then the time from a group's
	// last send to its commit (Flush then EndTransaction, as the Java
	// producer's commitTransaction flushes) or its last acknowledgement,
	// recorded by this worker only.
	txnRecords   int64
	flushRecords int64
	ends         *Histogram
}

// run produces w.records records and waits for all of them to be
// acknowledged. kgo blocks Produce once its buffer is full
// (MaxBufferedRecords), which is what paces an unlimited run.
func (w *producerWorker) run(ctx context.Context) {
	if w.txnRecords > 0 || w.flushRecords > 0 {
		w.runGroups(ctx)
		return
	}
	// The record's own timestamp is its enqueue time: Kafka's CreateTime,
	// and the start of the latency measured when the promise runs. One
	// promise for every record avoids a closure allocation per record.
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			w.failure.set(err)
			return
		}
		w.latency.record(time.Since(r.Timestamp))
		w.meter.add(1, int64(len(r.Value)))
	}
	start := time.Now()
	for i := range w.records {
		if w.recordsPerSecond > 0 && !waitUntil(ctx, start.Add(time.Duration(float64(i)/w.recordsPerSecond*float64(time.Second)))) {
			break
		}
		if ctx.Err() != nil {
			break
		}
		w.client.Produce(ctx, &kgo.Record{Value: w.value, Timestamp: time.Now()}, promise)
	}
	if err := w.client.Flush(ctx); err != nil && ctx.Err() == nil {
		w.failure.set(fmt.Errorf("flushing: %w", err))
	}
}

// runGroups produces w.records records in groups of w.txnRecords, each a
// transaction committed before the next begins, or of w.flushRecords, each
// acknowledged before the next is produced.
func (w *producerWorker) runGroups(ctx context.Context) {
	w.ends = NewHistogram()
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			w.failure.set(err)
			return
		}
		w.latency.record(time.Since(r.Timestamp))
		w.meter.add(1, int64(len(r.Value)))
	}
	group, txn := w.flushRecords, w.txnRecords > 0
	if txn {
		group = w.txnRecords
	}
	start := time.Now()
	for sent := int64(0); sent < w.records && ctx.Err() == nil; {
		if txn {
			if err := w.client.BeginTransaction(); err != nil {
				w.failure.set(fmt.Errorf("beginning a transaction: %w", err))
				return
			}
		}
		n := min(group, w.records-sent)
		for i := range n {
			at := start.Add(time.Duration(float64(sent+i) / w.recordsPerSecond * float64(time.Second)))
			if w.recordsPerSecond > 0 && !waitUntil(ctx, at) {
				break
			}
			w.client.Produce(ctx, &kgo.Record{Value: w.value, Timestamp: time.Now()}, promise)
		}
		sent += n
		endStart := time.Now()
		if err := w.client.Flush(ctx); err != nil && ctx.Err() == nil {
			w.failure.set(fmt.Errorf("flushing: %w", err))
			return
		}
		if txn {
			if err := w.client.EndTransaction(ctx, kgo.TryCommit); err != nil {
				w.failure.set(fmt.Errorf("committing: %w", err))
				return
			}
		}
		w.ends.Record(time.Since(endStart))
	}
}

// waitUntil waits for t or for ctx to end, reporting which came first as
// true for t. A rate-limited producer that is behind schedule does not wait.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// payload is one record value shared by every record of a run: random
// capital letters, as Kafka's producer perf test uses, from a fixed seed
// so runs are comparable. kgo never writes to a record's value.
func payload(size int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('A' + r.IntN(26))
	}
	return b
}
