package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The copier of TestTxnChain: one kgo.GroupTransactSession that reads a
// stage's input topic read_committed in its stage's group and copies every
// record to the stage's output topic, in one transaction per poll. It runs
// as its own OS process, the test binary started again with
// -test.run=^TestTxnChainCopierProcess$ and its spec in txnChainCopierEnv,
// so that the test can SIGKILL it.

// txnChainCopierEnv carries a copier process's copierSpec as JSON; when it
// is absent TestTxnChainCopierProcess does nothing.
const txnChainCopierEnv = "FJORD_TXN_CHAIN_COPIER"

// txnChainEventPrefix starts each line a copier prints for the test, one
// JSON copierEvent after it; other lines (the testing package's) are kept
// as log.
const txnChainEventPrefix = "txn-chain-event "

// copierLifetime bounds a copier process's life, so that none outlives a
// test that lost track of it; the parent closing the copier's stdin is the
// ordinary way to stop it.
const copierLifetime = 10 * time.Minute

// copierTxnTimeout is the copiers' transaction.timeout.ms: short, so that a
// transaction a killed copier left open is aborted by the coordinator (a
// check runs every 10 s) within seconds when no replacement takes over its
// transactional id, yet well above what one transaction takes while a
// broker restarts.
const copierTxnTimeout = 10 * time.Second

// copierEndTimeout bounds one transaction's produce and End, which kgo
// retries across coordinator moves.
const copierEndTimeout = time.Minute

// Copier group timing: a killed member's partitions move after
// copierSessionTimeout (classic protocol; the consumer protocol uses the
// broker's group.consumer.session.timeout.ms), and a member that joins
// waits at most copierRebalanceTimeout for the others.
const (
	copierSessionTimeout   = 6 * time.Second
	copierHeartbeat        = 500 * time.Millisecond
	copierRebalanceTimeout = 10 * time.Second
)

// kip848MetadataMaxAge replaces kgo's 5 min metadata refresh for the
// consumer-protocol copiers. kgo v1.22 sends ConsumerGroupHeartbeat to the
// cached group coordinator and, on a dial error, retries it there, and
// rebuilds the session there too, without finding the coordinator again;
// only a broker list without that node (a metadata refresh after the
// cluster fenced it) makes it look the group up again. A copier with no
// partitions, which sends no TxnOffsetCommit (whose retries do clear a
// dead coordinator), otherwise stays away from its group for minutes after
// its coordinator is SIGKILLed, against Kafka as against fjord.
const kip848MetadataMaxAge = 3 * time.Second

// txnHeader names the header each copied record carries: the copier
// process and its transaction number, "s2-c4#17", so that a transaction's
// records can be found in every partition and anomalies traced to their
// writer. Records keep the headers of earlier stages before it.
const txnHeader = "txn"

// copierSpec is what one copier process does.
type copierSpec struct {
	Name            string   // stage and incarnation, "s2-c4"
	Brokers         []string // seed brokers
	Stage           int
	In, Out         string // topics
	Group           string
	TransactionalID string
	KIP848          bool // the consumer protocol (kip848Opts) instead of the classic one
}

// copierEvent is one line a copier reports on stdout.
type copierEvent struct {
	Kind string `json:"kind"` // started, assigned, revoked, lost, txn, error, exit
	// At is the copier's wall-clock time, to line events up with broker
	// logs.
	At         time.Time `json:"at"`
	Partitions []int32   `json:"partitions,omitempty"` // assigned, revoked, lost
	Txn        int       `json:"txn,omitempty"`        // transaction number in this process
	// Consumed is, per input partition, the first and last offset the
	// transaction copied.
	Consumed  map[int32][2]int64 `json:"consumed,omitempty"`
	Records   int                `json:"records,omitempty"`
	Committed bool               `json:"committed,omitempty"`
	Took      time.Duration      `json:"took,omitempty"`
	// Ending is when the copier called End, before anything of the
	// commit was sent: no read_committed reader may see the transaction's
	// records before it.
	Ending time.Time `json:"ending,omitzero"`
	// Err is why the copier gave up (it exits after this event) or, on an
	// error event, what went wrong; Note is an error it got over (a record
	// that failed, so the transaction aborted).
	Err  string `json:"err,omitempty"`
	Note string `json:"note,omitempty"`
	// Anomaly is a client-side guarantee broken (a commit despite a failed
	// record); the test fails on it.
	Anomaly string `json:"anomaly,omitempty"`
}

// TestTxnChainCopierProcess is the copier process's main; run by the test
// suite without txnChainCopierEnv it returns at once.
func TestTxnChainCopierProcess(t *testing.T) {
	raw := os.Getenv(txnChainCopierEnv)
	if raw == "" {
		return
	}
	var spec copierSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("%s: %v", txnChainCopierEnv, err)
	}
	if code := runCopier(spec, os.Stdin, os.Stdout); code != 0 {
		os.Exit(code)
	}
}

