package metadata

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/fjordhq/fjord/internal/config"
)

// Options configure a Node.
type Options struct {
	// Dir is the data directory (DATA_DIR); the node keeps its Raft log,
	// stable store, snapshots and cluster id in Dir/meta.
	Dir    string
	NodeID int32
	// Transport carries Raft RPCs for a node alone: raft.NewInmemTransport.
	// The caller owns it and closes it after Close. Ignored with Network.
	Transport raft.Transport
	// LocalAddr is this node's address on Transport.
	LocalAddr raft.ServerAddress
	// Network is the controller listener of a node in a cluster (Raft over
	// TCP and forwarding). The caller owns it and closes it after Close.
	Network *Network
	// Voters is controller.quorum.voters. A node listed bootstraps the
	// quorum with all of them on first start; a node not listed (a
	// broker-only node) joins the running quorum as an observer (a Raft
	// non-voter). Empty: a lone node, its own only voter.
	Voters []Voter
	// HeartbeatInterval and SessionTimeout are broker.heartbeat.interval.ms
	// and broker.session.timeout.ms; zero means Kafka's defaults.
	HeartbeatInterval time.Duration
	SessionTimeout    time.Duration
	// LeaderImbalanceCheckInterval is leader.imbalance.check.interval.seconds
	// for the preferred leader election of auto.leader.rebalance.enable;
	// zero means the broker property, else 300 s.
	LeaderImbalanceCheckInterval time.Duration
	Logger                       *slog.Logger
	// ClusterID is the cluster's id. Empty: the id stored in Dir/meta, or a
	// new random one on first start. A given id that differs from the stored
	// one is an error, as in Kafka: the directory belongs to another cluster.
	ClusterID string
	// Broker supplies the defaults for topic creation (num.partitions,
	// default.replication.factor). Zero value: Kafka's defaults.
	Broker config.Broker
	// Now is the clock of broker liveness (heartbeats, sessions); time.Now
	// when nil. Raft keeps its own time.
	Now func() time.Time
}

// Raft timing. The defaults of hashicorp/raft (1 s heartbeat and election
// timeouts) target WAN-ish clusters and delay a single node's first election
// by 1-2 s. fjord's quorum runs on a LAN or loopback:
const (
	// heartbeatTimeout: a follower starts an election after hearing nothing
	// for a random time in [t, 2t). 150 ms elects a lone voter in under
	// 300 ms and still tolerates GC pauses and a loaded 2-core machine.
	heartbeatTimeout = 150 * time.Millisecond
	// electionTimeout: a candidate retries after this; equal to the
	// heartbeat timeout, the smallest value raft accepts.
	electionTimeout = 150 * time.Millisecond
	// leaderLeaseTimeout: a leader steps down after this long without
	// reaching a quorum; it must not exceed the heartbeat timeout.
	leaderLeaseTimeout = 100 * time.Millisecond
	// commitTimeout: the longest a leader waits before heartbeating when idle;
	// short, so followers learn the commit index quickly.
	commitTimeout = 10 * time.Millisecond
	// snapshotThreshold: entries between snapshots. Metadata entries are
	// small; 4096 keeps replay after a restart to a few milliseconds.
	snapshotThreshold = 4096
	// trailingLogs: entries kept after a snapshot so a slightly lagging
	// follower catches up without a snapshot transfer.
	trailingLogs = 4096
	// retainSnapshots: snapshots kept on disk; two survive one bad write.
	retainSnapshots = 2
	// logCacheEntries: recent entries kept in memory for replication.
	logCacheEntries = 512
	// boltOpenTimeout: how long to wait for the store's file lock; another
	// process holding it is an error, not a hang.
	boltOpenTimeout = time.Second
	// defaultApplyTimeout bounds a controller write when ctx has no deadline.
	defaultApplyTimeout = 10 * time.Second
)

