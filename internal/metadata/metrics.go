package metadata

import (
	"strconv"

	"github.com/hashicorp/raft"
)

// Raft states as metrics name them: Kafka's raft-metrics current-state
// values where they match. An observer is a non-voting member (a
// broker-only node) following the log.
const (
	RaftStateLeader    = "leader"
	RaftStateFollower  = "follower"
	RaftStateCandidate = "candidate"
	RaftStateObserver  = "observer"
	RaftStateShutdown  = "shutdown"
)

// RaftStates lists every state QuorumMetrics reports, so that a metric has
// one series per state and exactly one of them is 1.
func RaftStates() []string {
	return []string{RaftStateLeader, RaftStateFollower, RaftStateCandidate, RaftStateObserver, RaftStateShutdown}
}

// QuorumMetrics is this node's view of the metadata quorum, for metrics.
// Indexes are Raft log indexes; on a follower CommitIndex is the leader's
// commit index as this node last heard it.
type QuorumMetrics struct {
	State string // one of RaftStates()
	// LeaderID is the node this node takes for the Raft leader (the active
	// controller), or -1 when it knows none.
	LeaderID     int32
	Term         uint64
	LastLogIndex uint64
	CommitIndex  uint64
	AppliedIndex uint64
}

// CommitLag is how many committed entries this node has not applied yet:
// the commit index it knows minus its applied index. A follower cut off
// from the leader does not learn new commits, so its lag is measured
// against the last commit index it heard; the leader's term and last
// index show that case.
func (q QuorumMetrics) CommitLag() uint64 {
	if q.CommitIndex <= q.AppliedIndex {
		return 0
	}
	return q.CommitIndex - q.AppliedIndex
}

// QuorumMetrics reads the quorum's state from Raft's lock-free accessors;
// it never waits on the Raft goroutine, so a scrape stays cheap while the
// quorum is busy or without a leader.
func (n *Node) QuorumMetrics() QuorumMetrics {
	q := QuorumMetrics{
		LeaderID:     -1,
		Term:         n.raft.CurrentTerm(),
		LastLogIndex: n.raft.LastIndex(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
	}
	switch n.raft.State() {
	case raft.Leader:
		q.State = RaftStateLeader
	case raft.Candidate:
		q.State = RaftStateCandidate
	case raft.Shutdown:
		q.State = RaftStateShutdown
	default:
		q.State = RaftStateFollower
		if !n.isVoter() {
			q.State = RaftStateObserver
		}
	}
	if _, id := n.raft.LeaderWithID(); id != "" {
		if parsed, err := strconv.ParseInt(string(id), 10, 32); err == nil {
			q.LeaderID = int32(parsed)
		}
	}
	return q
}

// isVoter reports whether this node votes in the latest Raft
// configuration. Raft serves the configuration from a copy it keeps, not
// through its goroutine.
func (n *Node) isVoter() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	self := raft.ServerID(serverID(n.opts.NodeID))
	for _, s := range f.Configuration().Servers {
		if s.ID == self {
			return s.Suffrage == raft.Voter
		}
	}
	return false
}
