package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/kafkastore"
	"github.com/fjordhq/fjord/internal/connect/rest"
	"github.com/fjordhq/fjord/internal/connect/workergroup"
)

// Distributed is the herder of a distributed worker (`fjord connect
// distributed`): workers with the same group.id form a group (protocol
// type "connect") whose leader spreads connectors and tasks over them with
// the incremental cooperative assignor; configurations and target states
// live in config.storage.topic, statuses in status.storage.topic and
// source offsets in offset.storage.topic, in Kafka Connect's formats.
//
// Each worker runs what its assignment names, with the configurations of
// its config topic snapshot; reconcile brings the running instances to
// that, and runs again whenever the assignment or the snapshot changes.
// Writes to connectors' configurations go through the group's leader (the
// REST server forwards them there), as in Kafka.
type Distributed struct {
	herderBase
	worker *WorkerConfig
	url    string
	logger *slog.Logger
	client *kgo.Client

	configs  *kafkastore.ConfigStore
	statuses *kafkastore.StatusStore
	offsets  *kafkastore.OffsetStore
	member   *workergroup.Member

	ready     chan struct{}
	readyOnce sync.Once
	// changed holds one pending reconcile; more coalesce into it.
	changed chan struct{}

	// opMu serializes reconcile and the member's revocations, which start
	// and stop connectors and tasks; mu (shared with env) guards the
	// fields below and the runs' states.
	opMu   sync.Mutex
	mu     sync.Mutex
	runCtx context.Context
	// joined is the last assignment, nil before the first; rebalancing
	// is set from a revocation or a rejoin this worker asked for until the
	// next assignment.
	joined      *workergroup.Joined
	rebalancing bool
	// runs are the connectors with an instance or a task on this worker.
	runs map[string]*connectorRun
	// restarts are restart requests read from the config topic and not
	// yet applied.
	restarts []kafkastore.RestartRequest
	// assignedCounts are the connectors and task counts the group was
	// last told of (ConfigState), to know when the leader must rebalance.
	assignedCounts map[string]int
}

// NewDistributed makes a distributed herder; Run starts it.
func NewDistributed(worker *WorkerConfig, registry *connect.Registry, logger *slog.Logger) (*Distributed, error) {
	if worker.GroupID == "" {
		return nil, errors.New("distributed mode needs group.id")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(worker.BootstrapServers...)}
	opts = append(opts, worker.Security.Opts(0)...)
	if worker.ClientID != "" {
		opts = append(opts, kgo.ClientID(worker.ClientID))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	d := &Distributed{
		herderBase: herderBase{registry: registry, workerID: workerID(worker), admin: kadm.NewClient(client)},
		worker:     worker, url: worker.AdvertisedURL, logger: logger, client: client,
		ready: make(chan struct{}), changed: make(chan struct{}, 1), runs: map[string]*connectorRun{},
	}
	store := func(name string, partitions int32, rf int16) kafkastore.StoreOptions {
		return kafkastore.StoreOptions{Topic: kafkastore.TopicSpec{Name: name, Partitions: partitions, ReplicationFactor: rf},
			ClientOpts: opts, Logger: logger}
	}
	d.configs = kafkastore.NewConfigStore(store(worker.ConfigTopic, 1, worker.ConfigRF), d.configChanged)
	d.statuses = kafkastore.NewStatusStore(store(worker.StatusTopic, worker.StatusPartitions, worker.StatusRF))
	d.offsets = kafkastore.NewOffsetStore(store(worker.OffsetTopic, worker.OffsetPartitions, worker.OffsetRF))
	d.env = &runEnv{worker: worker, offsets: kafkaOffsets{store: d.offsets}, baseOpts: opts, logger: logger, mu: &d.mu,
		reconfigure: d.reconfigure, raised: d.raised, registry: registry, statusChanged: d.statusChanged,
		exactlyOnce: worker.ExactlyOnceSource == ExactlyOnceEnabled}
	member, err := workergroup.New(workergroup.Config{
		Client: client, GroupID: worker.GroupID, Protocol: worker.ConnectProtocol, WorkerURL: worker.AdvertisedURL,
		SessionTimeout: worker.SessionTimeout, HeartbeatInterval: worker.HeartbeatInterval,
		RebalanceTimeout: worker.RebalanceTimeout, ScheduledRebalanceMaxDelay: worker.ScheduledRebalanceMaxDelay,
		ConfigState: d.configState, OnRevoked: d.revoked, OnAssigned: d.assigned, Logger: logger,
	})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("worker group: %w", err)
	}
	d.member = member
	return d, nil
}

