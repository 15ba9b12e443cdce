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

// replicas holds the roles of replicated partitions.
type replicas struct {
	fetcher   *replication.Fetcher
	proposals chan isrProposal
	// leaderQuota and followerQuota are the replication throttles.
	leaderQuota, followerQuota *replication.Quota

	mu      sync.Mutex
	leaders map[*partition.Partition]*leaderRole
}

func (b *Broker) startReplication(ctx context.Context) {
	b.repl.leaders = map[*partition.Partition]*leaderRole{}
	b.repl.proposals = make(chan isrProposal, maxQueuedISRProposals)
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

// applyLeaderUpdate exposes a new high watermark and sends an ISR change
// to the controller.
func (b *Broker) applyLeaderUpdate(role *leaderRole, update replication.Update) {
	if update.HighWatermarkAdvanced {
		role.p.AdvanceHighWatermark(update.HighWatermark)
	}
	if update.Proposal != nil {
		b.proposeISR(role, *update.Proposal)
	}
}

// isrProposal is an ISR change on its way to the controller.
type isrProposal struct {
	role   *leaderRole
	change replication.ISRChange
}

// maxQueuedISRProposals bounds proposals waiting for the controller; a
// proposal that does not fit is dropped and made again on the next check.
const maxQueuedISRProposals = 1024

// proposeISR queues a request to the controller to change a partition's
// ISR (Kafka's AlterPartition). Until the controller applies it, the leader
// counts the larger of the old and new sets for the high watermark.
func (b *Broker) proposeISR(role *leaderRole, change replication.ISRChange) {
	select {
	case b.repl.proposals <- isrProposal{role: role, change: change}:
	default:
		role.mu.Lock()
		role.state.OnISRChangeFailed()
		role.mu.Unlock()
	}
}

// isrProposalTimeout bounds one AlterPartition round trip.
const isrProposalTimeout = 10 * time.Second

// alterPartitionLoop sends ISR proposals to the controller one at a time.
// The committed change comes back through the metadata image
// (OnPartitionChange); a refused one clears the pending proposal so the
// leader state proposes again from the image's ISR.
func (b *Broker) alterPartitionLoop(ctx context.Context) {
	for {
		var prop isrProposal
		select {
		case <-ctx.Done():
			return
		case prop = <-b.repl.proposals:
		}
		role, change := prop.role, prop.change
		callCtx, cancel := context.WithTimeout(ctx, isrProposalTimeout)
		answer, err := b.meta.AlterPartition(callCtx, role.topicID, role.p.Index, b.opts.NodeID,
			change.LeaderEpoch, change.PartitionEpoch, change.NewISR, b.isrBrokerEpochs(role, change.NewISR))
		cancel()
		if err != nil {
			b.logger.Info("ISR change refused", "topic", role.p.Topic, "partition", role.p.Index, "isr", prop.change.NewISR, "err", err)
			role.mu.Lock()
			role.state.OnISRChangeFailed()
			role.mu.Unlock()
			continue
		}
		if answer.LeaderEpoch == role.leaderEpoch {
			b.applyPartitionChange(role, answer)
		}
	}
}

// applyPartitionChange brings the role of leader epoch pi.LeaderEpoch to
// pi's replicas and ISR: from the metadata image, or from the controller's
// AlterPartition answer, as Kafka's leader applies that response. The
// answer matters when the controller wrote nothing (the ISR already was
// the one proposed): no image change then comes to clear the pending
// proposal. The leader state ignores a partition epoch older than its own.
func (b *Broker) applyPartitionChange(role *leaderRole, pi metadata.PartitionImage) {
	role.mu.Lock()
	update, err := role.state.OnPartitionChange(pi.Replicas, pi.ISR, pi.PartitionEpoch, b.now())
	role.mu.Unlock()
	if err != nil {
		b.logger.Warn("partition change", "topic", role.p.Topic, "partition", role.p.Index, "err", err)
		return
	}
	b.applyLeaderUpdate(role, update)
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
