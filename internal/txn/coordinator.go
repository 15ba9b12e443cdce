package txn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/kafkahash"
)

// Record is one record of __transaction_state. A nil Value is a tombstone.
type Record struct{ Key, Value []byte }

// Log is one __transaction_state partition this broker leads, adapted by the
// broker. Append and Load are called with no coordinator lock held, from
// request goroutines (Handle) and from Run's goroutines; WaitDurable likewise.
// A Log serves one leader epoch: once the broker stops leading the partition
// at that epoch, Append must fail (NOT_LEADER_FOR_PARTITION), so a write
// prepared before a Resign can never land in a newer leader's log.
type Log interface {
	// Append writes records as one batch, atomically, and returns the
	// offset after it. It does not wait for the batch to be durable.
	Append(records []Record) (end int64, err error)
	// WaitDurable blocks until every record before end is replicated to
	// the ISR (acks=all). It fails with a kerr error such as
	// NOT_ENOUGH_REPLICAS or NOT_LEADER_FOR_PARTITION, or ctx's error.
	WaitDurable(ctx context.Context, end int64) error
	// Load calls fn with every record from the log start to the log end,
	// in offset order. A nil value is a tombstone.
	Load(ctx context.Context, fn func(key, value []byte) error) error
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Markers is one WriteTxnMarkers entry: the end of one transaction in each of
// its partitions.
type Markers struct {
	ProducerID         int64
	ProducerEpoch      int16
	CoordinatorEpoch   int32
	Commit             bool
	TransactionVersion int8
	Partitions         []TopicPartition
}

// MarkerWriter delivers markers to the partitions' leaders (the broker sends
// WriteTxnMarkers, or appends locally). It is called from Run's goroutines,
// several at once, and must return soon after ctx ends. It returns one entry
// per partition: nil when the marker is durable at the leader, else a kerr
// error. A partition missing from the result is retried.
type MarkerWriter interface {
	WriteMarkers(ctx context.Context, m Markers) map[TopicPartition]error
}

// Clock is the coordinator's time source, injected so tests control it.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives after d and a function that
	// stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

// Options configure a Coordinator.
type Options struct {
	Config Config
	// ProducerIDs returns the next producer id from the blocks the quorum
	// allocates. It may block; it is never called with a lock held.
	ProducerIDs func(ctx context.Context) (int64, error)
	// Markers writes the markers that end transactions; required.
	Markers MarkerWriter
	// OffsetsPartition is the group's __consumer_offsets partition, which
	// AddOffsetsToTxn adds to the transaction.
	OffsetsPartition func(groupID string) (TopicPartition, error)
	// PartitionExists reports whether a partition is in the cluster's
	// metadata. AddPartitionsToTxn refuses the others with
	// UNKNOWN_TOPIC_OR_PARTITION, as Kafka does. Nil accepts every one.
	PartitionExists func(topic string, partition int32) bool
	Clock           Clock // nil for the real clock
	Logger          *slog.Logger
}

// Config holds the coordinator's settings, named after Kafka's. A zero field
// takes Kafka's default.
type Config struct {
	NumPartitions         int32         // transaction.state.log.num.partitions (50)
	MaxTimeout            time.Duration // transaction.max.timeout.ms (15 min)
	IDExpiration          time.Duration // transactional.id.expiration.ms (7 days)
	AbortTimedOutInterval time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s)
	RemoveExpiredInterval time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms (1 h)
	// TransactionVersion is the cluster's finalized transaction.version
	// feature level (0-2): the rules by which the coordinator aborts on
	// its own (fencing, timeouts), as Kafka does. Requests follow the
	// version their client speaks. Unlike the other fields, zero is level
	// 0 (version 1's rules), not Kafka's default of 2: the broker always
	// sets it.
	TransactionVersion int16
}

