package replicas

// Roles. A partition is led here, with a replication.LeaderState that
// follower fetches and the broker's own fsyncs feed, or followed from its
// leader by the replication.Fetcher, or offline. There is no separate path
// for a partition with one replica: it is led with an ISR of itself, and
// its own fsyncs alone move its high watermark.
//
// Roles follow the metadata image: every image applies becomeLeader or a
// follower role to each local partition, on the metadata goroutine.
// LeaderState is pure; its lock here is held only for its in-memory
// decisions, never across I/O.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

// leaderRole is this broker's leadership of one replicated partition.
type leaderRole struct {
	p           *Replica
	topicID     [16]byte
	leaderEpoch int32

	// ended is closed when this leadership ends (a new epoch, a follower
	// role, deletion): acks=all waits answer NOT_LEADER_OR_FOLLOWER at
	// once, as Kafka completes delayed produces on a leader change, rather
	// than hold the client (or a group write) until the request timeout.
	ended chan struct{}

	// logStarts are the followers' log starts, for DeleteRecords'
	// low watermark (lowwatermark.go); guarded by mu.
	logStarts followerLogStarts

	mu    sync.Mutex
	state *replication.LeaderState
	// brokerEpochs are the broker epochs of the followers' latest fetches
	// (guarded by mu), sent with ISR changes for the controller to check
	// against the registrations (KIP-903).
	brokerEpochs map[int32]int64

	// throttle is set while the partition's leader replication throttle
	// applies here (throttle.go); nil keeps follower fetches unthrottled.
	throttle atomic.Pointer[leaderThrottle]

	// isrSize is the size of the last committed ISR logged, to count
	// shrinks and expands (logISRChange).
	isrSize atomic.Int32
}

// hasEnded reports whether the leadership is over.
func (r *leaderRole) hasEnded() bool {
	select {
	case <-r.ended:
		return true
	default:
		return false
	}
}

func (m *Manager) startReplication(ctx context.Context) {
	m.roles.leaders = map[*Replica]*leaderRole{}
	m.isrChanges.init()
	m.startThrottles()
	m.fetcher = replication.NewFetcher(ctx, replication.FetcherConfig{
		ReplicaID:    m.opts.NodeID,
		ReplicaEpoch: m.ownBrokerEpoch,
		Dial:         replication.WireDialer(m.brokerAddress, m.opts.Config.ReplicaFetchResponseMaxBytes, m.opts.NodeID, m.opts.InterBroker),
		MaxWait:      m.opts.Config.ReplicaFetchWaitMax,
		MinBytes:     m.opts.Config.ReplicaFetchMinBytes,
		// replica.fetch.backoff.ms defaults to 50 ms here, not Kafka's 1 s:
		// a follower usually backs off because the leader has not applied
		// the newest metadata yet (a new topic, a leader change), which
		// takes milliseconds, and acks=all producers wait on it meanwhile.
		Backoff: m.opts.Config.ReplicaFetchBackoff,
		Quota:   m.followerQuota,
		BytesIn: m.opts.ReplicationBytesIn,
		Now:     m.now,
		Logger:  m.logger.With("component", "replica-fetcher"),
	})
}

// brokerAddress is where a broker serves clients and followers.
func (m *Manager) brokerAddress(id int32) (string, error) {
	br, ok := m.meta.Image().Broker(id)
	if !ok {
		return "", fmt.Errorf("broker %d is not registered", id)
	}
	return net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))), nil
}

// applyRole puts a local partition in the role the image gives it.
func (m *Manager) applyRole(t metadata.TopicImage, p *Replica, pi metadata.PartitionImage) {
	tp := replication.TopicPartition{Topic: t.Name, TopicID: t.ID, Partition: p.Index}
	switch pi.Leader {
	case m.opts.NodeID:
		m.fetcher.Unfollow(tp)
		m.becomeLeader(t, p, pi)
	case -1:
		// Offline: no leader to follow, nothing to serve.
		m.dropLeaderRole(p)
		m.fetcher.Unfollow(tp)
	default:
		m.dropLeaderRole(p)
		p.SetLeaderEpoch(pi.LeaderEpoch)
		if err := m.fetcher.Follow(pi.Leader, tp, followerReplica{p, m}, pi.LeaderEpoch); err != nil {
			m.logger.Warn("following partition", "topic", t.Name, "partition", p.Index, "leader", pi.Leader, "err", err)
		}
	}
	m.applyThrottle(t, p, pi, tp)
}

