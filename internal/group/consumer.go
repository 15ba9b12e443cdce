package group

import (
	"hash/fnv"
	"regexp"
	"slices"
	"sort"
	"time"
)

// This file holds the model of KIP-848 consumer groups (the "consumer"
// group protocol driven by ConsumerGroupHeartbeat). The broker computes the
// assignment; each member reconciles towards its target one partition set
// at a time, and a partition moves to a new owner only once its previous
// owner has reported it revoked. Three epochs order this, as in Kafka:
//
//   - the group epoch, bumped whenever a member joins, leaves or changes its
//     subscription, or the metadata of the subscribed topics changes;
//   - the assignment epoch, the group epoch the target assignment was
//     computed for (it trails the group epoch until the next heartbeat
//     recomputes the target);
//   - each member's epoch, the assignment epoch it has reconciled to. It
//     advances only when the member holds no partition it must give up.

// TopicInfo is what the coordinator needs to know of one topic.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Partitions int32
}

// Topics is a consistent view of the cluster's topics. Implementations are
// immutable snapshots: the coordinator goroutine may call them freely.
type Topics interface {
	// Version changes whenever any topic is created, deleted or grows.
	Version() uint64
	Topic(name string) (TopicInfo, bool)
	TopicByID(id [16]byte) (TopicInfo, bool)
	// Names lists every topic, for regular expression subscriptions.
	Names() []string
}

type noTopics struct{}

func (noTopics) Version() uint64                      { return 0 }
func (noTopics) Topic(string) (TopicInfo, bool)       { return TopicInfo{}, false }
func (noTopics) TopicByID([16]byte) (TopicInfo, bool) { return TopicInfo{}, false }
func (noTopics) Names() []string                      { return nil }

// Defaults of the consumer group settings, as Kafka 4.
const (
	defaultConsumerSessionTimeout    = 45 * time.Second
	defaultConsumerHeartbeatInterval = 5 * time.Second
	defaultConsumerAssignor          = "uniform"
)

// Limits of the consumer protocol with no Kafka config name. They bound what
// one member can make the coordinator hold.
const (
	// maxSubscribedTopics bounds a member's SubscribedTopicNames.
	maxSubscribedTopics = 10000
	// maxRegexBytes bounds SubscribedTopicRegex; Go's regexp is linear in
	// time, so only its size needs a cap.
	maxRegexBytes = 4096
	// maxOwnedPartitions bounds the partitions a heartbeat reports owned.
	maxOwnedPartitions = 1 << 20
)

// ConsumerState is a consumer group's state as Kafka names it.
type ConsumerState int8

// The consumer group states.
const (
	ConsumerEmpty ConsumerState = iota
	ConsumerAssigning
	ConsumerReconciling
	ConsumerStable
)

func (s ConsumerState) String() string {
	switch s {
	case ConsumerAssigning:
		return "Assigning"
	case ConsumerReconciling:
		return "Reconciling"
	case ConsumerStable:
		return "Stable"
	default:
		return "Empty"
	}
}

// memberState is where a member stands in its reconciliation, as Kafka's
// MemberState.
type memberState int8

const (
	memberStable memberState = iota
	// memberUnrevoked: the member must revoke partitions before moving on.
	memberUnrevoked
	// memberUnreleased: partitions of its target are still owned by others.
	memberUnreleased
)

func (s memberState) String() string {
	switch s {
	case memberUnrevoked:
		return "UNREVOKED_PARTITIONS"
	case memberUnreleased:
		return "UNRELEASED_PARTITIONS"
	default:
		return "STABLE"
	}
}

// Epochs with a meaning of their own on the wire.
const (
	leaveEpoch       int32 = -1 // the member leaves the group
	staticLeaveEpoch int32 = -2 // a static member leaves for a while
)

// topicID is a topic's id, as assignments name topics.
type topicID = [16]byte

// assignment is a set of partitions by topic; each slice is sorted and has
// no duplicates, and no slice is empty.
type assignment map[topicID][]int32

func (a assignment) clone() assignment {
	out := make(assignment, len(a))
	for t, ps := range a {
		out[t] = slices.Clone(ps)
	}
	return out
}

func (a assignment) equal(b assignment) bool {
	if len(a) != len(b) {
		return false
	}
	for t, ps := range a {
		if !slices.Equal(ps, b[t]) {
			return false
		}
	}
	return true
}

func (a assignment) has(t topicID, p int32) bool {
	_, ok := slices.BinarySearch(a[t], p)
	return ok
}

func (a assignment) count() int {
	n := 0
	for _, ps := range a {
		n += len(ps)
	}
	return n
}

func (a assignment) add(t topicID, p int32) {
	ps := a[t]
	i, ok := slices.BinarySearch(ps, p)
	if !ok {
		a[t] = slices.Insert(ps, i, p)
	}
}

// sortedTopics lists a's topics in a stable order, for deterministic output.
func (a assignment) sortedTopics() []topicID {
	ts := make([]topicID, 0, len(a))
	for t := range a {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return string(ts[i][:]) < string(ts[j][:]) })
	return ts
}

// consumerMember is one member of a consumer group.
type consumerMember struct {
	id         string
	instanceID string
	rackID     string
	clientID   string
	clientHost string

	subscribedNames  []string // sorted
	regex            string
	rebalanceTimeout time.Duration
	serverAssignor   string

	memberEpoch   int32
	previousEpoch int32
	state         memberState
	assigned      assignment
	revoking      assignment // partitions pending revocation

	// sessionDeadline removes the member when no heartbeat came in time.
	sessionDeadline time.Time
	// revocationDeadline fences a member that holds partitions it was
	// asked to revoke for longer than its rebalance timeout.
	revocationDeadline time.Time
	// hasMetadata is set once the member's subscription is known; a member
	// loaded with only its assignment records is dropped.
	hasMetadata bool
}

