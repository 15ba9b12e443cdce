package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/checker"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The transactional half of the checked workload (RELIABILITY.md §3 rule
// 10): franz-go producers with a transactional id, each transaction
// sending a few values to every partition of the checked topic and then
// committing, or, one in txnAbortEvery, aborting on purpose. Begin, sends,
// commit and abort go into the history with their outcomes; the checker
// judges read_committed reads against them.

// checkedTxnProducers is how many transactional producers run, each with
// its own transactional id, beside the idempotent ones.
const checkedTxnProducers = 2

// txnValuesPerPartition is how many values one transaction sends to each
// partition: a few, so that a transaction is several batches in several
// partitions and a torn one shows.
const txnValuesPerPartition = 2

// txnAbortEvery: every txnAbortEvery-th transaction of a producer is
// aborted on purpose, so that read_committed readers always have aborted
// values to skip.
const txnAbortEvery = 4

// txnPause spaces a producer's transactions: each costs a coordinator
// write and a marker per partition, and two shared cores also carry the
// brokers, the other clients and the faults.
const txnPause = 20 * time.Millisecond

// txnStopGrace bounds how long stopping waits for a producer to end its
// transaction before it closes the producer's client under it: kgo retries
// a CONCURRENT_TRANSACTIONS answer to InitProducerId without a deadline.
const txnStopGrace = txnEndTimeout + 10*time.Second

// txnRecoveryTimeout bounds how long transactions may take to commit again
// after a fault is healed: a transaction its producer abandoned holds its
// partitions until the coordinator aborts it (checkedTxnTimeout, checked
// every 10 s).
const txnRecoveryTimeout = time.Minute

// txnRecreateBackoff spaces a producer's new clients: while its
// coordinator is down, a new client's first InitProducerId fails at once.
const txnRecreateBackoff = 250 * time.Millisecond

// checkedTxnTimeout is the producers' transaction.timeout.ms: after it the
// coordinator aborts a transaction its producer left open (a producer cut
// off by a fault), fencing the producer. It is well above what a
// transaction takes while a leader or coordinator moves, and short enough
// that an abandoned transaction does not hold the last stable offset, and
// the read_committed consumers, for long.
const checkedTxnTimeout = 20 * time.Second

// txnEndTimeout bounds one transaction's flush, and its commit or abort,
// which kgo retries across coordinator moves; txnDeliveryTimeout bounds
// one record's delivery, after which the transaction aborts.
const (
	txnEndTimeout      = 30 * time.Second
	txnDeliveryTimeout = 20 * time.Second
)

// Transactional producers are processes txnProcessBase+1..; each new
// client a producer makes (after being fenced, or when its state is in
// doubt) is a new session, txnSessionBase + 100*incarnation + producer.
// Their values are (txnValueBase+producer)<<40 | seq, apart from the
// idempotent producers'.
const (
	txnProcessBase = 10
	txnSessionBase = 300
	txnValueBase   = 10
)

// txnTally counts the transactions of the run by how they ended, for the
// log and for progress waits.
type txnTally struct {
	mu                                     sync.Mutex
	committed, aborted, unknown, recreated int
	errs                                   []string // first errors, for the log
	grew                                   chan struct{}
}

func (c *txnTally) note(f func(*txnTally)) {
	c.mu.Lock()
	f(c)
	c.mu.Unlock()
	select {
	case c.grew <- struct{}{}:
	default:
	}
}

func (c *txnTally) noteError(format string, args ...any) {
	c.note(func(c *txnTally) {
		if len(c.errs) < 20 {
			c.errs = append(c.errs, fmt.Sprintf(format, args...))
		}
	})
}

func (c *txnTally) committedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

func (c *txnTally) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("%d committed, %d aborted on purpose or after an error, %d of unknown outcome, %d clients recreated",
		c.committed, c.aborted, c.unknown, c.recreated)
}