func (m *Manager) becomeLeader(t metadata.TopicImage, p *Replica, pi metadata.PartitionImage) {
	now := m.now()
	m.roles.Lock()
	role := m.roles.leaders[p]
	m.roles.Unlock()
	if role != nil && role.leaderEpoch == pi.LeaderEpoch {
		m.applyPartitionChange(role, pi)
		return
	}
	p.BecomeLeader(pi.LeaderEpoch)
	if len(pi.Replicas) > 1 {
		// Followers truncate by this history. A one-replica partition's
		// epochs that began without records need not survive a restart:
		// no follower asks about them (one that a reassignment adds
		// comes after the next election, which saves them).
		m.saveEpochs(p)
	}
	state, err := replication.NewLeaderState(replication.LeaderConfig{
		LeaderID:       m.opts.NodeID,
		LeaderEpoch:    pi.LeaderEpoch,
		PartitionEpoch: pi.PartitionEpoch,
		Replicas:       pi.Replicas,
		ISR:            pi.ISR,
		LogEndOffset:   p.DurableEnd(),
		HighWatermark:  p.HighWatermark(),
		ReplicaLagTime: m.opts.Config.ReplicaLagTimeMax,
		Now:            now,
	})
	if err != nil {
		m.logger.Error("becoming leader", "topic", t.Name, "partition", p.Index, "err", err)
		return
	}
	m.logger.Info("leading", "topic", t.Name, "partition", p.Index, "leaderEpoch", pi.LeaderEpoch, "partitionEpoch", pi.PartitionEpoch,
		"isr", pi.ISR, "logEndOffset", p.LogEndOffset(), "highWatermark", state.HighWatermark())
	role = &leaderRole{p: p, topicID: t.ID, leaderEpoch: pi.LeaderEpoch,
		ended: make(chan struct{}), logStarts: newFollowerLogStarts(), state: state, brokerEpochs: map[int32]int64{}}
	role.isrSize.Store(int32(len(pi.ISR)))
	m.roles.Lock()
	old := m.roles.leaders[p]
	m.roles.leaders[p] = role
	m.roles.Unlock()
	if old != nil {
		close(old.ended)
	}
	// An ISR of the leader alone commits what the leader holds at once.
	m.onLeaderAppend(role)
}

func (m *Manager) dropLeaderRole(p *Replica) {
	m.roles.Lock()
	old := m.roles.leaders[p]
	delete(m.roles.leaders, p)
	m.roles.Unlock()
	if old != nil {
		close(old.ended)
	}
}

// leaderRoleOf returns the leadership of a replicated partition, or nil
// for a single-replica partition (or one not led here).
func (m *Manager) leaderRoleOf(p *Replica) *leaderRole {
	m.roles.Lock()
	defer m.roles.Unlock()
	return m.roles.leaders[p]
}

// writeRole returns the leadership through which a write to p must be
// acknowledged: p's leader role at the image's leader epoch. The image is
// published before its subscribers set roles up, so a write can arrive
// after the image names this broker leader and before becomeLeader ran, or
// after the image moved leadership and dropLeaderRole removed the role;
// such writes are refused with NOT_LEADER_OR_FOLLOWER, which clients retry.
// Taking them as writes to a single-replica partition acknowledged records
// that no other replica held (issue 12); there is no such path any more.
func (m *Manager) writeRole(p *Replica) (*leaderRole, error) {
	t, ok := m.meta.Image().Topic(p.Topic)
	if !ok || int(p.Index) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	pi := t.Partitions[p.Index]
	if pi.Leader != m.opts.NodeID {
		return nil, kerr.NotLeaderForPartition
	}
	role := m.leaderRoleOf(p)
	if role == nil || role.leaderEpoch != pi.LeaderEpoch || role.hasEnded() {
		return nil, kerr.NotLeaderForPartition
	}
	return role, nil
}

// onLeaderAppend tells the leader state that the leader's own log grew
// (after the fsync that acks wait for), which may move the high watermark
// of a leader whose ISR is small.
func (m *Manager) onLeaderAppend(role *leaderRole) {
	role.mu.Lock()
	update := role.state.OnLeaderAppend(role.p.DurableEnd())
	role.mu.Unlock()
	m.applyLeaderUpdate(role, update)
	// Followers long-polling for new records wake up.
	role.p.WakeFetchers()
}

// onFollowerFetch records a follower's position from its fetch.
func (m *Manager) onFollowerFetch(role *leaderRole, follower int32, brokerEpoch int64, fetchOffset storage.Offset) error {
	role.mu.Lock()
	role.brokerEpochs[follower] = brokerEpoch
	role.state.OnLeaderWrite(role.p.Log().LogEndOffset())
	update, err := role.state.OnFollowerFetch(follower, fetchOffset, m.now())
	role.mu.Unlock()
	if err != nil {
		return err
	}
	m.applyLeaderUpdate(role, update)
	return nil
}

// applyLeaderUpdate exposes a new high watermark and queues an ISR change
// for the controller.
func (m *Manager) applyLeaderUpdate(role *leaderRole, update replication.Update) {
	if update.HighWatermarkAdvanced {
		role.p.advanceHighWatermark(update.HighWatermark)
	}
	if update.Proposal != nil {
		m.isrChanges.queue(role, *update.Proposal)
	}
}

