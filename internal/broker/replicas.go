package broker

// Replication wiring. A partition with more than one replica is either led
// here, with a replication.LeaderState that follower fetches and the
// broker's own fsyncs feed, or followed from its leader by the
// replication.Fetcher. A partition with one replica keeps the single-node
// path: its high watermark is the local durable offset.
//
// Roles follow the metadata image: every image applies becomeLeader or
// becomeFollower to each local replicated partition, on the metadata
// goroutine. LeaderState is pure; its lock here is held only for its
// in-memory decisions, never across I/O.

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
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

// leaderRole is this broker's leadership of one replicated partition.
type leaderRole struct {
	p           *partition.Partition
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

// replicas holds the roles of replicated partitions.
type replicas struct {
	fetcher    *replication.Fetcher
	isrChanges isrChangeQueue
	// leaderQuota and followerQuota are the replication throttles.
	leaderQuota, followerQuota *replication.Quota

	mu      sync.Mutex
	leaders map[*partition.Partition]*leaderRole
}

func (b *Broker) startReplication(ctx context.Context) {
	b.repl.leaders = map[*partition.Partition]*leaderRole{}
	b.repl.isrChanges.init()
	b.startThrottles()
	b.repl.fetcher = replication.NewFetcher(ctx, replication.FetcherConfig{
		ReplicaID:    b.opts.NodeID,
		ReplicaEpoch: b.ownBrokerEpoch,
		Dial:         replication.WireDialer(b.brokerAddress, b.opts.Config.ReplicaFetchResponseMaxBytes, b.opts.NodeID),
		MaxWait:      b.opts.Config.ReplicaFetchWaitMax,
		MinBytes:     b.opts.Config.ReplicaFetchMinBytes,
		// replica.fetch.backoff.ms defaults to 50 ms here, not Kafka's 1 s:
		// a follower usually backs off because the leader has not applied
		// the newest metadata yet (a new topic, a leader change), which
		// takes milliseconds, and acks=all producers wait on it meanwhile.
		Backoff: b.opts.Config.ReplicaFetchBackoff,
		Quota:   b.repl.followerQuota,
		Now:     b.now,
		Logger:  b.logger.With("component", "replica-fetcher"),
	})
}

// brokerAddress is where a broker serves clients and followers.
func (b *Broker) brokerAddress(id int32) (string, error) {
	br, ok := b.meta.Image().Broker(id)
	if !ok {
		return "", fmt.Errorf("broker %d is not registered", id)
	}
	return net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))), nil
}

// applyRole puts a local partition in the role the image gives it.
func (b *Broker) applyRole(t metadata.TopicImage, p *partition.Partition, pi metadata.PartitionImage) {
	tp := replication.TopicPartition{Topic: t.Name, TopicID: t.ID, Partition: p.Index}
	if len(pi.Replicas) <= 1 {
		// Single-replica partitions keep the single-node path.
		b.dropLeaderRole(p)
		b.repl.fetcher.Unfollow(tp)
		p.SetReplicated(false)
		return
	}
	p.SetReplicated(true)
	switch pi.Leader {
	case b.opts.NodeID:
		b.repl.fetcher.Unfollow(tp)
		b.becomeLeader(t, p, pi)
	case -1:
		// Offline: no leader to follow, nothing to serve.
		b.dropLeaderRole(p)
		b.repl.fetcher.Unfollow(tp)
	default:
		b.dropLeaderRole(p)
		p.SetLeaderEpoch(pi.LeaderEpoch)
		if err := b.repl.fetcher.Follow(pi.Leader, tp, followerReplica{p, b}, pi.LeaderEpoch); err != nil {
			b.logger.Warn("following partition", "topic", t.Name, "partition", p.Index, "leader", pi.Leader, "err", err)
		}
	}
	b.applyThrottle(t, p, pi, tp)
}

