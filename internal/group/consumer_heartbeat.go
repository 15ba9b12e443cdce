package group

import (
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heartbeatError is a ConsumerGroupHeartbeat failure: a Kafka code and the
// message Kafka would give with it.
type heartbeatError struct {
	code    int16
	message string
}

func (c *core) consumerHeartbeatFail(id uint64, msg *kmsg.ConsumerGroupHeartbeatRequest, e heartbeatError) {
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version, resp.ErrorCode = msg.Version, e.code
	if e.message != "" {
		resp.ErrorMessage = strPtr(e.message)
	}
	c.respond(id, -1, resp)
}

// validateHeartbeat checks a request on its own, as Kafka's
// throwIfConsumerGroupHeartbeatRequestIsInvalid.
func validateHeartbeat(msg *kmsg.ConsumerGroupHeartbeatRequest) *heartbeatError {
	invalid := func(m string) *heartbeatError { return &heartbeatError{kerr.InvalidRequest.Code, m} }
	switch {
	case msg.Group == "" || len(msg.Group) > maxGroupIDBytes:
		return invalid("GroupId can't be empty.")
	case msg.Version >= 1 && msg.MemberID == "":
		return invalid("MemberId can't be empty.")
	case len(msg.MemberID) > maxGroupIDBytes:
		return invalid("MemberId is too long.")
	case msg.InstanceID != nil && (*msg.InstanceID == "" || len(*msg.InstanceID) > maxGroupIDBytes):
		return invalid("InstanceId can't be empty.")
	case msg.RackID != nil && *msg.RackID == "":
		return invalid("RackId can't be empty.")
	case msg.MemberEpoch < staticLeaveEpoch:
		return invalid("MemberEpoch is invalid.")
	case msg.MemberEpoch == staticLeaveEpoch && msg.InstanceID == nil:
		return invalid("InstanceId can't be null when MemberEpoch is -2.")
	case len(msg.SubscribedTopicNames) > maxSubscribedTopics:
		return invalid("SubscribedTopicNames has too many topics.")
	}
	if msg.MemberEpoch == 0 {
		switch {
		case msg.RebalanceTimeoutMillis == -1:
			return invalid("RebalanceTimeoutMs must be provided in first request.")
		case msg.SubscribedTopicNames == nil && msg.SubscribedTopicRegex == nil:
			return invalid("SubscribedTopicNames or SubscribedTopicRegex must be set in first request.")
		case len(msg.Topics) > 0:
			return invalid("TopicPartitions must be empty when (re-)joining.")
		}
	}
	if msg.ServerAssignor != nil && !SupportedAssignor(*msg.ServerAssignor) {
		return &heartbeatError{kerr.UnsupportedAssignor.Code, "ServerAssignor " + *msg.ServerAssignor + " is not supported."}
	}
	if msg.SubscribedTopicRegex != nil {
		if len(*msg.SubscribedTopicRegex) > maxRegexBytes {
			return &heartbeatError{kerr.InvalidRegularExpression.Code, "SubscribedTopicRegex is too long."}
		}
		if _, err := compileSubscription(*msg.SubscribedTopicRegex); err != nil {
			return &heartbeatError{kerr.InvalidRegularExpression.Code, err.Error()}
		}
	}
	owned := 0
	for _, t := range msg.Topics {
		owned += len(t.Partitions)
	}
	if owned > maxOwnedPartitions {
		return invalid("Topics lists too many partitions.")
	}
	return nil
}

// consumerHeartbeat handles ConsumerGroupHeartbeat: join (epoch 0),
// heartbeat (the member's epoch), leave (-1) or static leave (-2).
func (c *core) consumerHeartbeat(now time.Time, id uint64, req Request, msg *kmsg.ConsumerGroupHeartbeatRequest) {
	if e := validateHeartbeat(msg); e != nil {
		c.consumerHeartbeatFail(id, msg, *e)
		return
	}
	if code := c.coordinatorError(msg.Group); code != 0 {
		c.consumerHeartbeatFail(id, msg, heartbeatError{code: code})
		return
	}
	g, e := c.consumerGroupFor(msg.Group, msg.MemberEpoch == 0, now)
	if e != nil {
		c.consumerHeartbeatFail(id, msg, *e)
		return
	}
	if msg.MemberEpoch < 0 {
		c.consumerLeave(now, id, g, msg)
	} else {
		c.consumerJoinOrHeartbeat(now, id, req, g, msg)
	}
	c.schedule(g)
}

// consumerGroupFor returns the consumer group, creating it (or replacing an
// empty classic group of that id) when create is set.
func (c *core) consumerGroupFor(groupID string, create bool, now time.Time) (*group, *heartbeatError) {
	g := c.lookup(groupID)
	notFound := &heartbeatError{kerr.GroupIDNotFound.Code, "Group " + groupID + " not found."}
	if g != nil && g.consumer == nil {
		if !create || len(g.members) > 0 || len(g.pending) > 0 || g.state != StateEmpty {
			return nil, &heartbeatError{kerr.GroupIDNotFound.Code, "Group " + groupID + " is not a consumer group."}
		}
		// An empty classic group becomes a consumer group; its offsets stay.
		g.consumer = newConsumerGroup()
		g.protocolType, g.protocol, g.generation = "consumer", "", 0
		return g, nil
	}
	if g != nil {
		return g, nil
	}
	if !create {
		return nil, notFound
	}
	if g = c.create(groupID, now); g == nil {
		return nil, &heartbeatError{code: kerr.CoordinatorNotAvailable.Code}
	}
	g.consumer = newConsumerGroup()
	g.protocolType = "consumer"
	return g, nil
}

// consumerMemberFor finds the member a heartbeat speaks for, or makes a new
// one on a join. replaced is a static member's previous incarnation whose
// place the new member takes.
func (c *core) consumerMemberFor(g *group, msg *kmsg.ConsumerGroupHeartbeatRequest) (m *consumerMember, replaced *consumerMember, e *heartbeatError) {
	cg := g.consumer
	unknown := &heartbeatError{kerr.UnknownMemberID.Code, "Member " + msg.MemberID + " is not a member of group " + g.id + "."}
	if msg.InstanceID == nil {
		if m = cg.members[msg.MemberID]; m != nil {
			return m, nil, c.checkMemberEpoch(m, msg)
		}
		if msg.MemberEpoch != 0 {
			return nil, nil, unknown
		}
		return c.newConsumerMember(g, msg)
	}
	instance := *msg.InstanceID
	holderID, held := cg.instances[instance]
	if msg.MemberEpoch != 0 {
		if !held {
			return nil, nil, unknown
		}
		if holderID != msg.MemberID {
			return nil, nil, &heartbeatError{kerr.FencedInstanceID.Code, "Static member " + instance + " was fenced by another member."}
		}
		m = cg.members[holderID]
		return m, nil, c.checkMemberEpoch(m, msg)
	}
	if !held {
		if cg.members[msg.MemberID] != nil {
			// The member id is taken by a dynamic member.
			return nil, nil, &heartbeatError{kerr.InvalidRequest.Code, "MemberId " + msg.MemberID + " is already in use."}
		}
		return c.newConsumerMember(g, msg)
	}
	holder := cg.members[holderID]
	if holderID == msg.MemberID {
		if holder.memberEpoch == staticLeaveEpoch {
			cg.release(holder)
			holder.memberEpoch = holder.previousEpoch
			cg.hold(holder)
		}
		return holder, nil, nil
	}
	if holder.memberEpoch != staticLeaveEpoch {
		return nil, nil, &heartbeatError{kerr.UnreleasedInstanceID.Code, "Static member " + instance + " is still in use by " + holderID + "."}
	}
	// The static member comes back under a new member id: it takes over
	// the previous incarnation's epoch and partitions, so the others are
	// not disturbed.
	m = &consumerMember{
		id: msg.MemberID, instanceID: instance,
		subscribedNames: holder.subscribedNames, regex: holder.regex, serverAssignor: holder.serverAssignor,
		rebalanceTimeout: holder.rebalanceTimeout, rackID: holder.rackID,
		memberEpoch: holder.previousEpoch, previousEpoch: holder.previousEpoch, state: holder.state,
		assigned: holder.assigned.clone(), revoking: holder.revoking.clone(), hasMetadata: true,
	}
	return m, holder, nil
}

func (c *core) newConsumerMember(g *group, msg *kmsg.ConsumerGroupHeartbeatRequest) (*consumerMember, *consumerMember, *heartbeatError) {
	if int32(len(g.consumer.members)) >= c.cfg.MaxSize {
		return nil, nil, &heartbeatError{kerr.GroupMaxSizeReached.Code, "The group has reached its maximum size."}
	}
	memberID := msg.MemberID
	if memberID == "" {
		// Version 0: the coordinator names the member.
		memberID = strings.TrimPrefix(c.cfg.NewMemberID(""), "-")
	}
	return &consumerMember{id: memberID, assigned: assignment{}, revoking: assignment{}}, nil, nil
}

// checkMemberEpoch is Kafka's throwIfMemberEpochIsInvalid: an epoch ahead of
// the member's is fenced; one behind is accepted only when it is the
// previous epoch and the member reports owning no more than it was given,
// i.e. only the response that moved it on was lost.
func (c *core) checkMemberEpoch(m *consumerMember, msg *kmsg.ConsumerGroupHeartbeatRequest) *heartbeatError {
	fenced := &heartbeatError{kerr.FencedMemberEpoch.Code, "The consumer group member has a greater member epoch than expected."}
	switch {
	case msg.MemberEpoch == 0:
		return nil
	case msg.MemberEpoch > m.memberEpoch:
		return fenced
	case msg.MemberEpoch < m.memberEpoch:
		owned := ownedFrom(msg.Topics)
		if msg.MemberEpoch != m.previousEpoch || owned == nil || !subset(owned, m.assigned) {
			fenced.message = "The consumer group member has a smaller member epoch than expected."
			return fenced
		}
	}
	return nil
}

func ownedFrom(topics []kmsg.ConsumerGroupHeartbeatRequestTopic) assignment {
	if topics == nil {
		return nil
	}
	out := assignment{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			out.add(t.TopicID, p)
		}
	}
	return out
}