// Raft timing of a cluster. Loopback or LAN round trips are well under a
// millisecond, but three nodes share the machine with brokers and tests on
// two cores: 150 ms would turn a GC pause or a scheduling hiccup into an
// election. 500 ms elects a new leader within about a second of a crash.
const (
	clusterHeartbeatTimeout   = 500 * time.Millisecond
	clusterElectionTimeout    = 500 * time.Millisecond
	clusterLeaderLeaseTimeout = 250 * time.Millisecond
)

// Node is one member of the metadata quorum.
type Node struct {
	opts   Options
	logger *slog.Logger
	raft   *raft.Raft
	store  *raftboltdb.BoltStore
	fsm    *fsm

	observer *raft.Observer
	ready    chan struct{}
	ctx      context.Context // cancelled by Close; bounds forwarded operations
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	liveness liveness

	controllerMu sync.Mutex // serialises controller operations; see doc.go
	// activeTerm is the Raft term in which this node, as leader, applied
	// every earlier entry (activateLocked); guarded by controllerMu.
	activeTerm uint64
	joining    bool // a new observer that must ask to be added
	closeOnce  sync.Once
	closeErr   error
}

// Start opens (or creates) the metadata quorum state under opts.Dir/meta and
// starts the Raft node. On first start it bootstraps a group whose only voter
// is this node; with existing state it resumes. Start does not wait for an
// election: call WaitReady.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if opts.Network != nil {
		opts.Transport, opts.LocalAddr = opts.Network.Transport(), opts.Network.Addr()
		if opts.ClusterID == "" && len(opts.Voters) > 0 {
			opts.ClusterID = clusterIDForVoters(opts.Voters)
		}
	} else if len(opts.Voters) > 0 {
		return nil, errors.New("metadata: Voters need a Network")
	}
	if opts.Transport == nil || opts.LocalAddr == "" || opts.Dir == "" || opts.NodeID < 0 {
		return nil, errors.New("metadata: Dir, NodeID, Transport and LocalAddr are required")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Broker.NumPartitions == 0 {
		opts.Broker, _ = config.ParseBroker(nil)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	metaDir := filepath.Join(opts.Dir, "meta")
	if err := os.MkdirAll(metaDir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata: creating %s: %w", metaDir, err)
	}
	clusterID, err := loadClusterID(metaDir, opts.ClusterID)
	if err != nil {
		return nil, err
	}
	n := &Node{opts: opts, logger: logger, fsm: newFSM(logger, clusterID), ready: make(chan struct{})}
	if err := n.startRaft(metaDir); err != nil {
		return nil, err
	}
	watchCtx, cancel := context.WithCancel(context.Background())
	n.ctx, n.cancel = watchCtx, cancel
	observations := make(chan raft.Observation, 16)
	n.observer = raft.NewObserver(observations, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(n.observer)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.watchReadiness(watchCtx, observations)
	}()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.runLiveness(watchCtx)
	}()
	if opts.Network != nil {
		opts.Network.setForwardHandler(n.serveForwardConn)
		if n.joining {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.joinAsObserver(watchCtx)
			}()
		}
	}
	return n, nil
}

// joinAsObserver asks the leader to add this broker-only node to the Raft
// configuration, retrying until it succeeds or the node closes.
func (n *Node) joinAsObserver(ctx context.Context) {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, defaultApplyTimeout)
		_, err := n.forward(rctx, forwardRequest{Op: opAddObserver, NodeID: n.opts.NodeID, Addr: string(n.opts.LocalAddr)})
		cancel()
		if err == nil {
			n.logger.Info("joined the metadata quorum as an observer")
			return
		}
		n.logger.Warn("joining the metadata quorum", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// bootConfiguration is the configuration a new node bootstraps, and whether
// this node is a voter in it.
func (n *Node) bootConfiguration(self raft.ServerID) (raft.Configuration, bool) {
	if len(n.opts.Voters) == 0 {
		return raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: self, Address: n.opts.LocalAddr}}}, true
	}
	var boot raft.Configuration
	voter := false
	for _, v := range n.opts.Voters {
		id := raft.ServerID(serverID(v.NodeID))
		boot.Servers = append(boot.Servers, raft.Server{Suffrage: raft.Voter, ID: id, Address: raft.ServerAddress(v.Addr)})
		voter = voter || id == self
	}
	return boot, voter
}