// Run starts the stores, joins the group and runs what the group assigns
// until ctx ends; then it stops everything, leaves the group and closes
// the stores.
func (d *Distributed) Run(ctx context.Context) error {
	defer d.client.Close()
	d.mu.Lock()
	d.runCtx = ctx
	d.mu.Unlock()
	for _, s := range []interface{ Start(context.Context) error }{d.offsets, d.statuses, d.configs} {
		if err := s.Start(ctx); err != nil {
			return err
		}
	}
	defer func() {
		d.configs.Close()
		d.statuses.Close()
		d.offsets.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.reconcileLoop(ctx)
	}()
	// The member stops everything this worker runs (OnRevoked) before it
	// returns.
	err := d.member.Run(ctx)
	wg.Wait()
	d.stopAll()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("worker group: %w", err)
	}
	return nil
}

// reconcileLoop runs reconcile whenever something changed, until ctx ends.
func (d *Distributed) reconcileLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.changed:
		}
		d.opMu.Lock()
		d.reconcile(ctx)
		d.opMu.Unlock()
	}
}

// wake asks for a reconcile.
func (d *Distributed) wake() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// configState is what the member tells the group of the config topic.
func (d *Distributed) configState() workergroup.ConfigSnapshot {
	snap := d.configs.Snapshot()
	counts := configuredCounts(snap)
	d.mu.Lock()
	d.assignedCounts = counts
	d.mu.Unlock()
	return workergroup.ConfigSnapshot{Offset: snap.Offset, Connectors: counts}
}

// configuredCounts are the connectors of a snapshot and their task
// counts: a connector's tasks count once they are committed.
func configuredCounts(snap kafkastore.ConfigSnapshot) map[string]int {
	counts := make(map[string]int, len(snap.ConnectorConfigs))
	for name := range snap.ConnectorConfigs {
		counts[name] = len(snap.TaskConfigs[name])
	}
	return counts
}

// configChanged hears the config topic's changes, on the store's
// goroutine: it queues restart requests, starts the rebalance the change
// needs, and wakes reconcile.
func (d *Distributed) configChanged(c kafkastore.ConfigChange) {
	if c.Kind == kafkastore.RestartRequested {
		d.mu.Lock()
		d.restarts = append(d.restarts, c.Restart)
		d.mu.Unlock()
	}
	// Before the write that made the change returns to its caller, so
	// that the leader's next write already sees the rebalance coming.
	d.checkRebalanceNeeded(d.configs.Snapshot())
	d.wake()
}

// revoked stops the work the group takes away, before the member rejoins.
func (d *Distributed) revoked(connectors []string, tasks []workergroup.TaskID) {
	d.mu.Lock()
	d.rebalancing = true
	d.mu.Unlock()
	d.opMu.Lock()
	defer d.opMu.Unlock()
	d.stopRevoked(connectors, tasks)
}

// assigned records a new assignment and wakes reconcile.
func (d *Distributed) assigned(j workergroup.Joined) {
	if j.Assignment.Error != workergroup.NoError {
		// The leader had read more of the config topic than this
		// worker: read it too and rejoin.
		d.mu.Lock()
		ctx := d.runCtx
		d.mu.Unlock()
		if err := d.configs.ReadToEnd(ctx); err != nil {
			d.logger.Warn("reading the config topic after a config mismatch", "err", err)
		}
		d.member.RequestRejoin()
		return
	}
	d.mu.Lock()
	d.joined = &j
	d.rebalancing = false
	d.mu.Unlock()
	d.logger.Info("joined the worker group", "generation", j.Generation, "leader", j.Assignment.LeaderURL,
		"connectors", j.Assignment.Connectors, "tasks", len(j.Assignment.Tasks))
	d.readyOnce.Do(func() { close(d.ready) })
	d.wake()
}

// leadership returns nil when this worker leads the group and may write
// connectors' configurations, a NotLeaderError naming the leader when
// another does, and a 409 while the group rebalances.
func (d *Distributed) leadership(reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.joined == nil:
		return &rest.NotLeaderError{Reason: reason}
	case d.rebalancing:
		return fmt.Errorf("%w: a rebalance is in progress", rest.ErrRebalanceNeeded)
	case d.joined.Assignment.Leader != d.joined.MemberID:
		return &rest.NotLeaderError{LeaderURL: d.joined.Assignment.LeaderURL, Reason: reason}
	}
	return nil
}

// generation is the group generation statuses are written with.
func (d *Distributed) generation() int32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.joined == nil {
		return -1
	}
	return d.joined.Generation
}

func (d *Distributed) HealthCheck(context.Context) error {
	select {
	case <-d.ready:
		return nil
	default:
		return fmt.Errorf("%w: the worker has not joined its group yet", rest.ErrStarting)
	}
}
