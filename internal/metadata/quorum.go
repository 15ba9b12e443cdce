package metadata

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// The quorum's status types are the wire's (controllerwire), so a client
// reads them without linking the quorum.
type (
	QuorumStatus  = controllerwire.QuorumStatus
	ReplicaStatus = controllerwire.ReplicaStatus
	BrokerStatus  = controllerwire.BrokerStatus
)

// ReplicaState is a node's own view of its Raft log.
type ReplicaState struct {
	NodeID       int32  `json:"nodeId"`
	LastLogIndex uint64 `json:"lastLogIndex"`
	AppliedIndex uint64 `json:"appliedIndex"`
}

// statusTimeout bounds the leader's status request to each node.
const statusTimeout = time.Second

func (n *Node) replicaState() ReplicaState {
	return ReplicaState{NodeID: n.opts.NodeID, LastLogIndex: n.raft.LastIndex(), AppliedIndex: n.raft.AppliedIndex()}
}

func (n *Node) describeQuorumLocal(ctx context.Context) (QuorumStatus, error) {
	if !n.Leader() {
		return QuorumStatus{}, n.notController()
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return QuorumStatus{}, fmt.Errorf("metadata: reading raft configuration: %w", err)
	}
	term, _ := strconv.ParseUint(n.raft.Stats()["term"], 10, 64)
	last := n.raft.LastIndex()
	q := QuorumStatus{ClusterID: n.Image().ClusterID(), LeaderID: n.opts.NodeID, Term: term, HighWatermark: n.raft.CommitIndex()}
	for _, s := range f.Configuration().Servers {
		id, err := strconv.ParseInt(string(s.ID), 10, 32)
		if err != nil {
			continue
		}
		rs := ReplicaStatus{NodeID: int32(id), Addr: string(s.Address), Lag: -1}
		if int32(id) == n.opts.NodeID {
			rs.Reachable, rs.LastLogIndex, rs.Lag = true, last, 0
		} else {
			sctx, cancel := context.WithTimeout(ctx, statusTimeout)
			resp, err := n.roundTrip(sctx, string(s.Address), forwardRequest{Op: opNodeStatus})
			cancel()
			if err == nil && resp.Replica != nil {
				rs.Reachable, rs.LastLogIndex = true, resp.Replica.LastLogIndex
				rs.Lag = max(int64(last)-int64(rs.LastLogIndex), 0)
			}
		}
		if s.Suffrage == raft.Voter {
			q.Voters = append(q.Voters, rs)
		} else {
			q.Observers = append(q.Observers, rs)
		}
	}
	img := n.Image()
	led := map[int32]int{}
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			led[p.Leader]++
		}
	}
	for _, b := range img.Brokers() {
		q.Brokers = append(q.Brokers, BrokerStatus{NodeID: b.NodeID, Host: b.Host, Port: b.Port, Rack: b.Rack,
			Fenced: b.Fenced, PartitionsLed: led[b.NodeID]})
	}
	return q, nil
}

// addObserverLocal adds a broker-only node to the Raft configuration as a
// non-voter: it receives the log but takes no part in elections or commits.
func (n *Node) addObserverLocal(nodeID int32, addr string) error {
	if nodeID < 0 || addr == "" {
		return newError(kerr.InvalidRequest, "observer needs a node id and an address")
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return fmt.Errorf("metadata: reading raft configuration: %w", err)
	}
	for _, s := range f.Configuration().Servers {
		if s.ID == raft.ServerID(serverID(nodeID)) {
			if s.Address == raft.ServerAddress(addr) {
				return nil
			}
			if s.Suffrage == raft.Voter {
				return newError(kerr.InvalidRequest, fmt.Sprintf("node %d is a voter at %s", nodeID, s.Address))
			}
		}
	}
	if err := n.raft.AddNonvoter(raft.ServerID(serverID(nodeID)), raft.ServerAddress(addr), 0, defaultApplyTimeout).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return n.notController()
		}
		return fmt.Errorf("metadata: adding observer %d: %w", nodeID, err)
	}
	return nil
}

// barrierLocal waits until every committed entry is applied on the leader, so
// the returned offset covers everything committed before the request.
func (n *Node) barrierLocal() error {
	if err := n.raft.Barrier(defaultApplyTimeout).Error(); err != nil {
		return fmt.Errorf("metadata: barrier: %w", err)
	}
	return nil
}