func (n *Node) startRaft(metaDir string) error {
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(strconv.Itoa(int(n.opts.NodeID)))
	conf.HeartbeatTimeout = heartbeatTimeout
	conf.ElectionTimeout = electionTimeout
	conf.LeaderLeaseTimeout = leaderLeaseTimeout
	conf.CommitTimeout = commitTimeout
	conf.SnapshotThreshold = snapshotThreshold
	conf.TrailingLogs = trailingLogs
	conf.Logger = newHCLogger(n.logger)
	if n.opts.Network != nil {
		conf.HeartbeatTimeout = clusterHeartbeatTimeout
		conf.ElectionTimeout = clusterElectionTimeout
		conf.LeaderLeaseTimeout = clusterLeaderLeaseTimeout
	}

	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(metaDir, "raft.db"),
		BoltOptions: &bolt.Options{Timeout: boltOpenTimeout}})
	if err != nil {
		return fmt.Errorf("metadata: opening raft store: %w", err)
	}
	logs, err := raft.NewLogCache(logCacheEntries, store)
	if err != nil {
		store.Close()
		return fmt.Errorf("metadata: log cache: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(metaDir, retainSnapshots, conf.Logger)
	if err != nil {
		store.Close()
		return fmt.Errorf("metadata: snapshot store: %w", err)
	}
	existing, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		store.Close()
		return fmt.Errorf("metadata: checking raft state: %w", err)
	}
	boot, voter := n.bootConfiguration(conf.LocalID)
	switch {
	case existing:
	case voter:
		// Every voter bootstraps the same configuration, so whichever of
		// them wins the first election holds the same log prefix.
		if err := raft.BootstrapCluster(conf, logs, store, snaps, n.opts.Transport, boot); err != nil {
			store.Close()
			return fmt.Errorf("metadata: bootstrapping: %w", err)
		}
	default:
		n.joining = true
	}
	r, err := raft.NewRaft(conf, n.fsm, logs, store, snaps, n.opts.Transport)
	if err != nil {
		store.Close()
		return fmt.Errorf("metadata: starting raft: %w", err)
	}
	n.raft, n.store = r, store
	return nil
}

// watchReadiness closes n.ready once a leader is known and, if that leader
// is this node, every committed entry is applied (a Barrier).
func (n *Node) watchReadiness(ctx context.Context, observations <-chan raft.Observation) {
	for {
		if n.checkReady() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-observations:
		}
	}
}

func (n *Node) checkReady() bool {
	_, leaderID := n.raft.LeaderWithID()
	switch {
	case leaderID == "":
		return false
	case leaderID == raft.ServerID(strconv.Itoa(int(n.opts.NodeID))):
		if err := n.raft.Barrier(defaultApplyTimeout).Error(); err != nil {
			n.logger.Warn("metadata barrier failed", "err", err)
			return false
		}
	}
	close(n.ready)
	return true
}

// WaitReady returns when a leader is elected and this node has applied the
// log up to what the leader had committed, or with ctx's error.
func (n *Node) WaitReady(ctx context.Context) error {
	select {
	case <-n.ready:
	case <-ctx.Done():
		return fmt.Errorf("metadata: waiting for leader: %w", ctx.Err())
	}
	if n.opts.Network == nil || n.Leader() {
		return nil
	}
	for {
		// A follower catches up to the leader's barrier; an observer not yet
		// in the configuration retries until it receives the log.
		rctx, cancel := context.WithTimeout(ctx, defaultApplyTimeout)
		_, err := n.forward(rctx, forwardRequest{Op: opBarrier})
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("metadata: catching up with the leader: %w", err)
		}
	}
}