func subset(a, b assignment) bool {
	for t, ps := range a {
		for _, p := range ps {
			if !b.has(t, p) {
				return false
			}
		}
	}
	return true
}

// consumerJoinOrHeartbeat is Kafka's consumerGroupHeartbeat for a member
// that joins or stays: update the member, bump the group epoch on any
// change of subscription or subscribed metadata, recompute the target when
// it trails the group epoch, then reconcile the member one step.
func (c *core) consumerJoinOrHeartbeat(now time.Time, id uint64, req Request, g *group, msg *kmsg.ConsumerGroupHeartbeatRequest) {
	cg := g.consumer
	m, replaced, e := c.consumerMemberFor(g, msg)
	if e != nil {
		c.consumerHeartbeatFail(id, msg, *e)
		return
	}
	var records []Record
	_, existed := cg.members[m.id]
	bump := !existed && replaced == nil
	if replaced != nil {
		records = append(records, c.replaceStaticConsumerMember(g, replaced, m)...)
	}
	changedMetadata, changedSubscription := updateConsumerMember(m, req, msg)
	bump = bump || changedSubscription
	cg.members[m.id] = m
	if m.instanceID != "" {
		cg.instances[m.instanceID] = m.id
	}
	m.sessionDeadline = now.Add(c.cfg.ConsumerSessionTimeout)
	if !existed || changedMetadata || replaced != nil {
		records = append(records, consumerMemberRecord(g.id, m))
	}
	topics := c.topics()
	if !cg.hashKnown || cg.topicsVersion == 0 || cg.topicsVersion != topics.Version() || bump {
		hash := cg.computeSubscriptionHash(topics)
		if cg.hashKnown && hash != cg.subscriptionHash {
			bump = true
		}
		cg.subscriptionHash, cg.topicsVersion, cg.hashKnown = hash, topics.Version(), true
	}
	if bump {
		cg.epoch++
		c.rebalances.consumer.Add(1)
		records = append(records, consumerGroupEpochRecord(g.id, cg))
	}
	if cg.epoch > cg.assignmentEpoch {
		records = append(records, c.computeTarget(g, topics)...)
	}
	before := m.assigned
	records = append(records, c.reconcileMember(now, g, m, ownedFrom(msg.Topics))...)
	c.persist(g.partition, records...)

	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version = msg.Version
	resp.MemberID, resp.MemberEpoch = strPtr(m.id), m.memberEpoch
	resp.HeartbeatIntervalMillis = int32(c.cfg.ConsumerHeartbeatInterval.Milliseconds())
	full := msg.RebalanceTimeoutMillis != -1 && (msg.SubscribedTopicNames != nil || msg.SubscribedTopicRegex != nil) && msg.Topics != nil
	if msg.MemberEpoch == 0 || full || !before.equal(m.assigned) {
		resp.Assignment = responseAssignment(m.assigned)
	}
	c.respond(id, g.partition, resp)
}