func (c Config) withDefaults() Config {
	if c.NumPartitions <= 0 {
		c.NumPartitions = 50
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	if c.IDExpiration <= 0 {
		c.IDExpiration = 7 * 24 * time.Hour
	}
	if c.AbortTimedOutInterval <= 0 {
		c.AbortTimedOutInterval = 10 * time.Second
	}
	if c.RemoveExpiredInterval <= 0 {
		c.RemoveExpiredInterval = time.Hour
	}
	c.TransactionVersion = min(max(c.TransactionVersion, 0), transactionVersion2)
	return c
}

// Coordinator is the transaction coordinator of the __transaction_state
// partitions this broker leads. Its state sits behind one mutex (mu) that is
// never held across a log append or wait, a marker write or a producer id
// allocation; see the package doc.
type Coordinator struct {
	cfg              Config
	clock            Clock
	logger           *slog.Logger
	producerIDs      func(ctx context.Context) (int64, error)
	markers          MarkerWriter
	offsetsPartition func(groupID string) (TopicPartition, error)
	partitionExists  func(topic string, partition int32) bool
	// wake tells Run that elections, marker work or loads changed.
	wake chan struct{}
	// onStep, when set (tests), runs after each piece of background work.
	onStep func()

	mu struct {
		sync.Mutex
		// partitions are the __transaction_state partitions this broker
		// was elected for, loading or loaded.
		partitions map[int32]*partition
		// jobs are the marker jobs waiting for their turn, by due time.
		jobs jobQueue
		// markerWrites counts marker jobs running.
		markerWrites int
		// stopped is set once Run returned.
		stopped bool
	}
}

// partition is the state of one __transaction_state partition. index,
// epoch, log and ctx never change; the other fields are guarded by
// Coordinator.mu.
type partition struct {
	index int32
	epoch int32 // the coordinator epoch: the partition's leader epoch
	log   Log
	// ctx ends when the partition is resigned, re-elected or Run ends; the
	// load and the marker jobs of the partition run under it.
	ctx    context.Context
	cancel context.CancelFunc

	loading     bool
	loadRunning bool
	loadRetryAt time.Time
	txns        map[string]*txnMetadata
}

// New creates a coordinator; call Run to start its background work.
func New(opts Options) *Coordinator {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	c := &Coordinator{
		cfg: opts.Config.withDefaults(), clock: opts.Clock, logger: opts.Logger,
		producerIDs: opts.ProducerIDs, markers: opts.Markers,
		offsetsPartition: opts.OffsetsPartition, partitionExists: opts.PartitionExists,
		wake: make(chan struct{}, 1),
	}
	c.mu.partitions = map[int32]*partition{}
	return c
}

// PartitionFor is the __transaction_state partition that holds
// transactionalID, as Kafka places it.
func (c *Coordinator) PartitionFor(transactionalID string) int32 {
	return kafkahash.PartitionFor(transactionalID, c.cfg.NumPartitions)
}

// Elect tells the coordinator that it leads partition at coordinatorEpoch
// (the partition's leader epoch) and may serve its transactional ids once it
// has loaded log. It does not block: Run loads. The same partition, epoch and
// log (compared with ==) again is a no-op; anything else drops what was
// loaded, stops its marker work and reloads.
func (c *Coordinator) Elect(partition, coordinatorEpoch int32, log Log) {
	c.mu.Lock()
	if p := c.mu.partitions[partition]; p != nil {
		if p.epoch == coordinatorEpoch && sameLog(p.log, log) {
			c.mu.Unlock()
			return
		}
		p.cancel()
	}
	p := newPartition(partition, coordinatorEpoch, log)
	if c.mu.stopped {
		p.cancel()
	}
	c.mu.partitions[partition] = p
	c.mu.Unlock()
	c.logger.Debug("elected transaction coordinator", "partition", partition, "epoch", coordinatorEpoch)
	c.signal()
}

func newPartition(index, epoch int32, log Log) *partition {
	// The context is not derived from Run's: Elect may come before Run.
	// Run cancels every partition's context when it returns.
	ctx, cancel := context.WithCancel(context.Background())
	return &partition{index: index, epoch: epoch, log: log, ctx: ctx, cancel: cancel, loading: true}
}

// sameLog reports whether a and b are the same log. Logs whose dynamic type
// cannot be compared are never the same: == panics on them.
func sameLog(a, b Log) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// Resign tells the coordinator it no longer leads partition: its state is
// dropped and its marker work stops; the next coordinator finishes it. It
// does not block.
func (c *Coordinator) Resign(partition int32) {
	c.mu.Lock()
	p := c.mu.partitions[partition]
	if p != nil {
		p.cancel()
		delete(c.mu.partitions, partition)
	}
	c.mu.Unlock()
	if p != nil {
		c.logger.Debug("resigned transaction coordinator", "partition", partition, "epoch", p.epoch)
		c.signal()
	}
}

func (c *Coordinator) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Handle answers a transaction coordinator request at the request's version:
// InitProducerId, AddPartitionsToTxn (v0-3 from clients, v4+ batched from
// partition leaders: VerifyOnly for producers of transaction version 0-1,
// adds for those of version 2), AddOffsetsToTxn, EndTxn, DescribeTransactions
// and ListTransactions. It returns once what the response reports is durable.
// Every error is a code in the response. Any other request gets its empty
// response: the broker never routes one here.
func (c *Coordinator) Handle(ctx context.Context, req kmsg.Request) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.InitProducerIDRequest:
		return c.initProducerID(ctx, r)
	case *kmsg.AddPartitionsToTxnRequest:
		return c.addPartitionsToTxn(ctx, r)
	case *kmsg.AddOffsetsToTxnRequest:
		return c.addOffsetsToTxn(ctx, r)
	case *kmsg.EndTxnRequest:
		return c.endTxn(ctx, r)
	case *kmsg.DescribeTransactionsRequest:
		return c.describeTransactions(r)
	case *kmsg.ListTransactionsRequest:
		return c.listTransactions(r)
	}
	return req.ResponseKind()
}

// lookupLocked finds the partition that holds id, or the error code Kafka
// answers when this coordinator cannot serve it.
func (c *Coordinator) lookupLocked(id string) (*partition, int16) {
	if c.mu.stopped {
		return nil, kerr.CoordinatorNotAvailable.Code
	}
	p := c.mu.partitions[c.PartitionFor(id)]
	switch {
	case p == nil:
		return nil, kerr.NotCoordinator.Code
	case p.loading:
		return nil, kerr.CoordinatorLoadInProgress.Code
	}
	return p, 0
}

// currentLocked reports whether p is still the partition this coordinator
// serves at p's epoch.
func (c *Coordinator) currentLocked(p *partition) bool {
	return !c.mu.stopped && c.mu.partitions[p.index] == p
}

func (c *Coordinator) stepped() {
	if c.onStep != nil {
		c.onStep()
	}
}