// waitCommitted waits, at most txnRecoveryTimeout, until want
// transactions in all committed: the liveness of transactions around a
// fault. Callers take want from committedCount before what they wait for,
// so that the wait overlaps with others.
func (c *txnTally) waitCommitted(t *testing.T, ctx context.Context, want int, what string) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, txnRecoveryTimeout)
	defer cancel()
	for c.committedCount() < want {
		select {
		case <-c.grew:
		case <-waitCtx.Done():
			c.mu.Lock()
			errs := c.errs
			c.mu.Unlock()
			t.Fatalf("%s: only %d of %d transactions committed within %v (%s); first errors: %q",
				what, c.committedCount(), want, txnRecoveryTimeout, c, errs)
		}
	}
}

// checkedTxnProducer is one transactional producer: one transactional id,
// driven by one goroutine, which recreates its client when the client is
// fenced or its state is in doubt.
type checkedTxnProducer struct {
	// clientCtx is the context of every client the producer makes (kgo's
	// WithContext): cancelling it interrupts what kgo retries forever.
	clientCtx   context.Context
	index       int
	txnID       string
	seeds       []string
	topic       string
	partitions  int
	rec         *checker.Recorder
	tally       *txnTally
	cl          *kgo.Client
	incarnation int
	seq         uint64
	// inDoubt is set when a transaction of the current client may still
	// be open at the coordinator: its commit or abort and kgo's recovery
	// both failed. The next client's first InitProducerId ends it.
	inDoubt bool
}

func (p *checkedTxnProducer) session() int { return txnSessionBase + 100*p.incarnation + p.index }

func (p *checkedTxnProducer) process() int { return txnProcessBase + p.index }

func (p *checkedTxnProducer) newClient() error {
	cl, err := kgo.NewClient(kgo.WithContext(p.clientCtx), kgo.SeedBrokers(p.seeds...), kgo.DefaultProduceTopic(p.topic),
		kgo.TransactionalID(p.txnID), kgo.TransactionTimeout(checkedTxnTimeout),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(txnDeliveryTimeout), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.ProduceRequestTimeout(clientRequestTimeout), kgo.RequestTimeoutOverhead(clientRequestTimeout))
	if err != nil {
		return err
	}
	p.cl = cl
	return nil
}

// recreate closes the client and, after txnRecreateBackoff, makes a new
// one, a new session.
func (p *checkedTxnProducer) recreate(ctx context.Context, why string) {
	p.cl.Close()
	select {
	case <-time.After(txnRecreateBackoff):
	case <-ctx.Done():
	}
	p.incarnation++
	p.tally.note(func(c *txnTally) { c.recreated++ })
	p.tally.noteError("producer %d recreated: %s", p.index, why)
	if err := p.newClient(); err != nil {
		panic(fmt.Sprintf("kgo.NewClient with valid options: %v", err)) // options were accepted before
	}
}

// startCheckedTxnProducers starts checkedTxnProducers transactional
// producers recording into rec; stop ends each after its current
// transaction and ends any transaction left in doubt (endInDoubt), so that
// after it no transaction of theirs is open. A producer that does not
// finish within txnStopGrace has its client closed under it, and the
// test fails.
func startCheckedTxnProducers(t *testing.T, ctx context.Context, rec *checker.Recorder, servers []*fjordtest.Server, topic string, partitions int) (*txnTally, func()) {
	t.Helper()
	tally := &txnTally{grew: make(chan struct{}, 1)}
	runCtx, cancel := context.WithCancel(ctx)
	clientCtx, cancelClients := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 1; i <= checkedTxnProducers; i++ {
		p := &checkedTxnProducer{clientCtx: clientCtx, index: i, txnID: fmt.Sprintf("%s-txn-%d", topic, i),
			seeds: serverAddrs(servers), topic: topic, partitions: partitions, rec: rec, tally: tally}
		if err := p.newClient(); err != nil {
			t.Fatalf("transactional producer %d: %v", i, err)
		}
		wg.Go(func() {
			for n := 0; runCtx.Err() == nil; n++ {
				p.runTransaction(ctx, n)
				select {
				case <-time.After(txnPause):
				case <-runCtx.Done():
				}
			}
			if p.inDoubt {
				p.endInDoubt(ctx, t)
			}
			p.cl.Close()
		})
	}
	stop := func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(txnStopGrace):
			t.Errorf("liveness: a transactional producer did not end its transaction within %v of being stopped (%s); closing its client",
				txnStopGrace, tally)
		}
		cancelClients()
		<-done
	}
	var once sync.Once
	return tally, func() { once.Do(stop) }
}

