package replicas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/interbroker"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
	"github.com/fjordhq/fjord/internal/vfs"
)

// Metadata is what the manager needs of the metadata quorum: the image to
// follow and the controller to send ISR changes to. *metadata.Node
// implements it.
type Metadata interface {
	Image() *metadata.Image
	// Subscribe calls fn with the current image and after each change.
	Subscribe(fn func(old, new *metadata.Image))
	AlterPartitions(ctx context.Context, reqs []metadata.AlterPartitionRequest) ([]metadata.AlterPartitionResult, error)
}

// Options configure a Manager.
type Options struct {
	NodeID  int32
	DataDir string
	// Config is the typed broker configuration; StaticProps are the raw
	// properties it came from, which topic configs fall back to.
	Config      config.Broker
	StaticProps map[string]string
	FS          vfs.FS
	Meta        Metadata
	Logger      *slog.Logger
	Now         func() time.Time
	// InterBroker is how followers connect to leaders (TLS, SASL).
	InterBroker interbroker.Security
	// FlushObserver, if set, times every fsync of the partitions' logs.
	FlushObserver storage.FlushObserver
	// ReplicationBytesIn, if set, counts the bytes followers append.
	ReplicationBytesIn func(n int)
}

// Manager owns the partition replicas this broker hosts; see the package
// doc.
type Manager struct {
	opts   Options
	logger *slog.Logger
	meta   Metadata
	now    func() time.Time

	// startHighWatermarks is the high watermark checkpoint while Start
	// opens the replicas (hwcheckpoint.go).
	startHighWatermarks map[replicaKey]storage.Offset

	mu struct {
		sync.RWMutex
		// partitions by topic name, indexed by partition number; a nil
		// entry is a partition hosted elsewhere.
		partitions map[string][]*Replica
		topicIDs   map[string][16]byte
	}

	fetcher    *replication.Fetcher
	isrChanges isrChangeQueue
	// isrShrinks and isrExpands count committed ISR changes of the
	// partitions led here (ISRChanges).
	isrShrinks, isrExpands atomic.Uint64
	// leaderQuota and followerQuota are the replication throttles.
	leaderQuota, followerQuota *replication.Quota

	// roles are the leader roles of the partitions led here.
	roles struct {
		sync.Mutex
		leaders map[*Replica]*leaderRole
	}

	// logDir is the log directory's failure (logdir.go): failed is
	// closed, and err set, once.
	logDir struct {
		once   sync.Once
		failed chan struct{}
		err    error
	}

	// stopping is closed when Run's context ends: waits for
	// acknowledgements end then (NOT_LEADER_OR_FOLLOWER), whatever the
	// caller's context, so that shutting down never waits on them.
	stopping chan struct{}
	stopOnce sync.Once

	// images are the metadata images on their way to being applied
	// (images.go).
	images struct {
		latest atomic.Pointer[metadata.Image]
		ready  chan struct{} // signalled when latest changes
		mu     struct {
			sync.Mutex
			applied     *metadata.Image
			changed     chan struct{} // closed and replaced at each application
			subscribers []func(*metadata.Image)
		}
	}
}

// New creates a manager. Call Start before using it.
func New(opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Manager{opts: opts, logger: opts.Logger, meta: opts.Meta, now: opts.Now}
	m.mu.partitions = make(map[string][]*Replica)
	m.mu.topicIDs = make(map[string][16]byte)
	m.stopping = make(chan struct{})
	m.logDir.failed = make(chan struct{})
	m.images.ready = make(chan struct{}, 1)
	m.images.mu.changed = make(chan struct{})
	return m
}

// Start opens the logs of every partition in the current metadata image,
// resuming the high watermarks of the checkpoint, and subscribes to later
// images, which Run applies. ctx bounds the replica fetcher.
func (m *Manager) Start(ctx context.Context) error {
	img := m.meta.Image()
	if err := m.removeStrayLogs(img); err != nil {
		return err
	}
	m.startReplication(ctx)
	m.startHighWatermarks = m.loadHWCheckpoint()
	err := m.applyImage(nil, img)
	// Only the replicas opened at start resume from the checkpoint.
	m.startHighWatermarks = nil
	if err != nil {
		return err
	}
	m.images.mu.Lock()
	m.images.mu.applied = img
	m.images.mu.Unlock()
	m.meta.Subscribe(m.noteImage)
	return nil
}

// Run runs the replicas' background work until ctx is cancelled: applying
// metadata images, retention, relaxed flushes, the log cleaner, ISR checks
// and changes, and the high watermark checkpoint.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { m.applyLoop(ctx) })
	wg.Go(func() { m.retentionLoop(ctx) })
	wg.Go(func() { m.flushLoop(ctx) })
	wg.Go(func() { m.cleanerLoop(ctx) })
	wg.Go(func() { m.isrLoop(ctx) })
	wg.Go(func() { m.hwCheckpointLoop(ctx) })
	wg.Go(func() { m.alterPartitionLoop(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		m.stopOnce.Do(func() { close(m.stopping) })
	})
	wg.Wait()
}