// updateConsumerMember applies the fields a heartbeat carries (null means
// unchanged) and reports whether anything persisted changed, and whether
// the subscription (which moves the group epoch) did.
func updateConsumerMember(m *consumerMember, req Request, msg *kmsg.ConsumerGroupHeartbeatRequest) (metadata, subscription bool) {
	set := func(dst *string, v string) {
		if *dst != v {
			*dst, metadata = v, true
		}
	}
	set(&m.clientID, req.ClientID)
	set(&m.clientHost, req.ClientHost)
	if msg.InstanceID != nil {
		set(&m.instanceID, *msg.InstanceID)
	}
	if msg.RackID != nil {
		set(&m.rackID, *msg.RackID)
	}
	if msg.RebalanceTimeoutMillis > 0 {
		if d := time.Duration(msg.RebalanceTimeoutMillis) * time.Millisecond; d != m.rebalanceTimeout {
			m.rebalanceTimeout, metadata = d, true
		}
	}
	if msg.SubscribedTopicNames != nil {
		names := slices.Clone(msg.SubscribedTopicNames)
		slices.Sort(names)
		names = slices.Compact(names)
		if !slices.Equal(names, m.subscribedNames) || !m.hasMetadata {
			m.subscribedNames, subscription = names, true
		}
	}
	if msg.SubscribedTopicRegex != nil && *msg.SubscribedTopicRegex != m.regex {
		m.regex, subscription = *msg.SubscribedTopicRegex, true
	}
	if msg.ServerAssignor != nil && *msg.ServerAssignor != m.serverAssignor {
		m.serverAssignor, subscription = *msg.ServerAssignor, true
	}
	if m.rebalanceTimeout <= 0 {
		m.rebalanceTimeout = time.Minute
	}
	m.hasMetadata = true
	return metadata || subscription, subscription
}

