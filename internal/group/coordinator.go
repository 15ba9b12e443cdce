package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Clock is the coordinator's time source, injected so tests control it.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives after d and a function that
	// stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// requestQueueLength bounds requests queued for the coordinator goroutine;
// a full queue makes handlers wait, which the server's per-connection
// in-flight limit turns into back-pressure.
const requestQueueLength = 1024

// Options configure a Coordinator.
type Options struct {
	Config
	Clock  Clock // nil for the real clock
	Logger *slog.Logger
}

// Coordinator drives the group state machine: one goroutine (Run) owns it
// and the offsets partitions it has loaded.
type Coordinator struct {
	clock    Clock
	logger   *slog.Logger
	core     *core
	requests chan envelope
	wake     chan struct{}
	done     chan struct{}

	mu struct {
		sync.Mutex
		// elected are the partitions this broker leads, as the broker
		// last said; Run loads and unloads to match.
		elected map[int32]Log
	}
}

// envelope is one item of the coordinator's queue: a request, or a
// transaction marker to apply (completion).
type envelope struct {
	req        Request
	completion *completion
	reply      chan result
}

// completion is a transaction marker written to an offsets partition.
type completion struct {
	partition    int32
	producerID   int64
	commit       bool
	markerOffset int64
}

type result struct {
	resp kmsg.Response
	wait func() error
}

// New creates a coordinator; call Run to serve.
func New(opts Options) *Coordinator {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Coordinator{
		clock: opts.Clock, logger: opts.Logger, core: newCore(opts.Config),
		requests: make(chan envelope, requestQueueLength),
		wake:     make(chan struct{}, 1), done: make(chan struct{}),
	}
	c.mu.elected = map[int32]Log{}
	return c
}

// PartitionFor is the __consumer_offsets partition that holds groupID.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return PartitionFor(groupID, c.core.cfg.NumPartitions)
}

// Elect tells the coordinator it leads partition and may serve its groups
// after loading log. It never blocks on the coordinator goroutine.
func (c *Coordinator) Elect(partition int32, log Log) {
	c.mu.Lock()
	c.mu.elected[partition] = log
	c.mu.Unlock()
	c.signal()
}

// Resign tells the coordinator it no longer leads partition.
func (c *Coordinator) Resign(partition int32) {
	c.mu.Lock()
	delete(c.mu.elected, partition)
	c.mu.Unlock()
	c.signal()
}

func (c *Coordinator) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ErrStopped is returned by Do once Run has returned.
var ErrStopped = errors.New("group coordinator stopped")

// Do handles one group request and returns its response once every record
// it depends on is durable. Errors are in the response; Do returns an error
// only when ctx ends or the coordinator stopped, and the caller answers
// COORDINATOR_NOT_AVAILABLE.
func (c *Coordinator) Do(ctx context.Context, req Request) (kmsg.Response, error) {
	call, err := c.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	return call.Wait(ctx)
}

// Call is a group request queued for the coordinator goroutine.
type Call struct {
	c     *Coordinator
	reply chan result
}

// Submit queues req for the coordinator goroutine and returns without
// waiting for its answer. Requests are served in the order they were
// submitted: a connection's reader submits each request before reading the
// next, so that, as in Kafka, a connection's requests take effect in the
// order they were sent. Two OffsetCommits pipelined on one connection (as
// sarama sends them, one goroutine per partition) must not swap, or the
// committed offset goes back to the older one.
func (c *Coordinator) Submit(ctx context.Context, req Request) (*Call, error) {
	env := envelope{req: req, reply: make(chan result, 1)}
	if err := c.enqueue(ctx, env); err != nil {
		return nil, err
	}
	return &Call{c: c, reply: env.reply}, nil
}

// Wait returns the call's response once every record it depends on is
// durable, as Do.
func (call *Call) Wait(ctx context.Context) (kmsg.Response, error) {
	res, err := call.c.await(ctx, call.reply)
	if err != nil {
		return nil, err
	}
	if res.wait != nil {
		if err := res.wait(); err != nil {
			call.c.logger.Warn("group state not durable", "err", err)
			// Kafka answers a failed offsets append with NOT_COORDINATOR
			// so the client finds the (possibly new) coordinator again.
			setErrorCode(res.resp, kerr.NotCoordinator.Code)
		}
	}
	return res.resp, nil
}

// CompleteTransaction applies a transaction marker of producerID that the
// broker wrote at markerOffset in partition of __consumer_offsets, once
// the marker is durable: the producer's pending transactional offsets in
// that partition's groups become committed offsets (commit) or are dropped.
// It may be called from any goroutine and returns once the coordinator
// goroutine has applied it, or with ctx's error or ErrStopped.
//
// A marker ends only the producer's offsets whose records precede it, so
// it is neither lost to a concurrent load of partition nor applied twice:
// the coordinator goroutine applies it either before the load (nothing of
// the partition is loaded yet, and the load replays the marker, which the
// log holds before this call) or after it (the load either read the marker
// and ended those offsets already, or read the log before the marker was
// written and left them pending). Calling it again for the same marker
// changes nothing.
func (c *Coordinator) CompleteTransaction(ctx context.Context, partition int32, producerID int64, commit bool, markerOffset int64) error {
	env := envelope{
		completion: &completion{partition: partition, producerID: producerID, commit: commit, markerOffset: markerOffset},
		reply:      make(chan result, 1),
	}
	_, err := c.call(ctx, env)
	return err
}

// call queues env for the coordinator goroutine and waits for its result.
func (c *Coordinator) call(ctx context.Context, env envelope) (result, error) {
	if err := c.enqueue(ctx, env); err != nil {
		return result{}, err
	}
	return c.await(ctx, env.reply)
}

