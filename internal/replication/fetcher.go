package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Fetcher limits and their Kafka names and defaults.
const (
	// DefaultFetchResponseMaxBytes is replica.fetch.response.max.bytes: one
	// response, so one source broker's buffered data, is about this large.
	DefaultFetchResponseMaxBytes = 10 << 20
	// DefaultFetchMaxBytes is replica.fetch.max.bytes, per partition.
	DefaultFetchMaxBytes = 1 << 20
	// DefaultFetchMaxWait is replica.fetch.wait.max.ms: how long the leader
	// may hold an empty fetch. It should stay well below
	// replica.lag.time.max.ms.
	DefaultFetchMaxWait = 500 * time.Millisecond
	// DefaultFetchBackoff is replica.fetch.backoff.ms: the pause after an
	// error before a partition or a connection is retried.
	DefaultFetchBackoff = time.Second
	// MaxPartitionsPerSource bounds how many partitions one source broker's
	// fetcher follows; beyond it Follow refuses, rather than build requests
	// of unbounded size.
	MaxPartitionsPerSource = 100_000
)

// FetcherConfig configures a Fetcher. Zero values take the defaults.
type FetcherConfig struct {
	// ReplicaID is this broker's id, sent in every Fetch; ReplicaEpoch
	// gives its current broker epoch (-1 if unknown; nil: always -1), which
	// changes when the broker registers again.
	ReplicaID    BrokerID
	ReplicaEpoch func() int64
	// Dial connects to a source broker. The fetcher closes what it dials.
	Dial func(ctx context.Context, leader BrokerID) (LeaderClient, error)

	ResponseMaxBytes  int32         // replica.fetch.response.max.bytes
	PartitionMaxBytes int32         // replica.fetch.max.bytes
	MinBytes          int32         // replica.fetch.min.bytes (default 1)
	MaxWait           time.Duration // replica.fetch.wait.max.ms
	Backoff           time.Duration // replica.fetch.backoff.ms

	// Quota is follower.replication.throttled.rate, applied to the
	// partitions SetThrottled marks; nil throttles none.
	Quota *Quota

	// BytesIn, if set, is told the size of every record set appended
	// from a leader (Kafka's ReplicationBytesInPerSec).
	BytesIn func(n int)

	// Now is the clock of backoffs. The waits themselves are real
	// timers: a test clock that stands still keeps a backed-off
	// partition waiting until the test moves it. time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

func (c *FetcherConfig) setDefaults() {
	if c.ResponseMaxBytes <= 0 {
		c.ResponseMaxBytes = DefaultFetchResponseMaxBytes
	}
	if c.PartitionMaxBytes <= 0 {
		c.PartitionMaxBytes = DefaultFetchMaxBytes
	}
	if c.MinBytes <= 0 {
		c.MinBytes = 1
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultFetchMaxWait
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultFetchBackoff
	}
	if c.ReplicaEpoch == nil {
		c.ReplicaEpoch = func() int64 { return -1 }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// ErrFetcherClosed is returned by Follow after Close.
var ErrFetcherClosed = errors.New("replication: fetcher closed")

// Fetcher replicates the partitions this broker follows. It runs one
// goroutine per source broker (Kafka's ReplicaFetcherThread, with
// num.replica.fetchers = 1), which fetches all of that broker's partitions in
// one request at a time, so the memory held is one response per source.
type Fetcher struct {
	cfg    FetcherConfig
	ctx    context.Context
	cancel context.CancelFunc

	mu struct {
		sync.Mutex
		sources map[BrokerID]*source
		// leaderOf says which source follows each partition.
		leaderOf map[TopicPartition]BrokerID
		// throttled are the partitions the follower quota applies to.
		throttled map[TopicPartition]bool
		closed    bool
	}
}

// NewFetcher returns a fetcher whose goroutines live at most as long as ctx.
// Close stops them.
func NewFetcher(ctx context.Context, cfg FetcherConfig) *Fetcher {
	cfg.setDefaults()
	f := &Fetcher{cfg: cfg}
	f.ctx, f.cancel = context.WithCancel(ctx)
	f.mu.sources = map[BrokerID]*source{}
	f.mu.leaderOf = map[TopicPartition]BrokerID{}
	f.mu.throttled = map[TopicPartition]bool{}
	return f
}

// Follow makes the fetcher replicate tp from leader at leaderEpoch into
// replica, moving it from another source if needed. The partition first
// truncates by OffsetForLeaderEpoch, then fetches from its log end. Calling
// Follow again with a new epoch (a leader change seen in the metadata)
// restarts the truncation; with the epoch already followed it does nothing.
func (f *Fetcher) Follow(leader BrokerID, tp TopicPartition, replica FollowerReplica, leaderEpoch LeaderEpoch) error {
	if leader < 0 || leader == f.cfg.ReplicaID {
		return fmt.Errorf("replication: cannot follow %s-%d from broker %d", tp.Topic, tp.Partition, leader)
	}
	f.mu.Lock()
	if f.mu.closed {
		f.mu.Unlock()
		return ErrFetcherClosed
	}
	var moved, stop *source
	if old, ok := f.mu.leaderOf[tp]; ok && old != leader {
		moved, stop = f.removeLocked(tp)
	}
	src := f.mu.sources[leader]
	if src == nil {
		src = newSource(f, leader)
		f.mu.sources[leader] = src
		src.start(f.ctx)
	}
	// The throttle is set before the source sees the partition, so not
	// one response escapes it.
	added, err := src.add(tp, replica, leaderEpoch, f.mu.throttled[tp])
	if err == nil {
		f.mu.leaderOf[tp] = leader
	}
	f.mu.Unlock()
	finishRemove(moved, stop)
	if added {
		f.cfg.Logger.Info("following", "topic", tp.Topic, "partition", tp.Partition, "leader", leader, "leaderEpoch", leaderEpoch,
			"logEndOffset", replica.LogEndOffset(), "highWatermark", replica.HighWatermark())
	}
	return err
}

// Unfollow stops replicating tp. When it returns, the fetcher no longer
// writes to the partition's replica, which may become a leader.
func (f *Fetcher) Unfollow(tp TopicPartition) {
	f.mu.Lock()
	from, stop := f.removeLocked(tp)
	delete(f.mu.throttled, tp)
	f.mu.Unlock()
	finishRemove(from, stop)
}

// removeLocked detaches tp from its source. It returns that source, and
// again as stop when tp was its last partition; finishRemove then waits,
// outside f.mu, for the source to stop writing to tp's replica.
func (f *Fetcher) removeLocked(tp TopicPartition) (from, stop *source) {
	leader, ok := f.mu.leaderOf[tp]
	if !ok {
		return nil, nil
	}
	delete(f.mu.leaderOf, tp)
	src := f.mu.sources[leader]
	if src.remove(tp) > 0 {
		return src, nil
	}
	delete(f.mu.sources, leader)
	return src, src
}

func finishRemove(from, stop *source) {
	if stop != nil {
		stop.stop()
		return
	}
	if from != nil {
		from.barrier()
	}
}

// SetThrottled says whether the follower quota applies to tp (Kafka's
// follower.replication.throttled.replicas lists this broker's replica of
// it). It holds for the partition until changed or until Unfollow, across
// Follow calls.
func (f *Fetcher) SetThrottled(tp TopicPartition, throttled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if throttled == f.mu.throttled[tp] {
		return
	}
	if throttled {
		f.mu.throttled[tp] = true
	} else {
		delete(f.mu.throttled, tp)
	}
	if leader, ok := f.mu.leaderOf[tp]; ok {
		f.mu.sources[leader].setThrottled(tp, throttled)
	}
}

// Following lists the partitions followed and their sources.
func (f *Fetcher) Following() map[TopicPartition]BrokerID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[TopicPartition]BrokerID, len(f.mu.leaderOf))
	for tp, b := range f.mu.leaderOf {
		out[tp] = b
	}
	return out
}

// Close stops every fetcher goroutine and waits for them.
func (f *Fetcher) Close() {
	f.mu.Lock()
	f.mu.closed = true
	sources := f.mu.sources
	f.mu.sources = map[BrokerID]*source{}
	f.mu.leaderOf = map[TopicPartition]BrokerID{}
	f.mu.throttled = map[TopicPartition]bool{}
	f.mu.Unlock()
	f.cancel()
	for _, s := range sources {
		s.stop()
	}
}
