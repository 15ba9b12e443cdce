package replicas

// Replication throttles (KIP-73). The broker's two quotas take their rates
// from leader.replication.throttled.rate and
// follower.replication.throttled.rate (per broker, else cluster default,
// else static); which partitions they apply to comes from each topic's
// leader/follower.replication.throttled.replicas, filtered by this broker's
// id as in Kafka: a PARTITION:BROKER pair throttles the partition on that
// broker. Both follow every metadata image, so a change takes effect
// without a restart. The fetch path reads one atomic pointer per replica
// fetch; partitions without a throttle take no lock for it.

import (
	"strconv"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replication"
)

// leaderThrottle is a led partition's throttle: followers outside isr (the
// image's ISR when it was set) wait while the leader quota is spent.
type leaderThrottle struct {
	isr []int32 // shared with the immutable image
}

// hold reports whether a fetch from follower gets no records for now.
func (th *leaderThrottle) hold(q *replication.Quota, follower int32) bool {
	return q.HoldFollower(follower, th.isr)
}

// startThrottles creates the quotas and keeps their rates in line with the
// metadata image; Subscribe applies the current image at once.
func (m *Manager) startThrottles() {
	m.leaderQuota = replication.NewQuota(m.now)
	m.followerQuota = replication.NewQuota(m.now)
	m.meta.Subscribe(func(_, img *metadata.Image) { m.updateThrottleRates(img) })
}

func (m *Manager) updateThrottleRates(img *metadata.Image) {
	m.leaderQuota.SetRate(m.throttleRate(img, config.LeaderReplicationThrottledRate))
	m.followerQuota.SetRate(m.throttleRate(img, config.FollowerReplicationThrottledRate))
}

// throttleRate resolves a rate as Kafka: this broker's dynamic value, else
// the cluster default, else the static properties, else unthrottled.
func (m *Manager) throttleRate(img *metadata.Image, name string) int64 {
	for _, layer := range []map[string]string{
		img.BrokerConfigs(strconv.Itoa(int(m.opts.NodeID))),
		img.BrokerConfigs(""),
		m.opts.StaticProps,
	} {
		if v, ok := layer[name]; ok {
			return config.ParseThrottleRate(v)
		}
	}
	return config.UnthrottledRate
}

// applyThrottle sets a replicated partition's throttles from its topic's
// configs after its role was applied: the leader throttle on the leader
// role, the follower throttle in the fetcher.
func (m *Manager) applyThrottle(t metadata.TopicImage, p *Replica, pi metadata.PartitionImage, tp replication.TopicPartition) {
	self := m.opts.NodeID
	if role := m.leaderRoleOf(p); role != nil {
		var th *leaderThrottle
		if config.ThrottledReplicaListed(t.Configs[config.LeaderReplicationThrottledReplicas], p.Index, self) {
			th = &leaderThrottle{isr: pi.ISR}
		}
		role.throttle.Store(th)
	}
	if pi.Leader != self {
		m.fetcher.SetThrottled(tp, config.ThrottledReplicaListed(t.Configs[config.FollowerReplicationThrottledReplicas], p.Index, self))
	}
}
