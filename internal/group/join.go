package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// join handles JoinGroup. The response is sent now for errors and for
// members of a settled generation, and when the join phase ends otherwise.
func (c *core) join(now time.Time, id uint64, req Request, msg *kmsg.JoinGroupRequest) {
	fail := func(code int16) {
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version, resp.ErrorCode, resp.Generation, resp.MemberID = msg.Version, code, -1, msg.MemberID
		c.respond(id, -1, resp)
	}
	if msg.Group == "" || len(msg.Group) > maxGroupIDBytes {
		fail(kerr.InvalidGroupID.Code)
		return
	}
	if code := c.coordinatorError(msg.Group); code != 0 {
		fail(code)
		return
	}
	session := time.Duration(msg.SessionTimeoutMillis) * time.Millisecond
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		fail(kerr.InvalidSessionTimeout.Code)
		return
	}
	rebalance := session
	if msg.Version >= 1 {
		rebalance = time.Duration(msg.RebalanceTimeoutMillis) * time.Millisecond
	}
	protocols := make([]protocol, len(msg.Protocols))
	for i, p := range msg.Protocols {
		protocols[i] = protocol{Name: p.Name, Metadata: p.Metadata}
	}
	g := c.lookup(msg.Group)
	if g != nil && g.consumer != nil {
		if len(g.consumer.members) > 0 {
			// Mixed classic and consumer members are not supported.
			fail(kerr.InconsistentGroupProtocol.Code)
			return
		}
		// An empty consumer group becomes a classic group, offsets kept.
		g.consumer = nil
		g.protocolType = ""
	}
	if g == nil {
		if msg.MemberID != "" {
			fail(kerr.UnknownMemberID.Code)
			return
		}
		if g = c.create(msg.Group, now); g == nil {
			fail(kerr.CoordinatorNotAvailable.Code)
			return
		}
	}
	if !g.supports(msg.ProtocolType, protocols) {
		fail(kerr.InconsistentGroupProtocol.Code)
		return
	}
	j := joinArgs{now: now, id: id, version: msg.Version, clientID: req.ClientID, clientHost: req.ClientHost,
		instanceID: deref(msg.InstanceID), session: session, rebalance: rebalance,
		protocolType: msg.ProtocolType, protocols: protocols}
	if msg.MemberID == "" {
		c.joinUnknown(g, j, fail)
	} else {
		c.joinKnown(g, j, msg.MemberID, fail)
	}
	c.schedule(g)
}

type joinArgs struct {
	now                  time.Time
	id                   uint64
	version              int16
	clientID, clientHost string
	instanceID           string
	session, rebalance   time.Duration
	protocolType         string
	protocols            []protocol
}

// joinUnknown handles a join without a member id: a new member, or a static
// member's instance coming back (restart).
func (c *core) joinUnknown(g *group, j joinArgs, fail func(int16)) {
	if j.instanceID != "" {
		if oldID, ok := g.instances[j.instanceID]; ok {
			c.replaceStaticMember(g, j, oldID)
			return
		}
	}
	if int32(len(g.members)+len(g.pending)) >= c.cfg.MaxSize {
		fail(kerr.GroupMaxSizeReached.Code)
		return
	}
	// Kafka prefixes a static member's id with its instance id (clients
	// such as franz-go rely on it), a dynamic member's with its client id.
	prefix := j.clientID
	if j.instanceID != "" {
		prefix = j.instanceID
	}
	newID := c.cfg.NewMemberID(prefix)
	if j.instanceID == "" && j.version >= 4 {
		// KIP-394: hand out the id and expect the member back with it, so
		// that a client retrying a lost response does not leave a ghost.
		g.pending[newID] = j.now.Add(j.session)
		resp := kmsg.NewPtrJoinGroupResponse()
		resp.Version, resp.ErrorCode, resp.Generation, resp.MemberID = j.version, kerr.MemberIDRequired.Code, -1, newID
		c.respond(j.id, g.partition, resp)
		return
	}
	c.addAndJoin(g, j, newID)
}

