package metadata

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestQuorumMetricsOnLeaderFollowerAndObserver checks each role's view of
// the quorum: one leader, voters that follow it, an observer that is not a
// follower, all naming the same leader and term, and a commit index every
// node applies (commit lag back to 0) once a write is committed.
func TestQuorumMetricsOnLeaderFollowerAndObserver(t *testing.T) {
	c := startCluster(t, 3)
	leader := c.leader()
	c.registerAll()

	// A fourth node not among the voters joins as an observer.
	nw, err := Listen("127.0.0.1:0", "", nil, NetworkTLS{})
	if err != nil {
		t.Fatal(err)
	}
	c.nets, c.dirs, c.nodes = append(c.nets, nw), append(c.dirs, t.TempDir()), append(c.nodes, nil)
	c.startNode(3, nw)
	c.waitReady(3)
	c.converged()

	leaderID := int32(leader + 1)
	want := c.nodes[leader].QuorumMetrics()
	if want.State != RaftStateLeader || want.LeaderID != leaderID || want.Term == 0 || want.CommitIndex == 0 {
		t.Fatalf("leader's view: %+v", want)
	}
	states := map[string]int{}
	waitForQuorumMetrics(t, "every node to apply the leader's commit index", func() (bool, string) {
		states = map[string]int{}
		var desc string
		done := true
		for i, n := range c.nodes {
			q := n.QuorumMetrics()
			states[q.State]++
			desc += fmt.Sprintf("node %d: %+v lag %d; ", i+1, q, q.CommitLag())
			if q.LeaderID != leaderID || q.Term != want.Term || q.AppliedIndex < want.CommitIndex || q.CommitLag() != 0 {
				done = false
			}
		}
		return done, desc
	})
	if states[RaftStateLeader] != 1 || states[RaftStateFollower] != 2 || states[RaftStateObserver] != 1 {
		t.Fatalf("states: %v, want one leader, two followers, one observer", states)
	}
}

func TestCommitLag(t *testing.T) {
	for _, tc := range []struct {
		commit, applied, want uint64
	}{{10, 10, 0}, {10, 7, 3}, {7, 10, 0}} {
		q := QuorumMetrics{CommitIndex: tc.commit, AppliedIndex: tc.applied}
		if got := q.CommitLag(); got != tc.want {
			t.Errorf("commit %d applied %d: lag %d, want %d", tc.commit, tc.applied, got, tc.want)
		}
	}
}

// waitForQuorumMetrics polls cond until it holds or 20 s pass, and fails
// with cond's last description; Raft's indexes have no change
// notification to wait on.
func waitForQuorumMetrics(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, desc := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached; last: %s", what, desc)
		case <-tick.C:
		}
	}
}