func (b *Broker) becomeLeader(t metadata.TopicImage, p *partition.Partition, pi metadata.PartitionImage) {
	now := b.now()
	b.repl.mu.Lock()
	role := b.repl.leaders[p]
	b.repl.mu.Unlock()
	if role != nil && role.leaderEpoch == pi.LeaderEpoch {
		b.applyPartitionChange(role, pi)
		return
	}
	p.BecomeLeader(pi.LeaderEpoch)
	b.saveEpochs(p)
	state, err := replication.NewLeaderState(replication.LeaderConfig{
		LeaderID:       b.opts.NodeID,
		LeaderEpoch:    pi.LeaderEpoch,
		PartitionEpoch: pi.PartitionEpoch,
		Replicas:       pi.Replicas,
		ISR:            pi.ISR,
		LogEndOffset:   leaderDurableEnd(p),
		HighWatermark:  p.HighWatermark(),
		ReplicaLagTime: b.opts.Config.ReplicaLagTimeMax,
		Now:            now,
	})
	if err != nil {
		b.logger.Error("becoming leader", "topic", t.Name, "partition", p.Index, "err", err)
		return
	}
	b.logger.Info("leading", "topic", t.Name, "partition", p.Index, "leaderEpoch", pi.LeaderEpoch, "partitionEpoch", pi.PartitionEpoch,
		"isr", pi.ISR, "logEndOffset", p.LogEndOffset(), "highWatermark", state.HighWatermark())
	role = &leaderRole{p: p, topicID: t.ID, leaderEpoch: pi.LeaderEpoch,
		ended: make(chan struct{}), logStarts: newFollowerLogStarts(), state: state, brokerEpochs: map[int32]int64{}}
	b.repl.mu.Lock()
	old := b.repl.leaders[p]
	b.repl.leaders[p] = role
	b.repl.mu.Unlock()
	if old != nil {
		close(old.ended)
	}
}

func (b *Broker) dropLeaderRole(p *partition.Partition) {
	b.repl.mu.Lock()
	old := b.repl.leaders[p]
	delete(b.repl.leaders, p)
	b.repl.mu.Unlock()
	if old != nil {
		close(old.ended)
	}
}

// leaderRoleOf returns the leadership of a replicated partition, or nil
// for a single-replica partition (or one not led here).
func (b *Broker) leaderRoleOf(p *partition.Partition) *leaderRole {
	b.repl.mu.Lock()
	defer b.repl.mu.Unlock()
	return b.repl.leaders[p]
}

// writeRole returns the leadership through which a write to p, led here,
// must be acknowledged. A partition the current image gives one replica has
// none (nil): its own fsync is all an acknowledgement waits for. A
// replicated partition must have its leader role at the image's leader
// epoch. The image is published before its subscribers set roles up, so a
// write can arrive after the image names this broker leader and before
// becomeLeader ran, or after the image moved leadership and dropLeaderRole
// removed the role; such writes are refused with NOT_LEADER_OR_FOLLOWER,
// which clients retry. Taking them as single-replica writes acknowledged
// records that no other replica held (issue 12).
func (b *Broker) writeRole(p *partition.Partition) (*leaderRole, error) {
	t, ok := b.meta.Image().Topic(p.Topic)
	if !ok || int(p.Index) >= len(t.Partitions) {
		return nil, kerr.UnknownTopicOrPartition
	}
	pi := t.Partitions[p.Index]
	if pi.Leader != b.opts.NodeID {
		return nil, kerr.NotLeaderForPartition
	}
	if len(pi.Replicas) <= 1 {
		return nil, nil
	}
	role := b.leaderRoleOf(p)
	if role == nil || role.leaderEpoch != pi.LeaderEpoch || role.hasEnded() {
		return nil, kerr.NotLeaderForPartition
	}
	return role, nil
}

// leaderDurableEnd is what the leader itself holds for the high watermark:
// its fsynced end when acks wait for fsync, else its log end.
func leaderDurableEnd(p *partition.Partition) storage.Offset {
	log := p.Log()
	if log.NeedsSyncPerAppend() {
		return log.DurableOffset()
	}
	return log.LogEndOffset()
}

// onLeaderAppend tells the leader state that the leader's own log grew
// (after the fsync that acks wait for), which may move the high watermark
// of a leader whose ISR is small.
func (b *Broker) onLeaderAppend(role *leaderRole) {
	role.mu.Lock()
	update := role.state.OnLeaderAppend(leaderDurableEnd(role.p))
	role.mu.Unlock()
	b.applyLeaderUpdate(role, update)
	// Followers long-polling for new records wake up.
	role.p.WakeFetchers()
}

// onFollowerFetch records a follower's position from its fetch.
func (b *Broker) onFollowerFetch(role *leaderRole, follower int32, brokerEpoch int64, fetchOffset storage.Offset) error {
	role.mu.Lock()
	role.brokerEpochs[follower] = brokerEpoch
	role.state.OnLeaderWrite(role.p.Log().LogEndOffset())
	update, err := role.state.OnFollowerFetch(follower, fetchOffset, b.now())
	role.mu.Unlock()
	if err != nil {
		return err
	}
	b.applyLeaderUpdate(role, update)
	return nil
}

