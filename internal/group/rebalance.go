package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// prepareRebalance starts a join phase: members must rejoin within the
// rebalance timeout. A new (empty) group waits the initial rebalance delay
// so that members starting together land in one generation.
func (c *core) prepareRebalance(g *group, now time.Time) {
	if g.state == StateCompletingRebalance {
		// Followers waiting for the leader's assignment must rejoin.
		for _, m := range g.members {
			m.assignment = nil
			if m.sync != nil {
				c.replySyncError(g, m, kerr.RebalanceInProgress.Code)
			}
		}
	}
	wasEmpty := g.state == StateEmpty
	g.transition(StatePreparingRebalance, now)
	g.syncDeadline = time.Time{}
	timeout := g.maxRebalanceTimeout()
	if wasEmpty && c.cfg.InitialRebalanceDelay > 0 {
		delay := c.cfg.InitialRebalanceDelay
		g.initialJoin, g.newMemberAdded = true, false
		g.initialRemaining = max(timeout-delay, 0)
		g.joinDeadline = now.Add(delay)
	} else {
		g.initialJoin = false
		g.joinDeadline = now.Add(timeout)
	}
	c.maybeCompleteJoin(g, now)
}

// maybeCompleteJoin ends the join phase once every member has rejoined (or,
// for a delayed initial join, once its delay passed).
func (c *core) maybeCompleteJoin(g *group, now time.Time) {
	if g.state != StatePreparingRebalance {
		return
	}
	if g.initialJoin {
		if now.Before(g.joinDeadline) {
			return
		}
		if g.newMemberAdded && g.initialRemaining > 0 {
			step := min(c.cfg.InitialRebalanceDelay, g.initialRemaining)
			g.initialRemaining -= step
			g.newMemberAdded = false
			g.joinDeadline = now.Add(step)
			return
		}
	} else if !g.allJoined() && now.Before(g.joinDeadline) {
		return
	}
	c.completeJoin(g, now)
}

// completeJoin starts the next generation with the members that rejoined.
func (c *core) completeJoin(g *group, now time.Time) {
	for _, id := range append([]string(nil), g.order...) {
		if g.members[id].join == nil {
			// Kafka removes members (static ones too) that missed the
			// join phase.
			g.removeMember(id)
		}
	}
	g.joinDeadline, g.initialJoin = time.Time{}, false
	g.generation++
	c.rebalances.classic.Add(1)
	if len(g.members) == 0 {
		g.protocol = ""
		g.transition(StateEmpty, now)
		c.persist(g.partition, c.groupMetadataRecord(g, now))
		return
	}
	g.protocol = g.selectProtocol()
	g.transition(StateCompletingRebalance, now)
	g.syncDeadline = now.Add(g.maxRebalanceTimeout())
	for _, m := range g.members {
		m.synced = false
		m.heartbeatDeadline = now.Add(m.sessionTimeout)
		pending := m.join
		m.join = nil
		c.respond(pending.id, g.partition, c.joinResponse(g, m, pending.version, false))
	}
}

// joinResponse is the JoinGroup answer for a member of the current
// generation: the leader gets every member's metadata to assign from.
func (c *core) joinResponse(g *group, m *member, version int16, skipAssignment bool) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = version
	resp.Generation = g.generation
	resp.ProtocolType = strPtr(g.protocolType)
	resp.Protocol = strPtr(g.protocol)
	resp.LeaderID = g.leader
	resp.MemberID = m.id
	resp.SkipAssignment = skipAssignment && version >= 9
	if m.id == g.leader && (!skipAssignment || version >= 9) {
		for _, id := range g.order {
			other := g.members[id]
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID, rm.InstanceID = other.id, optional(other.instanceID)
			rm.ProtocolMetadata = other.metadataFor(g.protocol)
			resp.Members = append(resp.Members, rm)
		}
	}
	return resp
}

func (c *core) replySyncError(g *group, m *member, code int16) {
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.Version = m.sync.version
	resp.ErrorCode = code
	c.respond(m.sync.id, g.partition, resp)
	m.sync = nil
}

func (c *core) replyJoinError(g *group, m *member, code int16) {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.Version = m.join.version
	resp.ErrorCode = code
	resp.Generation = -1
	resp.MemberID = m.id
	c.respond(m.join.id, g.partition, resp)
	m.join = nil
}

// removeMember drops a member (expired, left or fenced) and moves the group
// on as Kafka's removeMemberAndUpdateGroup does.
func (c *core) removeMember(g *group, m *member, now time.Time, code int16) {
	if m.join != nil {
		c.replyJoinError(g, m, code)
	}
	if m.sync != nil {
		c.replySyncError(g, m, code)
	}
	g.removeMember(m.id)
	switch g.state {
	case StateStable, StateCompletingRebalance:
		c.prepareRebalance(g, now)
	case StatePreparingRebalance:
		c.maybeCompleteJoin(g, now)
	}
}

// expire handles every deadline of g that has passed.
func (c *core) expire(g *group, now time.Time) {
	for id, at := range g.pending {
		if !now.Before(at) {
			delete(g.pending, id)
		}
	}
	for _, id := range append([]string(nil), g.order...) {
		m := g.members[id]
		if m == nil || m.join != nil || m.sync != nil {
			// A member parked in a join or sync is alive by definition.
			continue
		}
		if !m.heartbeatDeadline.IsZero() && !now.Before(m.heartbeatDeadline) {
			c.removeMember(g, m, now, kerr.UnknownMemberID.Code)
		}
	}
	if !g.syncDeadline.IsZero() && !now.Before(g.syncDeadline) {
		g.syncDeadline = time.Time{}
		removed := false
		for _, id := range append([]string(nil), g.order...) {
			if m := g.members[id]; m != nil && !m.synced {
				if m.sync != nil {
					c.replySyncError(g, m, kerr.UnknownMemberID.Code)
				}
				g.removeMember(id)
				removed = true
			}
		}
		if removed && (g.state == StateStable || g.state == StateCompletingRebalance) {
			c.prepareRebalance(g, now)
		}
	}
	c.maybeCompleteJoin(g, now)
}

// groupMetadataRecord is the group's GroupMetadataValue as Kafka writes it
// after each generation: members with their subscription and assignment.
func (c *core) groupMetadataRecord(g *group, now time.Time) Record {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupMetadataValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	v.Protocol = optional(g.protocol)
	v.Leader = optional(g.leader)
	if len(g.members) == 0 {
		v.Leader = nil
	}
	v.CurrentStateTimestamp = now.UnixMilli()
	for _, id := range g.order {
		m := g.members[id]
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID, vm.InstanceID = m.id, optional(m.instanceID)
		vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	return Record{Key: groupMetadataKey(g.id), Value: v.AppendTo(nil)}
}

func strPtr(s string) *string { return &s }

// optional is nil for an empty string, for the wire's nullable strings.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