// replaceStaticConsumerMember removes a static member's previous
// incarnation in favour of m, which inherits its target.
func (c *core) replaceStaticConsumerMember(g *group, old, m *consumerMember) []Record {
	cg := g.consumer
	target := cg.target[old.id]
	cg.removeMember(old.id)
	cg.target[m.id] = target
	cg.hold(m)
	return append(consumerMemberTombstones(g.id, old.id), consumerTargetRecord(g.id, m.id, target))
}

// computeTarget runs the group's assignor and records every member's new
// target and the assignment epoch.
func (c *core) computeTarget(g *group, topics Topics) []Record {
	cg := g.consumer
	members := make([]assignorMember, 0, len(cg.members))
	for _, m := range cg.members {
		members = append(members, assignorMember{id: m.id, topics: cg.subscribedTopics(m, topics), current: cg.target[m.id]})
	}
	assign := assignors[cg.preferredAssignor(c.cfg.ConsumerAssignor)]
	if assign == nil {
		assign = uniformAssign
	}
	next := assign(members)
	var records []Record
	for id, a := range next {
		if prev, ok := cg.target[id]; ok && prev.equal(a) {
			continue
		}
		cg.target[id] = a
		records = append(records, consumerTargetRecord(g.id, id, a))
	}
	cg.assignmentEpoch = cg.epoch
	return append(records, consumerTargetEpochRecord(g.id, cg.assignmentEpoch))
}

// reconcileMember moves m one step towards its target and records its new
// current assignment if it changed.
func (c *core) reconcileMember(now time.Time, g *group, m *consumerMember, owned assignment) []Record {
	cg := g.consumer
	if m.memberEpoch == staticLeaveEpoch {
		return nil
	}
	r := reconcile(m, cg.assignmentEpoch, cg.target[m.id], owned, cg.ownerEpoch)
	if r.memberEpoch == m.memberEpoch && r.previousEpoch == m.previousEpoch && r.state == m.state &&
		r.assigned.equal(m.assigned) && r.revoking.equal(m.revoking) {
		return nil
	}
	cg.release(m)
	wasRevoking := m.state == memberUnrevoked
	m.memberEpoch, m.previousEpoch, m.state, m.assigned, m.revoking = r.memberEpoch, r.previousEpoch, r.state, r.assigned, r.revoking
	cg.hold(m)
	switch {
	case m.state != memberUnrevoked:
		m.revocationDeadline = time.Time{}
	case !wasRevoking:
		m.revocationDeadline = now.Add(m.rebalanceTimeout)
	}
	return []Record{consumerCurrentRecord(g.id, m)}
}