// applyPartitionChange brings the role of leader epoch pi.LeaderEpoch to
// pi's replicas and ISR from the metadata image. The leader state ignores a
// partition epoch it already holds or an older one: every image re-applies
// every partition's role, and only a change of the partition comes with a
// newer epoch.
func (m *Manager) applyPartitionChange(role *leaderRole, pi metadata.PartitionImage) {
	role.mu.Lock()
	held := role.state.PartitionEpoch()
	update, err := role.state.OnPartitionChange(partitionState(pi), m.now())
	role.mu.Unlock()
	if err != nil {
		m.logger.Warn("partition change", "topic", role.p.Topic, "partition", role.p.Index, "err", err)
		return
	}
	if pi.PartitionEpoch > held {
		m.logISRChange(role, pi, "metadata")
	}
	m.applyLeaderUpdate(role, update)
}

func partitionState(pi metadata.PartitionImage) replication.PartitionState {
	return replication.PartitionState{LeaderEpoch: pi.LeaderEpoch, PartitionEpoch: pi.PartitionEpoch, Replicas: pi.Replicas, ISR: pi.ISR}
}

// logISRChange logs a committed change of a partition this broker leads, as
// Kafka's "ISR updated" line: the ISR's history is what explains a fault
// run's timeline. It counts the change as a shrink or an expansion.
func (m *Manager) logISRChange(role *leaderRole, pi metadata.PartitionImage, from string) {
	size := int32(len(pi.ISR))
	switch before := role.isrSize.Swap(size); {
	case size < before:
		m.isrShrinks.Add(1)
	case size > before:
		m.isrExpands.Add(1)
	}
	m.logger.Info("ISR updated", "topic", role.p.Topic, "partition", role.p.Index, "leaderEpoch", pi.LeaderEpoch,
		"partitionEpoch", pi.PartitionEpoch, "isr", pi.ISR, "replicas", pi.Replicas, "from", from)
}

// isrBrokerEpochs are the broker epochs to send with an ISR change: this
// broker's own registration's, and for each follower the epoch of its
// latest fetch (-1 when none was seen or it sent none).
func (m *Manager) isrBrokerEpochs(role *leaderRole, isr []int32) []int64 {
	own := m.ownBrokerEpoch()
	epochs := make([]int64, len(isr))
	role.mu.Lock()
	defer role.mu.Unlock()
	for i, id := range isr {
		epoch, seen := role.brokerEpochs[id]
		switch {
		case id == m.opts.NodeID:
			epoch = own
		case !seen:
			epoch = -1
		}
		epochs[i] = epoch
	}
	return epochs
}

// ownBrokerEpoch is this broker's registration epoch in the metadata
// image, or -1 before it registered.
func (m *Manager) ownBrokerEpoch() int64 {
	if br, ok := m.meta.Image().Broker(m.opts.NodeID); ok {
		return br.Epoch
	}
	return -1
}

// waitReplicated waits until an acks=all produce ending at last is
// committed by the ISR, the request times out, or ctx ends.
func (m *Manager) waitReplicated(ctx context.Context, role *leaderRole, last storage.Offset, minISR int, timeout time.Duration) error {
	notify := make(chan struct{}, 1)
	defer role.p.StopNotify(notify)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		role.p.NotifyOnChange(notify)
		role.mu.Lock()
		decision := role.state.AckReady(last+1, replication.AcksAll, minISR)
		role.mu.Unlock()
		if decision.Done {
			return decision.Err
		}
		select {
		case <-notify:
		case <-timer.C:
			return kerr.RequestTimedOut
		case <-ctx.Done():
			return kerr.RequestTimedOut
		case <-role.ended:
			return kerr.NotLeaderForPartition
		case <-m.stopping:
			return kerr.NotLeaderForPartition
		}
		role.p.StopNotify(notify)
	}
}

// replicaLagCheckInterval is how often leaders look for followers that
// fell out of sync; a fraction of replica.lag.time.max.ms as in Kafka.
func (m *Manager) replicaLagCheckInterval() time.Duration {
	lag := m.opts.Config.ReplicaLagTimeMax
	if lag <= 0 {
		lag = 30 * time.Second
	}
	return max(lag/2, 10*time.Millisecond)
}

// isrLoop proposes ISR shrinks for followers that stopped keeping up.
func (m *Manager) isrLoop(ctx context.Context) {
	every(ctx, m.replicaLagCheckInterval(), func() {
		m.roles.Lock()
		roles := make([]*leaderRole, 0, len(m.roles.leaders))
		for _, r := range m.roles.leaders {
			roles = append(roles, r)
		}
		m.roles.Unlock()
		now := m.now()
		for _, role := range roles {
			role.mu.Lock()
			update := role.state.Tick(now)
			role.mu.Unlock()
			m.applyLeaderUpdate(role, update)
		}
	})
}