// copierReporter writes events to the parent, one line each.
type copierReporter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (r *copierReporter) report(ev copierEvent) {
	ev.At = time.Now()
	line, err := json.Marshal(ev)
	if err != nil {
		panic(err) // copierEvent always marshals
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.WriteString(txnChainEventPrefix)
	r.w.Write(line)
	r.w.WriteByte('\n')
	r.w.Flush()
}

// Exit codes of a copier process other than 0 (stopped by closing stdin).
const (
	copierExitSetup  = 2 // the client could not be created
	copierExitGaveUp = 3 // Begin or End failed: kgo says no such error is retryable
)

// runCopier copies until stdin closes or a transaction fails for good, and
// returns the process's exit code.
func runCopier(spec copierSpec, stdin io.Reader, stdout io.Writer) int {
	rep := &copierReporter{w: bufio.NewWriter(stdout)}
	ctx, cancel := context.WithTimeout(context.Background(), copierLifetime)
	defer cancel()
	// The only goroutine of its own: it ends with stdin or with the
	// process, which is all it lives in.
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	sess, err := kgo.NewGroupTransactSession(copierOpts(spec, rep)...)
	if err != nil {
		rep.report(copierEvent{Kind: "error", Err: err.Error()})
		return copierExitSetup
	}
	defer sess.Close()
	rep.report(copierEvent{Kind: "started"})
	for txn := 1; ctx.Err() == nil; {
		pollCtx, cancelPoll := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := sess.PollFetches(pollCtx)
		cancelPoll()
		fetches.EachError(func(_ string, p int32, err error) {
			if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				rep.report(copierEvent{Kind: "error", Partitions: []int32{p}, Err: "fetch: " + err.Error()})
			}
		})
		if fetches.NumRecords() == 0 {
			continue
		}
		ev := copyOnce(sess, spec, txn, fetches)
		rep.report(ev)
		if ev.Err != "" {
			return copierExitGaveUp
		}
		txn++
	}
	rep.report(copierEvent{Kind: "exit"})
	return 0
}

// copierOpts are the copier's client options.
func copierOpts(spec copierSpec, rep *copierReporter) []kgo.Opt {
	partitionsEvent := func(kind string) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			rep.report(copierEvent{Kind: kind, Partitions: m[spec.In]})
		}
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(spec.Brokers...), kgo.ClientID(spec.Name),
		kgo.TransactionalID(spec.TransactionalID), kgo.TransactionTimeout(copierTxnTimeout),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(spec.Out),
		kgo.ConsumerGroup(spec.Group), kgo.ConsumeTopics(spec.In),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.SessionTimeout(copierSessionTimeout), kgo.HeartbeatInterval(copierHeartbeat),
		kgo.RebalanceTimeout(copierRebalanceTimeout),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.RequestTimeoutOverhead(clientRequestTimeout), kgo.ProduceRequestTimeout(clientRequestTimeout),
		kgo.OnPartitionsAssigned(partitionsEvent("assigned")),
		kgo.OnPartitionsRevoked(partitionsEvent("revoked")),
		kgo.OnPartitionsLost(partitionsEvent("lost")),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, copierLogLevel(), func() string {
			return time.Now().Format("15:04:05.000 ") + spec.Name + " "
		})),
	}
	if spec.KIP848 {
		opts = append(opts, kip848Opts()...)
		opts = append(opts, kgo.MetadataMaxAge(kip848MetadataMaxAge))
	}
	return opts
}

// copierLogLevelEnv sets the copiers' kgo log level (debug, info, warn,
// error; warn by default), for investigating a failure together with
// txnChainLogDirEnv.
const copierLogLevelEnv = "FJORD_TXN_CHAIN_COPIER_LOG_LEVEL"

func copierLogLevel() kgo.LogLevel {
	switch os.Getenv(copierLogLevelEnv) {
	case "debug":
		return kgo.LogLevelDebug
	case "info":
		return kgo.LogLevelInfo
	case "error":
		return kgo.LogLevelError
	}
	return kgo.LogLevelWarn
}

// copyOnce copies one poll's records in one transaction, to the same
// partition of the output topic, and ends it with a commit attempt; the
// event says whether it committed. A non-empty Err means the session gave
// up: kgo documents no End error as retryable.
func copyOnce(sess *kgo.GroupTransactSession, spec copierSpec, txn int, fetches kgo.Fetches) copierEvent {
	began := time.Now()
	ev := copierEvent{Kind: "txn", Txn: txn, Consumed: map[int32][2]int64{}, Records: fetches.NumRecords()}
	if err := sess.Begin(); err != nil {
		ev.Err = "begin: " + err.Error()
		return ev
	}
	ctx, cancel := context.WithTimeout(context.Background(), copierEndTimeout)
	defer cancel()
	label := fmt.Sprintf("%s#%d", spec.Name, txn)
	var produceMu sync.Mutex
	var produceErr error
	fetches.EachRecord(func(r *kgo.Record) {
		span, ok := ev.Consumed[r.Partition]
		if !ok {
			span[0] = r.Offset
		}
		span[1] = r.Offset
		ev.Consumed[r.Partition] = span
		headers := append(append([]kgo.RecordHeader(nil), r.Headers...), kgo.RecordHeader{Key: txnHeader, Value: []byte(label)})
		out := &kgo.Record{Partition: r.Partition, Key: r.Key, Value: r.Value, Headers: headers}
		sess.Produce(ctx, out, func(_ *kgo.Record, err error) {
			if err != nil {
				produceMu.Lock()
				if produceErr == nil {
					produceErr = err
				}
				produceMu.Unlock()
			}
		})
	})
	ev.Ending = time.Now()
	committed, err := sess.End(ctx, kgo.TryCommit)
	ev.Committed, ev.Took = committed, time.Since(began)
	produceMu.Lock()
	defer produceMu.Unlock()
	switch {
	case err != nil:
		ev.Err = "end: " + err.Error()
	case committed && produceErr != nil:
		// kgo must not commit a transaction with a failed record.
		ev.Anomaly = "committed although a record failed: " + produceErr.Error()
	case produceErr != nil:
		// Aborted, as it must be; the session re-reads from the
		// committed offsets.
		ev.Note = "record failed: " + produceErr.Error()
	}
	return ev
}