func (c *core) addAndJoin(g *group, j joinArgs, memberID string) {
	m := &member{id: memberID, instanceID: j.instanceID}
	c.updateMember(g, m, j)
	g.addMember(m)
	c.rebalanceOrComplete(g, j.now)
}

func (c *core) updateMember(g *group, m *member, j joinArgs) {
	m.clientID, m.clientHost = j.clientID, j.clientHost
	m.sessionTimeout, m.rebalanceTimeout = j.session, j.rebalance
	m.protocols = j.protocols
	if m.join != nil {
		// A second join from the same member replaces the first, which
		// the client has given up on.
		c.replyJoinError(g, m, kerr.RebalanceInProgress.Code)
	}
	m.join = &pendingReply{id: j.id, version: j.version}
	if len(g.members) == 0 || g.protocolType == "" {
		g.protocolType = j.protocolType
	}
}

func (c *core) rebalanceOrComplete(g *group, now time.Time) {
	switch g.state {
	case StateEmpty, StateStable, StateCompletingRebalance:
		c.prepareRebalance(g, now)
	case StatePreparingRebalance:
		c.maybeCompleteJoin(g, now)
	}
}

// joinKnown handles a join from a member id the group handed out.
func (c *core) joinKnown(g *group, j joinArgs, memberID string, fail func(int16)) {
	if _, ok := g.pending[memberID]; ok {
		delete(g.pending, memberID)
		c.addAndJoin(g, j, memberID)
		return
	}
	if j.instanceID != "" {
		if holder, ok := g.instances[j.instanceID]; ok && holder != memberID {
			fail(kerr.FencedInstanceID.Code)
			return
		}
	}
	m := g.members[memberID]
	if m == nil {
		fail(kerr.UnknownMemberID.Code)
		return
	}
	switch g.state {
	case StatePreparingRebalance:
		c.updateMember(g, m, j)
		c.maybeCompleteJoin(g, j.now)
	case StateCompletingRebalance, StateStable:
		unchanged := sameProtocols(m.protocols, j.protocols)
		if unchanged && (g.state == StateCompletingRebalance || m.id != g.leader) {
			// A retry or a follower's rejoin with nothing new: the current
			// generation stands.
			m.heartbeatDeadline = j.now.Add(m.sessionTimeout)
			c.respond(j.id, g.partition, c.joinResponse(g, m, j.version, false))
			return
		}
		c.updateMember(g, m, j)
		c.prepareRebalance(g, j.now)
	default:
		fail(kerr.UnknownMemberID.Code)
	}
}

// replaceStaticMember gives a restarted static member a new member id in
// place of the old one. In a stable group whose subscription did not change
// the others are not disturbed: the member gets the current generation back
// and its old assignment on SyncGroup.
func (c *core) replaceStaticMember(g *group, j joinArgs, oldID string) {
	old := g.members[oldID]
	if old.join != nil {
		c.replyJoinError(g, old, kerr.FencedInstanceID.Code)
	}
	if old.sync != nil {
		c.replySyncError(g, old, kerr.FencedInstanceID.Code)
	}
	newID := c.cfg.NewMemberID(j.instanceID)
	m := g.renameMember(oldID, newID)
	previous := m.protocols
	m.protocols = j.protocols
	if g.state == StateStable && g.selectProtocol() == g.protocol {
		// Kafka checks only that the selected protocol would stay: the
		// restarted member's subscription metadata (owned partitions)
		// may differ without costing the others a rebalance.
		m.clientID, m.clientHost = j.clientID, j.clientHost
		m.sessionTimeout, m.rebalanceTimeout = j.session, j.rebalance
		m.heartbeatDeadline = j.now.Add(j.session)
		m.synced = true
		c.persist(g.partition, c.groupMetadataRecord(g, j.now))
		c.respond(j.id, g.partition, c.joinResponse(g, m, j.version, true))
		return
	}
	m.protocols = previous
	c.updateMember(g, m, j)
	c.rebalanceOrComplete(g, j.now)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
