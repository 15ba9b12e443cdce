package console

import (
	"context"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// QuorumFunc describes fjord's metadata quorum with a function returning
// its status as the controllers report it: a node's own metadata member
// (fjord server) or a controller listener (fjord console
// --bootstrap-controller).
type QuorumFunc func(ctx context.Context) (controllerwire.QuorumStatus, error)

// Quorum implements QuorumSource.
func (f QuorumFunc) Quorum(ctx context.Context) (Quorum, error) {
	s, err := f(ctx)
	if err != nil {
		return Quorum{}, err
	}
	return quorumOf(s), nil
}

func quorumOf(s controllerwire.QuorumStatus) Quorum {
	replicas := func(rs []controllerwire.ReplicaStatus) []QuorumReplica {
		list := []QuorumReplica{}
		for _, r := range rs {
			end := int64(r.LastLogIndex)
			if !r.Reachable {
				end = -1
			}
			list = append(list, QuorumReplica{ID: r.NodeID, Addr: r.Addr, LogEndOffset: end, Lag: r.Lag})
		}
		return list
	}
	return Quorum{LeaderID: s.LeaderID, Epoch: int64(s.Term), HighWatermark: int64(s.HighWatermark),
		Voters: replicas(s.Voters), Observers: replicas(s.Observers)}
}
