package workergroup

import (
	"maps"
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// assign is the leader's part of a rebalance (Kafka's
// ConnectAssignor.performAssignment): read every member's metadata, check
// that this worker's config is as new as any member's, and run the
// assignor of the group's protocol.
func (m *Member) assign(members []kmsg.JoinGroupResponseMember, protocol Compatibility, generation int32) ([]kmsg.SyncGroupRequestGroupAssignment, error) {
	states := make(map[string]WorkerState, len(members))
	maxOffset := int64(math.MinInt64)
	for _, member := range members {
		s, err := DecodeWorkerState(member.ProtocolMetadata)
		if err != nil {
			// Kafka's leader would fail the round and the group would
			// retry forever; treating the member as new lets the group
			// go on, at the risk of its running something twice until
			// the next round revokes the duplicate.
			m.log.Warn("connect group: undecodable member metadata, treating the member as new",
				"group", m.cfg.GroupID, "member", member.MemberID, "err", err)
			s = WorkerState{ConfigOffset: -1}
		}
		states[member.MemberID] = s
		maxOffset = max(maxOffset, s.ConfigOffset)
	}
	snapshot := m.cfg.ConfigState()
	base := Assignment{Version: protocol.Version(), Leader: m.memberID, LeaderURL: m.cfg.WorkerURL,
		ConfigOffset: snapshot.Offset}
	per := make(map[string]Assignment, len(members))
	switch {
	case snapshot.Offset < maxOffset:
		// Behind a member: everyone is to read the config topic to its
		// end and rejoin.
		m.log.Info("connect group: leader behind the config topic", "group", m.cfg.GroupID,
			"leader offset", snapshot.Offset, "member offset", maxOffset)
		for id := range states {
			a := base
			a.Error, a.ConfigOffset = ConfigMismatch, maxOffset
			per[id] = a
		}
	case protocol == Eager:
		for id, w := range AssignEager(slices.Collect(maps.Keys(states)), snapshot.Connectors) {
			a := base
			a.Connectors, a.Tasks = w.Connectors, w.Tasks
			per[id] = a
		}
	default:
		in := AssignInput{Now: m.now(), MaxDelay: m.cfg.ScheduledRebalanceMaxDelay, Generation: generation,
			LastCompletedGeneration: m.lastCompletedGeneration, Members: map[string]ConnectorsAndTasks{},
			Configured: snapshot.Connectors}
		for id, s := range states {
			in.Members[id] = ConnectorsAndTasks{}
			if s.Allocation != nil {
				in.Members[id] = ConnectorsAndTasks{Connectors: s.Allocation.Connectors, Tasks: s.Allocation.Tasks}
			}
		}
		res := Assign(m.leaderState, in)
		m.leaderState = res.State
		for id := range states {
			a := base
			a.Connectors, a.Tasks = res.Assigned[id].Connectors, res.Assigned[id].Tasks
			a.RevokedConnectors, a.RevokedTasks = res.Revoked[id].Connectors, res.Revoked[id].Tasks
			a.Delay = res.Delay
			per[id] = a
		}
	}
	out := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(per))
	for _, id := range slices.Sorted(maps.Keys(per)) {
		encoded, err := EncodeAssignment(per[id])
		if err != nil {
			return nil, err
		}
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = id, encoded
		out = append(out, a)
	}
	return out, nil
}
