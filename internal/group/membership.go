package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// memberCheck is the validation SyncGroup, Heartbeat and OffsetCommit share:
// the group, the member, its static instance and its generation.
func (c *core) memberCheck(groupID, memberID string, instanceID *string, generation int32) (*group, *member, int16) {
	if groupID == "" || len(groupID) > maxGroupIDBytes {
		return nil, nil, kerr.InvalidGroupID.Code
	}
	if code := c.coordinatorError(groupID); code != 0 {
		return nil, nil, code
	}
	g := c.lookup(groupID)
	if g == nil {
		return nil, nil, kerr.UnknownMemberID.Code
	}
	if instanceID != nil && *instanceID != "" {
		if holder, ok := g.instances[*instanceID]; ok && holder != memberID {
			return g, nil, kerr.FencedInstanceID.Code
		}
	}
	m := g.members[memberID]
	if m == nil {
		return g, nil, kerr.UnknownMemberID.Code
	}
	if generation != g.generation {
		return g, m, kerr.IllegalGeneration.Code
	}
	return g, m, 0
}

// syncGroup handles SyncGroup: the leader's assignment ends the rebalance;
// followers wait for it.
func (c *core) syncGroup(now time.Time, id uint64, msg *kmsg.SyncGroupRequest) {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = msg.Version
	g, m, code := c.memberCheck(msg.Group, msg.MemberID, msg.InstanceID, msg.Generation)
	if code == 0 && g.state != StatePreparingRebalance && g.state != StateEmpty &&
		(msg.ProtocolType != nil && *msg.ProtocolType != g.protocolType || msg.Protocol != nil && *msg.Protocol != g.protocol) {
		code = kerr.InconsistentGroupProtocol.Code
	}
	if code == 0 {
		switch g.state {
		case StatePreparingRebalance:
			code = kerr.RebalanceInProgress.Code
		case StateEmpty, StateDead:
			code = kerr.UnknownMemberID.Code
		}
	}
	if code != 0 {
		resp.ErrorCode = code
		c.respond(id, -1, resp)
		return
	}
	m.heartbeatDeadline = now.Add(m.sessionTimeout)
	m.synced = true
	if g.state == StateStable {
		c.respond(id, g.partition, c.syncResponse(g, m, msg.Version))
		c.schedule(g)
		return
	}
	if m.sync != nil {
		c.replySyncError(g, m, kerr.RebalanceInProgress.Code)
	}
	m.sync = &pendingReply{id: id, version: msg.Version}
	if m.id == g.leader {
		assigned := make(map[string][]byte, len(msg.GroupAssignment))
		for _, a := range msg.GroupAssignment {
			assigned[a.MemberID] = a.MemberAssignment
		}
		for _, other := range g.members {
			other.assignment = assigned[other.id]
		}
		c.persist(g.partition, c.groupMetadataRecord(g, now))
		g.transition(StateStable, now)
		for _, other := range g.members {
			if other.sync != nil {
				c.respond(other.sync.id, g.partition, c.syncResponse(g, other, other.sync.version))
				other.sync = nil
			}
		}
	}
	c.schedule(g)
}

func (c *core) syncResponse(g *group, m *member, version int16) *kmsg.SyncGroupResponse {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = version
	resp.ProtocolType, resp.Protocol = strPtr(g.protocolType), strPtr(g.protocol)
	resp.MemberAssignment = m.assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp
}

// heartbeat handles Heartbeat: it keeps the member alive and tells it when
// a rebalance needs it to rejoin.
func (c *core) heartbeat(now time.Time, id uint64, msg *kmsg.HeartbeatRequest) {
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.Version = msg.Version
	g, m, code := c.memberCheck(msg.Group, msg.MemberID, msg.InstanceID, msg.Generation)
	if code == 0 {
		switch g.state {
		case StateEmpty, StateDead:
			code = kerr.UnknownMemberID.Code
		case StatePreparingRebalance:
			m.heartbeatDeadline = now.Add(m.sessionTimeout)
			code = kerr.RebalanceInProgress.Code
		default:
			m.heartbeatDeadline = now.Add(m.sessionTimeout)
		}
	}
	resp.ErrorCode = code
	c.respond(id, -1, resp)
}

// leave handles LeaveGroup, one member (v0-2) or a batch (v3+).
func (c *core) leave(now time.Time, id uint64, msg *kmsg.LeaveGroupRequest) {
	resp := kmsg.NewPtrLeaveGroupResponse()
	resp.Version = msg.Version
	members := msg.Members
	if msg.Version < 3 {
		members = []kmsg.LeaveGroupRequestMember{{MemberID: msg.MemberID}}
	}
	top := int16(0)
	if msg.Group == "" || len(msg.Group) > maxGroupIDBytes {
		top = kerr.InvalidGroupID.Code
	} else {
		top = c.coordinatorError(msg.Group)
	}
	if top != 0 {
		resp.ErrorCode = top
		c.respond(id, -1, resp)
		return
	}
	g := c.lookup(msg.Group)
	for _, lm := range members {
		code := c.leaveOne(g, lm, now)
		out := kmsg.NewLeaveGroupResponseMember()
		out.MemberID, out.InstanceID, out.ErrorCode = lm.MemberID, lm.InstanceID, code
		resp.Members = append(resp.Members, out)
	}
	if msg.Version < 3 {
		resp.ErrorCode = resp.Members[0].ErrorCode
		resp.Members = nil
	}
	partition := int32(-1)
	if g != nil {
		partition = g.partition
		c.schedule(g)
	}
	c.respond(id, partition, resp)
}

func (c *core) leaveOne(g *group, lm kmsg.LeaveGroupRequestMember, now time.Time) int16 {
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	memberID := lm.MemberID
	if lm.InstanceID != nil && *lm.InstanceID != "" {
		holder, ok := g.instances[*lm.InstanceID]
		if !ok {
			return kerr.UnknownMemberID.Code
		}
		if memberID != "" && holder != memberID {
			return kerr.FencedInstanceID.Code
		}
		memberID = holder
	}
	if _, ok := g.pending[memberID]; ok {
		delete(g.pending, memberID)
		c.maybeCompleteJoin(g, now)
		return 0
	}
	m := g.members[memberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	c.removeMember(g, m, now, kerr.UnknownMemberID.Code)
	return 0
}
