package group

import (
	"bytes"
	"slices"
	"time"
)

// State is a classic group's state, named as Kafka names it on the wire
// (DescribeGroups, ListGroups).
type State int8

// The classic group states.
const (
	StateEmpty State = iota
	StatePreparingRebalance
	StateCompletingRebalance
	StateStable
	StateDead
)

func (s State) String() string {
	switch s {
	case StateEmpty:
		return "Empty"
	case StatePreparingRebalance:
		return "PreparingRebalance"
	case StateCompletingRebalance:
		return "CompletingRebalance"
	case StateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

// protocol is one assignment protocol a member supports, with its metadata
// (for consumers, the subscription).
type protocol struct {
	Name     string
	Metadata []byte
}

// pendingReply is a JoinGroup or SyncGroup waiting for the rebalance to move
// on: the request id the driver answers and the version to encode.
type pendingReply struct {
	id      uint64
	version int16
}

// member is one member of a classic group.
type member struct {
	id         string
	instanceID string // group.instance.id; empty for a dynamic member
	clientID   string
	clientHost string

	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocols        []protocol
	assignment       []byte

	// join and sync are the requests parked until the rebalance completes.
	join *pendingReply
	sync *pendingReply
	// synced is set once the member sent SyncGroup for the current
	// generation; members that never do are removed at the sync deadline.
	synced bool
	// heartbeatDeadline is when the member expires without a heartbeat.
	heartbeatDeadline time.Time
}

func (m *member) metadataFor(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

func sameProtocols(a, b []protocol) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !bytes.Equal(a[i].Metadata, b[i].Metadata) {
			return false
		}
	}
	return true
}

// group is one classic group and its committed offsets.
type group struct {
	id        string
	partition int32
	state     State

	generation   int32
	protocolType string // empty until a member joins (offsets-only groups)
	protocol     string // selected at the end of each join phase
	leader       string

	members map[string]*member
	// order lists member ids by join time: the first is the leader when the
	// current leader leaves, as Kafka picks the longest-standing member.
	order []string
	// instances maps group.instance.id to the member id holding it.
	instances map[string]string
	// pending holds KIP-394 member ids handed out with MEMBER_ID_REQUIRED,
	// each expiring after the session timeout of its first join.
	pending map[string]time.Time

	// joinDeadline ends the join phase (PreparingRebalance).
	joinDeadline time.Time
	// initialJoin marks the delayed first rebalance of an empty group:
	// the phase ends at joinDeadline whoever has joined, extended while
	// new members keep arriving (Kafka's InitialDelayedJoin).
	initialJoin      bool
	initialRemaining time.Duration
	newMemberAdded   bool
	// syncDeadline ends the wait for every member's SyncGroup.
	syncDeadline time.Time

	stateTimestamp time.Time
	offsets        map[topicPartition]*offsetCommit
	// txnOffsets are the pending transactional offsets (TxnOffsetCommit)
	// by producer id, invisible to OffsetFetch until the producer's commit
	// marker moves them to offsets; nil until the first. Each partition's
	// are in log order: the last of a transaction counts (txn.go).
	txnOffsets map[int64]map[topicPartition][]*offsetCommit

	// consumer is set for a consumer (KIP-848) group, whose members live
	// there; the classic fields above are then unused but for offsets.
	consumer *consumerGroup
}

func newGroup(id string, partition int32, now time.Time) *group {
	return &group{
		id: id, partition: partition, state: StateEmpty, stateTimestamp: now,
		members: map[string]*member{}, instances: map[string]string{},
		pending: map[string]time.Time{}, offsets: map[topicPartition]*offsetCommit{},
	}
}

func (g *group) transition(s State, now time.Time) {
	g.state, g.stateTimestamp = s, now
}

func (g *group) addMember(m *member) {
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != "" {
		g.instances[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
	if g.initialJoin {
		g.newMemberAdded = true
	}
}

func (g *group) removeMember(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	if m.instanceID != "" && g.instances[m.instanceID] == id {
		delete(g.instances, m.instanceID)
	}
	for i, o := range g.order {
		if o == id {
			g.order = append(g.order[:i], g.order[i+1:]...)
			break
		}
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// renameMember gives a static member a new member id when its instance
// rejoins without one, keeping its place, leadership and assignment.
func (g *group) renameMember(oldID, newID string) *member {
	m := g.members[oldID]
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, o := range g.order {
		if o == oldID {
			g.order[i] = newID
		}
	}
	if g.leader == oldID {
		g.leader = newID
	}
	g.instances[m.instanceID] = newID
	return m
}

// candidateProtocols are the protocols every member supports, in the order
// of the longest-standing member's preference.
func (g *group) candidateProtocols() []string {
	if len(g.order) == 0 {
		return nil
	}
	var out []string
	for _, p := range g.members[g.order[0]].protocols {
		all := true
		for _, m := range g.members {
			if !hasProtocol(m, p.Name) {
				all = false
				break
			}
		}
		if all {
			out = append(out, p.Name)
		}
	}
	return out
}

func hasProtocol(m *member, name string) bool {
	for _, p := range m.protocols {
		if p.Name == name {
			return true
		}
	}
	return false
}

// supports reports whether a joining member can be in the group: same
// protocol type and at least one protocol every current member supports.
func (g *group) supports(protocolType string, protocols []protocol) bool {
	if protocolType == "" || len(protocols) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	candidates := g.candidateProtocols()
	for _, p := range protocols {
		for _, c := range candidates {
			if p.Name == c {
				return true
			}
		}
	}
	return false
}

// selectProtocol is Kafka's vote: each member votes for the first protocol
// of its own list that every member supports; the most votes win, ties going
// to the longest-standing member's preference.
func (g *group) selectProtocol() string {
	candidates := g.candidateProtocols()
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best, bestVotes := "", -1
	for _, c := range candidates {
		if votes[c] > bestVotes {
			best, bestVotes = c, votes[c]
		}
	}
	return best
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// allJoined is Kafka's hasAllMembersJoined: every member has a JoinGroup
// parked and no KIP-394 member id is still expected.
func (g *group) allJoined() bool {
	for _, m := range g.members {
		if m.join == nil {
			return false
		}
	}
	return len(g.pending) == 0
}

// nextDeadline is the earliest time at which tick has work for this group.
func (g *group) nextDeadline() time.Time {
	if g.consumer != nil {
		return g.consumer.nextDeadline()
	}
	var next time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earlier(g.joinDeadline)
	earlier(g.syncDeadline)
	for _, d := range g.pending {
		earlier(d)
	}
	for _, m := range g.members {
		if m.join == nil && m.sync == nil {
			earlier(m.heartbeatDeadline)
		}
	}
	return next
}