// runTransaction runs transaction n: begin, txnValuesPerPartition values
// to every partition, flush, then commit (or abort, on purpose or after a
// send failed), recording each step. Once begun, a transaction is
// finished even if the run is stopped meanwhile: one cut short would only
// be in doubt.
func (p *checkedTxnProducer) runTransaction(ctx context.Context, n int) {
	if p.inDoubt {
		// A new client's InitProducerId fences the old epoch and ends
		// whatever it left open.
		p.recreate(ctx, "a transaction of the previous client is in doubt")
		p.inDoubt = false
	}
	if err := p.cl.BeginTransaction(); err != nil {
		p.recreate(ctx, fmt.Sprintf("begin: %v", err))
		return
	}
	txn := fmt.Sprintf("t%d.%d", p.index, n)
	p.rec.BeginTxn(p.process(), p.session(), txn)
	var mu sync.Mutex
	var sendErr error
	for range txnValuesPerPartition {
		for partition := range int32(p.partitions) {
			value := strconv.FormatUint(uint64(txnValueBase+p.index)<<40|p.seq, 10)
			p.seq++
			id := p.rec.InvokeTxnSend(p.process(), p.session(), txn, partition, value)
			p.cl.Produce(context.WithoutCancel(ctx), &kgo.Record{Partition: partition, Value: []byte(value)},
				func(r *kgo.Record, err error) {
					switch {
					case err == nil:
						p.rec.SendOK(id, r.Offset)
						return
					case provesNothingAppended(err):
						p.rec.SendFail(id, err)
					default:
						p.rec.SendInfo(id, err)
					}
					mu.Lock()
					sendErr = firstErr(sendErr, err)
					mu.Unlock()
				})
		}
	}
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), txnEndTimeout)
	defer cancel()
	flushErr := p.cl.Flush(endCtx)
	if flushErr != nil {
		// What is still buffered fails with ErrAborting once in-flight
		// requests are answered.
		_ = p.cl.AbortBufferedRecords(endCtx)
	}
	mu.Lock()
	failed := firstErr(sendErr, flushErr)
	mu.Unlock()
	commit := failed == nil && n%txnAbortEvery != txnAbortEvery-1
	if failed != nil {
		p.tally.noteError("producer %d %s: a send failed: %v", p.index, txn, failed)
	}
	p.end(endCtx, txn, commit)
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// end commits or aborts txn and records the outcome. A commit kgo did not
// attempt (OPERATION_NOT_ATTEMPTED) surely failed; any other error leaves
// it unknown (the coordinator may have written its decision before the
// answer was lost), and kgo's documented recovery follows: an abort, which
// re-initialises the producer id, fencing and ending whatever is still
// open. When that fails too, the transaction is in doubt.
func (p *checkedTxnProducer) end(ctx context.Context, txn string, commit bool) {
	id := p.rec.InvokeEndTxn(p.process(), p.session(), txn, commit)
	err := p.cl.EndTransaction(ctx, kgo.TransactionEndTry(commit))
	switch {
	case err == nil:
		p.rec.EndTxnOK(id)
		p.tally.note(func(c *txnTally) {
			if commit {
				c.committed++
			} else {
				c.aborted++
			}
		})
		return
	case commit && errors.Is(err, kerr.OperationNotAttempted):
		p.rec.EndTxnFail(id, err)
	default:
		p.rec.EndTxnInfo(id, err)
	}
	unknown := commit && !errors.Is(err, kerr.OperationNotAttempted)
	p.tally.noteError("producer %d %s: end (commit %v): %v", p.index, txn, commit, err)
	abort := p.rec.InvokeEndTxn(p.process(), p.session(), txn, false)
	if abortErr := p.cl.EndTransaction(ctx, kgo.TryAbort); abortErr != nil {
		p.rec.EndTxnInfo(abort, abortErr)
		p.tally.noteError("producer %d %s: abort after a failed end: %v", p.index, txn, abortErr)
		p.inDoubt = true
	} else {
		p.rec.EndTxnOK(abort)
	}
	p.tally.note(func(c *txnTally) {
		if unknown {
			c.unknown++
		} else {
			c.aborted++
		}
	})
}

