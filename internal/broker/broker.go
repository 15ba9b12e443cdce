// Package broker holds the Kafka API handlers, one file per API, and the
// replicas this node hosts. Each handler file opens with the versions it
// serves and registers itself in Routes.
//
// Data flows one way: a connection hands a decoded request to a handler; the
// handler reads the metadata image (lock-free, immutable), asks the
// controller to change metadata, or appends to and reads from partitions.
// Partitions are opened and removed by the broker when a new metadata image
// is published, so a handler that returns after a controller write already
// sees the partitions it created.
//
// Goroutines: Run owns the background loops (retention, relaxed flushes,
// the log cleaner, the group coordinator); they stop when its context is
// cancelled. Handlers run on connection goroutines and only take short
// locks; work that waits (fsync, long polls, group rebalances) is returned
// as a pending response that the connection runs and joins.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// Options configure a broker.
type Options struct {
	NodeID        int32
	AdvertiseHost string
	AdvertisePort int32
	DataDir       string
	// Config is the typed broker configuration; StaticProps are the raw
	// properties it came from, which topic configs fall back to.
	Config      config.Broker
	StaticProps map[string]string
	FS          vfs.FS
	Meta        *metadata.Node
	Logger      *slog.Logger
	Now         func() time.Time
}

// Broker serves client APIs for the partitions this node hosts.
type Broker struct {
	opts   Options
	logger *slog.Logger
	meta   *metadata.Node
	now    func() time.Time

	// startHighWatermarks is the high watermark checkpoint while Start
	// opens the replicas (hwcheckpoint.go).
	startHighWatermarks map[replicaKey]storage.Offset

	mu struct {
		sync.RWMutex
		// partitions by topic name, indexed by partition number; a nil
		// entry is a partition hosted elsewhere.
		partitions map[string][]*partition.Partition
		topicIDs   map[string][16]byte
	}

	// routes are the served APIs, for ApiVersions; set once by Routes.
	routes server.Routes

	// producerIDs hands out ids from blocks allocated by the controller.
	producerIDs producerIDAllocator

	// repl holds the leader and follower roles of replicated partitions.
	repl replicas

	// groups is the group coordinator; set by Start, run by Run.
	groups *group.Coordinator
}

// New creates a broker. Call Start before serving requests.
func New(opts Options) *Broker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Broker{opts: opts, logger: opts.Logger, meta: opts.Meta, now: opts.Now}
	b.mu.partitions = make(map[string][]*partition.Partition)
	b.mu.topicIDs = make(map[string][16]byte)
	b.producerIDs.meta = opts.Meta
	return b
}

// Start opens the logs of every partition in the current metadata image and
// follows later images.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.removeStrayLogs(b.meta.Image()); err != nil {
		return err
	}
	b.startReplication(ctx)
	b.startHighWatermarks = b.loadHWCheckpoint()
	err := b.applyImage(nil, b.meta.Image())
	// Only the replicas opened at start resume from the checkpoint.
	b.startHighWatermarks = nil
	if err != nil {
		return err
	}
	b.meta.Subscribe(func(old, new *metadata.Image) {
		if err := b.applyImage(old, new); err != nil {
			b.logger.Error("applying metadata image", "err", err)
		}
	})
	return b.startGroups(ctx)
}

// Run runs background maintenance until ctx is cancelled.
func (b *Broker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { b.retentionLoop(ctx) })
	wg.Go(func() { b.flushLoop(ctx) })
	wg.Go(func() { b.groups.Run(ctx) })
	wg.Go(func() { b.cleanerLoop(ctx) })
	wg.Go(func() { b.isrLoop(ctx) })
	wg.Go(func() { b.hwCheckpointLoop(ctx) })
	wg.Go(func() { b.alterPartitionLoop(ctx) })
	wg.Wait()
}

// closeWorkers bounds the logs closed at once at shutdown: closing fsyncs
// index files and checkpoints, and partitions that took writes each cost a
// few fsyncs that overlap well on one disk.
const closeWorkers = 8