// ControllerID is the node id of the Raft leader, or -1 when none is known.
func (n *Node) ControllerID() int32 {
	_, id := n.raft.LeaderWithID()
	v, err := strconv.ParseInt(string(id), 10, 32)
	if id == "" || err != nil {
		return -1
	}
	return int32(v)
}

// Image returns the latest applied image without blocking.
func (n *Node) Image() *Image { return n.fsm.current.Load() }

// Subscribe calls fn once with (nil, current image), then with (old, new) on
// every applied log entry and snapshot restore, in apply order, from the FSM
// goroutine. fn must return quickly and must not call Subscribe.
func (n *Node) Subscribe(fn func(old, new *Image)) { n.fsm.subscribe(fn) }

// Leader reports whether this node is the Raft leader, i.e. the controller.
func (n *Node) Leader() bool { return n.raft.State() == raft.Leader }

// Close shuts down Raft, stops the readiness watcher and closes the store.
// It does not close the transport, which the caller owns.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		if n.opts.Network != nil {
			n.opts.Network.setForwardHandler(nil)
		}
		n.cancel()
		n.raft.DeregisterObserver(n.observer)
		n.resignLeadership()
		err := n.shutdownRaft()
		n.wg.Wait()
		n.closeErr = errors.Join(err, n.store.Close())
	})
	return n.closeErr
}

// raftShutdownGrace is how long raft may take to stop before its outbound
// connections are closed under it.
const raftShutdownGrace = 5 * time.Second

// shutdownRaft stops raft. A replication pipeline blocked on a peer that
// stopped answering does not notice raft stopping; closing the outbound
// connections after a grace period ends its read, and so the shutdown.
func (n *Node) shutdownRaft() error {
	done := make(chan error, 1)
	f := n.raft.Shutdown()
	go func() { done <- f.Error() }()
	t := time.NewTimer(raftShutdownGrace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
	}
	if n.opts.Network != nil {
		n.logger.Warn("raft shutdown is waiting on a peer; closing its connections")
		n.opts.Network.closeDialed()
	}
	return <-done
}

// resignLeadership hands the quorum's leadership to another voter before
// this node stops, as a KRaft controller resigns: otherwise the others
// wait out an election timeout, and entries this leader committed last
// (such as its own controlled-shutdown fencing) reach their images only
// once a new leader is elected.
func (n *Node) resignLeadership() {
	if n.raft.State() != raft.Leader {
		return
	}
	voters := 0
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			if s.Suffrage == raft.Voter {
				voters++
			}
		}
	}
	if voters < 2 {
		return
	}
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		n.logger.Warn("handing over quorum leadership at shutdown", "err", err)
	}
}

// loadClusterID returns the cluster id stored in dir, storing want (or a new
// id) on first start.
func loadClusterID(dir, want string) (string, error) {
	path := filepath.Join(dir, "cluster.id")
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		stored := strings.TrimSpace(string(b))
		if want != "" && want != stored {
			return "", fmt.Errorf("metadata: %s belongs to cluster %q, not %q", dir, stored, want)
		}
		return stored, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("metadata: reading cluster id: %w", err)
	}
	if want == "" {
		var u [16]byte
		_, _ = rand.Read(u[:])
		want = base64.RawURLEncoding.EncodeToString(u[:])
	}
	if err := writeFileSync(path, []byte(want+"\n")); err != nil {
		return "", fmt.Errorf("metadata: storing cluster id: %w", err)
	}
	return want, nil
}

// writeFileSync writes through a temporary file, fsyncs and renames, so a
// crash leaves the old file or the new one, never half of it.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// newHCLogger routes hashicorp/raft's logging to slog, one record per line.
// Raft narrates every election at info and warn level, which on a single
// node is noise at each start; it speaks only of errors unless fjord runs
// with debug logging.
func newHCLogger(logger *slog.Logger) hclog.Logger {
	level := hclog.Error
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: slogWriter{logger}, DisableTime: true})
}

type slogWriter struct{ logger *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.logger.Info(strings.TrimSpace(string(p)), "component", "raft")
	return len(p), nil
}

var _ io.Writer = slogWriter{}