// closeWorkers bounds the logs closed at once at shutdown: closing fsyncs
// index files and checkpoints, and partitions that took writes each cost a
// few fsyncs that overlap well on one disk.
const closeWorkers = 8

// Close closes every partition's log. Requests must have stopped; waits
// for acknowledgements still running end at once.
func (m *Manager) Close() error {
	m.stopOnce.Do(func() { close(m.stopping) })
	if m.fetcher != nil {
		m.fetcher.Close() // no follower writes after this
	}
	if m.logDirOffline() {
		m.logger.Warn("not saving the high watermark checkpoint: the log directory failed")
	} else if err := m.writeHWCheckpoint(); err != nil {
		m.logger.Warn("saving the high watermark checkpoint", "err", err)
	}
	m.mu.Lock()
	var all []*Replica
	for _, parts := range m.mu.partitions {
		for _, p := range parts {
			if p != nil {
				all = append(all, p)
			}
		}
	}
	m.mu.partitions = map[string][]*Replica{}
	m.mu.Unlock()

	work := make(chan *Replica)
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

// Partition returns the local replica of topic-index, or nil.
func (m *Manager) Partition(topic string, index int32) *Replica {
	m.mu.RLock()
	defer m.mu.RUnlock()
	parts := m.mu.partitions[topic]
	if index < 0 || int(index) >= len(parts) {
		return nil
	}
	return parts[index]
}

// Leader returns the local replica of topic-index if this node leads it,
// else the error a client gets: UNKNOWN_TOPIC_OR_PARTITION when the
// partition does not exist, KAFKA_STORAGE_ERROR when its replica here is
// offline (logdir.go), NOT_LEADER_OR_FOLLOWER when another broker leads it
// (the client refreshes its metadata and goes there).
func (m *Manager) Leader(topic string, index int32) (*Replica, *kerr.Error) {
	t, ok := m.meta.Image().Topic(topic)
	if !ok || index < 0 || int(index) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	p := m.Partition(topic, index)
	switch {
	case p != nil && m.logDirOffline():
		return nil, offlineError
	case p == nil || t.Partitions[index].Leader != m.opts.NodeID:
		return nil, kerr.NotLeaderForPartition
	}
	return p, nil
}

// All returns every local replica.
func (m *Manager) All() []*Replica {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var all []*Replica
	for _, parts := range m.mu.partitions {
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

func (m *Manager) retentionLoop(ctx context.Context) {
	interval := m.opts.Config.LogRetentionCheckInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	every(ctx, interval, func() {
		now := m.now()
		producerCutoff := now.Add(-m.opts.Config.ProducerIDExpiration).UnixMilli()
		for _, p := range m.All() {
			if _, err := p.Log().ApplyRetention(now); err != nil {
				m.logger.Warn("retention", "topic", p.Topic, "partition", p.Index, "err", err)
			}
			p.ExpireProducers(producerCutoff)
		}
	})
}

// flushInterval is how often relaxed topics are checked against flush.ms
// and flush.messages; it bounds how late a flush.ms deadline is honoured.
const flushInterval = 100 * time.Millisecond

func (m *Manager) flushLoop(ctx context.Context) {
	every(ctx, flushInterval, func() {
		now := m.now()
		for _, p := range m.All() {
			if err := p.FlushIfDue(now); err != nil {
				m.logger.Warn("flush", "topic", p.Topic, "partition", p.Index, "err", err)
			}
		}
	})
}

// BrokerProps is what topic configs fall back to on broker nodeID: static
// properties overlaid with the image's dynamic cluster-wide and per-broker
// configs.
func BrokerProps(static map[string]string, img *metadata.Image, nodeID int32) map[string]string {
	props := make(map[string]string, len(static))
	for k, v := range static {
		props[k] = v
	}
	for k, v := range img.BrokerConfigs("") {
		props[k] = v
	}
	for k, v := range img.BrokerConfigs(strconv.Itoa(int(nodeID))) {
		props[k] = v
	}
	return props
}

func (m *Manager) brokerProps(img *metadata.Image) map[string]string {
	return BrokerProps(m.opts.StaticProps, img, m.opts.NodeID)
}

// PartitionDirName is the directory of a partition replica under the data
// directory, as Kafka's: TOPIC-PARTITION.
func PartitionDirName(topic string, index int32) string {
	return fmt.Sprintf("%s-%d", topic, index)
}
