package metadata

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Broker liveness, as Kafka's KRaft controller: every broker heartbeats to
// the controller every broker.heartbeat.interval.ms; the controller fences a
// broker whose last heartbeat is older than broker.session.timeout.ms by
// writing a BrokerFenceRecord, and unfences it when heartbeats resume.
// Heartbeat times live only in the leader's memory, as in Kafka: a new
// leader gives every unfenced broker a full session from its election.
const (
	DefaultHeartbeatInterval = 2 * time.Second // broker.heartbeat.interval.ms
	DefaultSessionTimeout    = 9 * time.Second // broker.session.timeout.ms
)

// BrokerLiveness is what the fencing decision knows of one broker.
type BrokerLiveness struct {
	NodeID int32
	Fenced bool
	// LastHeartbeat is the last heartbeat this leader received; zero if none.
	LastHeartbeat time.Time
}

// FenceDecision fences (Fence) or unfences a broker.
type FenceDecision struct {
	NodeID int32
	Fence  bool
}

// DecideFencing is the pure liveness rule. An unfenced broker is fenced when
// neither a heartbeat nor the leader's election (leaderSince, the grace a
// new leader gives) is within sessionTimeout of now. A fenced broker is
// unfenced when it has heartbeated within sessionTimeout. Decisions are
// sorted by node id.
func DecideFencing(brokers []BrokerLiveness, leaderSince, now time.Time, sessionTimeout time.Duration) []FenceDecision {
	var out []FenceDecision
	for _, b := range brokers {
		heard := !b.LastHeartbeat.IsZero() && now.Sub(b.LastHeartbeat) <= sessionTimeout
		switch {
		case b.Fenced && heard:
			out = append(out, FenceDecision{NodeID: b.NodeID, Fence: false})
		case !b.Fenced && !heard && now.Sub(leaderSince) > sessionTimeout:
			out = append(out, FenceDecision{NodeID: b.NodeID, Fence: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// liveness is the leader's heartbeat bookkeeping.
type liveness struct {
	mu            sync.Mutex
	leaderSince   time.Time // zero while not leader
	lastHeartbeat map[int32]time.Time
}

func (n *Node) sessionTimeout() time.Duration {
	if n.opts.SessionTimeout > 0 {
		return n.opts.SessionTimeout
	}
	return DefaultSessionTimeout
}

func (n *Node) heartbeatInterval() time.Duration {
	if n.opts.HeartbeatInterval > 0 {
		return n.opts.HeartbeatInterval
	}
	return DefaultHeartbeatInterval
}

func (n *Node) heartbeatLocal(ctx context.Context, nodeID int32) error {
	if !n.Leader() {
		return n.notController()
	}
	if _, ok := n.Image().Broker(nodeID); !ok {
		return newError(kerr.BrokerIDNotRegistered, fmt.Sprintf("broker %d is not registered", nodeID))
	}
	n.liveness.mu.Lock()
	if n.liveness.lastHeartbeat == nil {
		n.liveness.lastHeartbeat = map[int32]time.Time{}
	}
	n.liveness.lastHeartbeat[nodeID] = n.opts.Now()
	n.liveness.mu.Unlock()
	if br, _ := n.Image().Broker(nodeID); br.Fenced {
		return n.applyFencing(ctx)
	}
	return nil
}

func (n *Node) fenceBrokerLocal(ctx context.Context, nodeID int32) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	br, ok := n.Image().Broker(nodeID)
	if !ok {
		return newError(kerr.BrokerIDNotRegistered, fmt.Sprintf("broker %d is not registered", nodeID))
	}
	n.liveness.mu.Lock()
	delete(n.liveness.lastHeartbeat, nodeID)
	n.liveness.mu.Unlock()
	if br.Fenced {
		return nil
	}
	// Controlled shutdown: leadership moves away in the same entry.
	return n.writeWithLeadership(ctx, []Record{BrokerFenceRecord{NodeID: nodeID, Fenced: true}})
}

// applyFencing writes the fencing decisions for the current image.
func (n *Node) applyFencing(ctx context.Context) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	now := n.opts.Now()
	n.liveness.mu.Lock()
	since := n.liveness.leaderSince
	if since.IsZero() {
		// Heartbeats reached a new leader before its first liveness tick.
		since = now
	}
	brokers := n.Image().Brokers()
	in := make([]BrokerLiveness, len(brokers))
	for i, b := range brokers {
		in[i] = BrokerLiveness{NodeID: b.NodeID, Fenced: b.Fenced, LastHeartbeat: n.liveness.lastHeartbeat[b.NodeID]}
	}
	n.liveness.mu.Unlock()
	decisions := DecideFencing(in, since, now, n.sessionTimeout())
	records := make([]Record, len(decisions))
	for i, d := range decisions {
		records[i] = BrokerFenceRecord{NodeID: d.NodeID, Fenced: d.Fence}
		if d.Fence {
			n.logger.Warn("fencing broker: no heartbeat within broker.session.timeout.ms", "broker", d.NodeID)
		} else {
			n.logger.Info("unfencing broker: heartbeats resumed", "broker", d.NodeID)
		}
	}
	// Even without a fencing change the partitions are checked: a new
	// controller finishes what its predecessor left, and a topic whose
	// unclean.leader.election.enable was just set gets a leader.
	return n.writeWithLeadership(ctx, records)
}

// runLiveness is the leader's fencing loop, owned by Node.
func (n *Node) runLiveness(ctx context.Context) {
	tick := time.NewTicker(min(n.heartbeatInterval()/2, time.Second))
	defer tick.Stop()
	rebalance, imbalanceInterval := n.autoLeaderRebalance()
	var lastImbalanceCheck time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n.liveness.mu.Lock()
		switch leader := n.Leader(); {
		case !leader:
			n.liveness.leaderSince = time.Time{}
		case n.liveness.leaderSince.IsZero():
			n.liveness.leaderSince = n.opts.Now()
			n.liveness.lastHeartbeat = map[int32]time.Time{}
		}
		leading := !n.liveness.leaderSince.IsZero()
		n.liveness.mu.Unlock()
		if !leading {
			lastImbalanceCheck = time.Time{}
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, defaultApplyTimeout)
		if err := n.applyFencing(wctx); err != nil {
			n.logger.Debug("broker fencing failed", "err", err)
		}
		// The first check comes a full interval after election, as in
		// Kafka, so brokers have time to rejoin ISRs after a restart.
		switch now := n.opts.Now(); {
		case !rebalance:
		case lastImbalanceCheck.IsZero():
			lastImbalanceCheck = now
		case now.Sub(lastImbalanceCheck) >= imbalanceInterval:
			lastImbalanceCheck = now
			if err := n.balanceLeaders(wctx); err != nil {
				n.logger.Debug("preferred leader election failed", "err", err)
			}
		}
		cancel()
	}
}

// RunBrokerHeartbeats heartbeats broker nodeID to the controller every
// broker.heartbeat.interval.ms until ctx ends. The caller owns the goroutine
// that runs it.
func (n *Node) RunBrokerHeartbeats(ctx context.Context, nodeID int32) {
	interval := n.heartbeatInterval()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	failing := false
	for {
		hctx, cancel := context.WithTimeout(ctx, interval)
		err := n.BrokerHeartbeat(hctx, nodeID)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			n.logger.Warn("broker heartbeat failed", "broker", nodeID, "err", err)
			failing = true
		case err == nil && failing:
			n.logger.Info("broker heartbeats resumed", "broker", nodeID)
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