// endInDoubt ends the transaction a stopped producer left in doubt: an
// InitProducerId for its transactional id, as a new producer's first
// request, makes the coordinator abort an ongoing transaction (or finish
// a prepared one) and answer CONCURRENT_TRANSACTIONS until that is done.
func (p *checkedTxnProducer) endInDoubt(ctx context.Context, t *testing.T) {
	p.cl.Close()
	cl, err := kgo.NewClient(kgo.WithContext(p.clientCtx), kgo.SeedBrokers(p.seeds...),
		kgo.RequestTimeoutOverhead(clientRequestTimeout))
	if err != nil {
		t.Errorf("transactional producer %d: %v", p.index, err)
		return
	}
	p.cl = cl
	initCtx, cancel := context.WithTimeout(ctx, consumerCatchUpTimeout)
	defer cancel()
	for {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &p.txnID
		req.TransactionTimeoutMillis = int32(checkedTxnTimeout / time.Millisecond)
		resp, err := req.RequestWith(initCtx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err == nil {
			return
		}
		if initCtx.Err() != nil {
			t.Errorf("liveness: transactional id %s: InitProducerId to end a transaction in doubt: %v", p.txnID, err)
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-initCtx.Done():
		}
	}
}

// waitTransactionsEnded waits until the last stable offset of every
// partition of topic reaches its high watermark: no transaction is open
// there, so a read_committed read can reach the end. It is liveness after
// the final heal, bounded like the consumers' catch-up.
func waitTransactionsEnded(t *testing.T, ctx context.Context, seeds []string, topic string, partitions int) {
	t.Helper()
	cl := newKgo(t, seeds[0], kgo.SeedBrokers(seeds...), kgo.RequestTimeoutOverhead(clientRequestTimeout))
	defer cl.Close()
	waitCtx, cancel := context.WithTimeout(ctx, consumerCatchUpTimeout)
	defer cancel()
	behind := ""
	for {
		hw, hwErr := listEnds(waitCtx, cl, topic, partitions, 0)
		lso, lsoErr := listEnds(waitCtx, cl, topic, partitions, 1)
		behind = ""
		switch {
		case hwErr != nil:
			behind = hwErr.Error()
		case lsoErr != nil:
			behind = lsoErr.Error()
		default:
			for p := range partitions {
				if lso[p] != hw[p] {
					behind = fmt.Sprintf("partition %d: last stable offset %d, high watermark %d", p, lso[p], hw[p])
					break
				}
			}
		}
		if behind == "" {
			return
		}
		select {
		case <-waitCtx.Done():
			t.Errorf("liveness: a transaction stayed open %v after the producers stopped: %s", consumerCatchUpTimeout, behind)
			return
		case <-time.After(pollInterval):
		}
	}
}

// listEnds lists the end of each partition of topic at an isolation level
// (0: the high watermark; 1: the last stable offset).
func listEnds(ctx context.Context, cl *kgo.Client, topic string, partitions int, isolation int8) ([]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range int32(partitions) {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := make([]int64, partitions)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("ListOffsets %s/%d: %w", topic, p.Partition, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out, nil
}