func responseAssignment(a assignment) *kmsg.ConsumerGroupHeartbeatResponseAssignment {
	out := &kmsg.ConsumerGroupHeartbeatResponseAssignment{}
	out.Topics = []kmsg.ConsumerGroupHeartbeatResponseAssignmentTopic{}
	for _, t := range a.sortedTopics() {
		rt := kmsg.NewConsumerGroupHeartbeatResponseAssignmentTopic()
		rt.TopicID, rt.Partitions = t, slices.Clone(a[t])
		out.Topics = append(out.Topics, rt)
	}
	return out
}

// consumerLeave handles epoch -1 (leave) and -2 (a static member leaving
// for a while: it keeps its partitions until its session times out).
func (c *core) consumerLeave(now time.Time, id uint64, g *group, msg *kmsg.ConsumerGroupHeartbeatRequest) {
	cg := g.consumer
	memberID := msg.MemberID
	if msg.InstanceID != nil {
		holder, ok := cg.instances[*msg.InstanceID]
		if !ok {
			c.consumerHeartbeatFail(id, msg, heartbeatError{kerr.UnknownMemberID.Code, "Instance " + *msg.InstanceID + " is unknown."})
			return
		}
		if holder != memberID {
			c.consumerHeartbeatFail(id, msg, heartbeatError{kerr.FencedInstanceID.Code, "Static member " + *msg.InstanceID + " was fenced by another member."})
			return
		}
	}
	m := cg.members[memberID]
	if m == nil {
		c.consumerHeartbeatFail(id, msg, heartbeatError{kerr.UnknownMemberID.Code, "Member " + memberID + " is not a member of group " + g.id + "."})
		return
	}
	resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
	resp.Version, resp.MemberID, resp.MemberEpoch = msg.Version, strPtr(memberID), msg.MemberEpoch
	resp.HeartbeatIntervalMillis = int32(c.cfg.ConsumerHeartbeatInterval.Milliseconds())
	if msg.MemberEpoch == staticLeaveEpoch {
		cg.release(m)
		if m.memberEpoch != staticLeaveEpoch {
			// The epoch it left at is what it comes back with.
			m.previousEpoch = m.memberEpoch
		}
		m.memberEpoch, m.revoking = staticLeaveEpoch, assignment{}
		cg.hold(m)
		m.revocationDeadline = time.Time{}
		c.persist(g.partition, consumerCurrentRecord(g.id, m))
		c.respond(id, g.partition, resp)
		return
	}
	c.persist(g.partition, c.fenceConsumerMember(g, m)...)
	c.respond(id, g.partition, resp)
}

// fenceConsumerMember removes a member (leave, session or revocation
// timeout) and bumps the group epoch so the others reconcile without it.
func (c *core) fenceConsumerMember(g *group, m *consumerMember) []Record {
	cg := g.consumer
	cg.removeMember(m.id)
	cg.epoch++
	c.rebalances.consumer.Add(1)
	return append(consumerMemberTombstones(g.id, m.id), consumerGroupEpochRecord(g.id, cg))
}

// expireConsumer fences members whose session or revocation deadline
// passed.
func (c *core) expireConsumer(g *group, now time.Time) {
	var records []Record
	for _, m := range sortedConsumerMembers(g.consumer) {
		session := !m.sessionDeadline.IsZero() && !now.Before(m.sessionDeadline)
		revocation := !m.revocationDeadline.IsZero() && !now.Before(m.revocationDeadline)
		if session || revocation {
			records = append(records, c.fenceConsumerMember(g, m)...)
		}
	}
	c.persist(g.partition, records...)
}

func sortedConsumerMembers(cg *consumerGroup) []*consumerMember {
	out := make([]*consumerMember, 0, len(cg.members))
	for _, m := range cg.members {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *consumerMember) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return out
}

// consumerDeadline is the earliest deadline of a consumer group's members.
func (cg *consumerGroup) nextDeadline() time.Time {
	var next time.Time
	for _, m := range cg.members {
		for _, t := range []time.Time{m.sessionDeadline, m.revocationDeadline} {
			if !t.IsZero() && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return next
}

func (c *core) topics() Topics {
	if c.cfg.Topics == nil {
		return noTopics{}
	}
	if t := c.cfg.Topics(); t != nil {
		return t
	}
	return noTopics{}
}