// enqueue queues env for the coordinator goroutine.
func (c *Coordinator) enqueue(ctx context.Context, env envelope) error {
	select {
	case c.requests <- env:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return ErrStopped
	}
}

// await waits for the result sent on reply.
func (c *Coordinator) await(ctx context.Context, reply chan result) (result, error) {
	select {
	case res := <-reply:
		return res, nil
	case <-ctx.Done():
		return result{}, ctx.Err()
	case <-c.done:
		return result{}, ErrStopped
	}
}

// Run serves requests until ctx is cancelled.
func (c *Coordinator) Run(ctx context.Context) {
	defer close(c.done)
	d := driver{Coordinator: c, loaded: map[int32]Log{}, ends: map[int32]int64{}, waiting: map[uint64]chan result{}}
	var timer <-chan time.Time
	stop := func() bool { return false }
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			d.syncElections(ctx)
		case env := <-c.requests:
			d.serve(env)
		case <-timer:
			timer = nil
			c.core.tick(c.clock.Now())
		}
		d.apply()
		if next := c.core.nextDeadline(); !next.IsZero() {
			stop()
			timer, stop = c.clock.NewTimer(max(next.Sub(c.clock.Now()), 0))
		}
	}
}

// driver is the state of the Run goroutine.
type driver struct {
	*Coordinator
	loaded map[int32]Log
	// ends is the offset after the last append to each partition: every
	// response on that partition waits until it is durable.
	ends    map[int32]int64
	waiting map[uint64]chan result
	nextID  uint64
}

// serve hands one queued item to the core.
func (d *driver) serve(env envelope) {
	if x := env.completion; x != nil {
		d.core.completeTransaction(x.partition, x.producerID, x.commit, x.markerOffset)
		env.reply <- result{}
		return
	}
	d.nextID++
	d.waiting[d.nextID] = env.reply
	d.core.handle(d.clock.Now(), d.nextID, env.req)
}

func (d *driver) syncElections(ctx context.Context) {
	d.mu.Lock()
	elected := make(map[int32]Log, len(d.mu.elected))
	for p, log := range d.mu.elected {
		elected[p] = log
	}
	d.mu.Unlock()
	for p, log := range d.loaded {
		if elected[p] != log {
			d.core.unload(p)
			delete(d.loaded, p)
			delete(d.ends, p)
		}
	}
	for p, log := range elected {
		if d.loaded[p] != nil {
			continue
		}
		if err := d.load(ctx, p, log); err != nil {
			d.logger.Error("loading group coordinator partition", "partition", p, "err", err)
			d.core.unload(p)
			continue
		}
		d.loaded[p] = log
	}
}

func (d *driver) load(ctx context.Context, p int32, log Log) error {
	start := d.clock.Now()
	records, skipped := 0, 0
	err := log.Load(ctx, func(rec LogRecord) error {
		records++
		if err := d.core.loadRecord(p, rec, start); err != nil {
			// One bad record must not cost every group of the partition;
			// it is reported and the rest still load.
			skipped++
			d.logger.Warn("skipping __consumer_offsets record", "partition", p, "err", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading __consumer_offsets-%d: %w", p, err)
	}
	d.core.finishLoad(p, d.clock.Now())
	d.logger.Debug("loaded group coordinator partition", "partition", p, "records", records, "skipped", skipped,
		"took", d.clock.Now().Sub(start))
	return nil
}

// apply carries out the core's effects: appends first, then replies, each
// reply waiting for its partition's appends to be durable.
func (d *driver) apply() {
	for {
		eff := d.core.takeEffects()
		if len(eff.persists) == 0 && len(eff.replies) == 0 {
			return
		}
		failed, refused := d.appendAll(eff.persists)
		for _, r := range eff.replies {
			ch := d.waiting[r.id]
			delete(d.waiting, r.id)
			if ch == nil {
				continue
			}
			res := result{resp: r.resp}
			if code, ok := refused[r.id]; ok {
				setErrorCode(r.resp, code)
			}
			if failed[r.partition] {
				setErrorCode(r.resp, kerr.NotCoordinator.Code)
			} else if log := d.loaded[r.partition]; log != nil && d.ends[r.partition] > 0 {
				end := d.ends[r.partition]
				res.wait = func() error { return log.WaitDurable(end) }
			}
			ch <- res
		}
		// The cache of a partition whose append failed no longer matches
		// its log: drop it. It is loaded again on the next election.
		for p := range failed {
			d.core.unload(p)
			delete(d.loaded, p)
			delete(d.ends, p)
		}
	}
}

// appendAll appends persists in order and tells the core where each
// landed. It returns the partitions whose append failed and the error
// codes of requests whose transactional batch the partition refused
// without writing it (a fenced producer epoch), which changes nothing.
func (d *driver) appendAll(persists []persist) (failed map[int32]bool, refused map[uint64]int16) {
	failed, refused = map[int32]bool{}, map[uint64]int16{}
	for _, p := range persists {
		log := d.loaded[p.partition]
		if log == nil || failed[p.partition] {
			failed[p.partition] = true
			continue
		}
		var txn *Producer
		if p.txn != nil {
			txn = &p.txn.producer
		}
		end, err := log.Append(p.records, txn)
		if err != nil && txn != nil && errors.Is(err, kerr.InvalidProducerEpoch) {
			// Kafka answers TxnOffsetCommit with the append's error,
			// which clients take as fencing.
			refused[p.txn.request] = kerr.InvalidProducerEpoch.Code
			continue
		}
		if err != nil {
			d.logger.Error("appending to __consumer_offsets", "partition", p.partition, "err", err)
			failed[p.partition] = true
			continue
		}
		d.ends[p.partition] = end
		d.core.appended(p, end-int64(len(p.records)))
	}
	return failed, refused
}