// Close closes every partition's log. Requests must have stopped.
func (b *Broker) Close() error {
	if b.repl.fetcher != nil {
		b.repl.fetcher.Close() // no follower writes after this
	}
	if err := b.writeHWCheckpoint(); err != nil {
		b.logger.Warn("saving the high watermark checkpoint", "err", err)
	}
	b.mu.Lock()
	var all []*partition.Partition
	for _, parts := range b.mu.partitions {
		for _, p := range parts {
			if p != nil {
				all = append(all, p)
			}
		}
	}
	b.mu.partitions = map[string][]*partition.Partition{}
	b.mu.Unlock()

	work := make(chan *partition.Partition)
	errs := make([]error, closeWorkers)
	var wg sync.WaitGroup
	for w := range closeWorkers {
		wg.Go(func() {
			for p := range work {
				if err := p.Close(); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		})
	}
	for _, p := range all {
		work <- p
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// Routes lists every API this broker serves, with its versions: those the
// handler files registered (api.go).
func (b *Broker) Routes() server.Routes {
	routes := server.Routes{}
	for _, a := range apis {
		routes[a.key] = server.Route{MinVersion: a.minVersion, MaxVersion: a.maxVersion, LargeRequests: a.largeRequests,
			FrameReusable: a.frameReusable, Handle: func(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
				return a.handle(b, ctx, rc, req)
			}}
	}
	b.routes = routes
	return routes
}

// partition returns the local replica of topic-index, or nil.
func (b *Broker) partition(topic string, index int32) *partition.Partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	parts := b.mu.partitions[topic]
	if index < 0 || int(index) >= len(parts) {
		return nil
	}
	return parts[index]
}

// leaderPartition returns the local replica of topic-index if this node
// leads it, else the error a client gets: UNKNOWN_TOPIC_OR_PARTITION when
// the partition does not exist, NOT_LEADER_OR_FOLLOWER when another broker
// leads it (the client refreshes its metadata and goes there).
func (b *Broker) leaderPartition(topic string, index int32) (*partition.Partition, *kerr.Error) {
	t, ok := b.meta.Image().Topic(topic)
	if !ok || index < 0 || int(index) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	p := b.partition(topic, index)
	if p == nil || t.Partitions[index].Leader != b.opts.NodeID {
		return nil, kerr.NotLeaderForPartition
	}
	return p, nil
}

// topicPartitions returns the local replicas of a topic.
func (b *Broker) topicPartitions(topic string) []*partition.Partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.mu.partitions[topic]
}

// allPartitions returns every local replica.
func (b *Broker) allPartitions() []*partition.Partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var all []*partition.Partition
	for _, parts := range b.mu.partitions {
		for _, p := range parts {
			if p != nil {
				all = append(all, p)
			}
		}
	}
	return all
}

// every calls fn after each interval until ctx ends; a run that takes
// longer than interval delays the next rather than piling up.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
		t.Reset(interval)
	}
}

func (b *Broker) retentionLoop(ctx context.Context) {
	interval := b.opts.Config.LogRetentionCheckInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	every(ctx, interval, func() {
		now := b.now()
		producerCutoff := now.Add(-b.opts.Config.ProducerIDExpiration).UnixMilli()
		for _, p := range b.allPartitions() {
			if _, err := p.Log().ApplyRetention(now); err != nil {
				b.logger.Warn("retention", "topic", p.Topic, "partition", p.Index, "err", err)
			}
			p.ExpireProducers(producerCutoff)
		}
	})
}

// flushInterval is how often relaxed topics are checked against flush.ms
// and flush.messages; it bounds how late a flush.ms deadline is honoured.
const flushInterval = 100 * time.Millisecond

func (b *Broker) flushLoop(ctx context.Context) {
	every(ctx, flushInterval, func() {
		now := b.now()
		for _, p := range b.allPartitions() {
			if err := p.FlushIfDue(now); err != nil {
				b.logger.Warn("flush", "topic", p.Topic, "partition", p.Index, "err", err)
			}
		}
	})
}

// brokerProps is what topic configs fall back to: static properties
// overlaid with dynamic cluster-wide and per-broker configs.
func (b *Broker) brokerProps(img *metadata.Image) map[string]string {
	props := make(map[string]string, len(b.opts.StaticProps))
	for k, v := range b.opts.StaticProps {
		props[k] = v
	}
	for k, v := range img.BrokerConfigs("") {
		props[k] = v
	}
	for k, v := range img.BrokerConfigs(strconv.Itoa(int(b.opts.NodeID))) {
		props[k] = v
	}
	return props
}

func partitionDirName(topic string, index int32) string {
	return fmt.Sprintf("%s-%d", topic, index)
}