// applyLeaderUpdate exposes a new high watermark and queues an ISR change
// for the controller.
func (b *Broker) applyLeaderUpdate(role *leaderRole, update replication.Update) {
	if update.HighWatermarkAdvanced {
		role.p.AdvanceHighWatermark(update.HighWatermark)
	}
	if update.Proposal != nil {
		b.repl.isrChanges.queue(role, *update.Proposal)
	}
}

// applyPartitionChange brings the role of leader epoch pi.LeaderEpoch to
// pi's replicas and ISR from the metadata image. The leader state ignores a
// partition epoch it already holds or an older one: every image re-applies
// every partition's role, and only a change of the partition comes with a
// newer epoch.
func (b *Broker) applyPartitionChange(role *leaderRole, pi metadata.PartitionImage) {
	role.mu.Lock()
	held := role.state.PartitionEpoch()
	update, err := role.state.OnPartitionChange(partitionState(pi), b.now())
	role.mu.Unlock()
	if err != nil {
		b.logger.Warn("partition change", "topic", role.p.Topic, "partition", role.p.Index, "err", err)
		return
	}
	if pi.PartitionEpoch > held {
		b.logISRChange(role, pi, "metadata")
	}
	b.applyLeaderUpdate(role, update)
}

func partitionState(pi metadata.PartitionImage) replication.PartitionState {
	return replication.PartitionState{LeaderEpoch: pi.LeaderEpoch, PartitionEpoch: pi.PartitionEpoch, Replicas: pi.Replicas, ISR: pi.ISR}
}

// logISRChange logs a committed change of a partition this broker leads, as
// Kafka's "ISR updated" line: the ISR's history is what explains a fault
// run's timeline.
func (b *Broker) logISRChange(role *leaderRole, pi metadata.PartitionImage, from string) {
	b.logger.Info("ISR updated", "topic", role.p.Topic, "partition", role.p.Index, "leaderEpoch", pi.LeaderEpoch,
		"partitionEpoch", pi.PartitionEpoch, "isr", pi.ISR, "replicas", pi.Replicas, "from", from)
}

// isrBrokerEpochs are the broker epochs to send with an ISR change: this
// broker's own registration's, and for each follower the epoch of its
// latest fetch (-1 when none was seen or it sent none).
func (b *Broker) isrBrokerEpochs(role *leaderRole, isr []int32) []int64 {
	own := b.ownBrokerEpoch()
	epochs := make([]int64, len(isr))
	role.mu.Lock()
	defer role.mu.Unlock()
	for i, id := range isr {
		epoch, seen := role.brokerEpochs[id]
		switch {
		case id == b.opts.NodeID:
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
func (b *Broker) ownBrokerEpoch() int64 {
	if br, ok := b.meta.Image().Broker(b.opts.NodeID); ok {
		return br.Epoch
	}
	return -1
}

// waitReplicated waits until an acks=all produce ending at last is
// committed by the ISR, the request times out, or ctx ends.
func (b *Broker) waitReplicated(ctx context.Context, role *leaderRole, last storage.Offset, minISR int, timeout time.Duration) error {
	notify := make(chan struct{}, 1)
	defer role.p.StopNotify(notify)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		role.p.NotifyOnAppend(notify)
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
		}
		role.p.StopNotify(notify)
	}
}

// replicaLagCheckInterval is how often leaders look for followers that
// fell out of sync; a fraction of replica.lag.time.max.ms as in Kafka.
func (b *Broker) replicaLagCheckInterval() time.Duration {
	lag := b.opts.Config.ReplicaLagTimeMax
	if lag <= 0 {
		lag = 30 * time.Second
	}
	return max(lag/2, 10*time.Millisecond)
}

// isrLoop proposes ISR shrinks for followers that stopped keeping up.
func (b *Broker) isrLoop(ctx context.Context) {
	every(ctx, b.replicaLagCheckInterval(), func() {
		b.repl.mu.Lock()
		roles := make([]*leaderRole, 0, len(b.repl.leaders))
		for _, r := range b.repl.leaders {
			roles = append(roles, r)
		}
		b.repl.mu.Unlock()
		now := b.now()
		for _, role := range roles {
			role.mu.Lock()
			update := role.state.Tick(now)
			role.mu.Unlock()
			b.applyLeaderUpdate(role, update)
		}
	})
}