// reconciledTo is Kafka's isReconciledTo.
func (m *consumerMember) reconciledTo(epoch int32) bool {
	return m.state == memberStable && m.memberEpoch == epoch
}

// consumerGroup is the consumer protocol state of a group; its committed
// offsets live in the enclosing group.
type consumerGroup struct {
	epoch           int32
	assignmentEpoch int32
	members         map[string]*consumerMember
	instances       map[string]string // instance id to member id
	target          map[string]assignment
	// owners maps each partition assigned to or being revoked from a member
	// to that member's epoch: a partition in it is not free to move.
	owners map[topicID]map[int32]int32
	// subscriptionHash is a digest of the subscribed topics' metadata at the
	// group epoch; a change bumps the epoch. topicsVersion is the version
	// of Topics it was computed at.
	subscriptionHash uint64
	topicsVersion    uint64
	hashKnown        bool
	regexes          map[string]*regexp.Regexp
}

func newConsumerGroup() *consumerGroup {
	return &consumerGroup{
		members: map[string]*consumerMember{}, instances: map[string]string{},
		target: map[string]assignment{}, owners: map[topicID]map[int32]int32{},
		regexes: map[string]*regexp.Regexp{},
	}
}

// state is the group's state, as Kafka's maybeUpdateGroupState.
func (cg *consumerGroup) state() ConsumerState {
	if len(cg.members) == 0 {
		return ConsumerEmpty
	}
	if cg.epoch > cg.assignmentEpoch {
		return ConsumerAssigning
	}
	for _, m := range cg.members {
		if !m.reconciledTo(cg.assignmentEpoch) {
			return ConsumerReconciling
		}
	}
	return ConsumerStable
}

// ownerEpoch is the epoch of the member holding a partition, or -1 if free.
func (cg *consumerGroup) ownerEpoch(t topicID, p int32) int32 {
	if e, ok := cg.owners[t][p]; ok {
		return e
	}
	return -1
}

func (cg *consumerGroup) release(m *consumerMember) {
	for _, a := range []assignment{m.assigned, m.revoking} {
		for t, ps := range a {
			for _, p := range ps {
				delete(cg.owners[t], p)
			}
			if len(cg.owners[t]) == 0 {
				delete(cg.owners, t)
			}
		}
	}
}

func (cg *consumerGroup) hold(m *consumerMember) {
	for _, a := range []assignment{m.assigned, m.revoking} {
		for t, ps := range a {
			if cg.owners[t] == nil {
				cg.owners[t] = map[int32]int32{}
			}
			for _, p := range ps {
				cg.owners[t][p] = m.memberEpoch
			}
		}
	}
}

func (cg *consumerGroup) removeMember(id string) {
	m := cg.members[id]
	if m == nil {
		return
	}
	cg.release(m)
	delete(cg.members, id)
	delete(cg.target, id)
	if m.instanceID != "" && cg.instances[m.instanceID] == id {
		delete(cg.instances, m.instanceID)
	}
}

// regex compiles a subscription regex with RE2/J's whole-name matching
// (Java's Pattern.matches), cached per group.
func (cg *consumerGroup) regex(expr string) (*regexp.Regexp, error) {
	if re, ok := cg.regexes[expr]; ok {
		return re, nil
	}
	re, err := compileSubscription(expr)
	if err != nil {
		return nil, err
	}
	// Unused expressions are dropped when the cache would grow past the
	// members' count: each member subscribes to at most one.
	if len(cg.regexes) > len(cg.members)+1 {
		cg.regexes = map[string]*regexp.Regexp{}
	}
	cg.regexes[expr] = re
	return re, nil
}

func compileSubscription(expr string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + expr + `)$`)
}

// subscribedTopics resolves a member's subscription to the topics that
// exist, sorted by name.
func (cg *consumerGroup) subscribedTopics(m *consumerMember, topics Topics) []TopicInfo {
	seen := map[string]bool{}
	var out []TopicInfo
	for _, name := range m.subscribedNames {
		if t, ok := topics.Topic(name); ok && !seen[name] {
			seen[name] = true
			out = append(out, t)
		}
	}
	if m.regex != "" {
		if re, err := cg.regex(m.regex); err == nil {
			for _, name := range topics.Names() {
				if seen[name] || !re.MatchString(name) {
					continue
				}
				if t, ok := topics.Topic(name); ok {
					seen[name] = true
					out = append(out, t)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// computeSubscriptionHash digests the metadata (name, id, partition count)
// of every topic some member subscribes to.
func (cg *consumerGroup) computeSubscriptionHash(topics Topics) uint64 {
	all := map[string]TopicInfo{}
	for _, m := range cg.members {
		for _, t := range cg.subscribedTopics(m, topics) {
			all[t.Name] = t
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	h := fnv.New64a()
	for _, n := range names {
		t := all[n]
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(t.ID[:])
		h.Write([]byte{byte(t.Partitions >> 24), byte(t.Partitions >> 16), byte(t.Partitions >> 8), byte(t.Partitions)})
	}
	return h.Sum64()
}

// preferredAssignor is the server assignor most members ask for, else the
// configured default, as Kafka's preferredServerAssignor.
func (cg *consumerGroup) preferredAssignor(fallback string) string {
	counts := map[string]int{}
	for _, m := range cg.members {
		if m.serverAssignor != "" {
			counts[m.serverAssignor]++
		}
	}
	best, bestCount := fallback, 0
	for name, n := range counts {
		if n > bestCount || n == bestCount && name < best {
			best, bestCount = name, n
		}
	}
	return best
}
