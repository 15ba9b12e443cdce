package assign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ProtocolName is the group protocol's name, Kafka Streams' own.
const ProtocolName = "stream"

// Bounds of probing.rebalance.interval.ms.
const (
	// DefaultProbingRebalanceInterval is Kafka's default: warm-ups are
	// checked every ten minutes until they have caught up.
	DefaultProbingRebalanceInterval = 10 * time.Minute
	// MinProbingRebalanceInterval is Kafka's minimum: a rebalance stops
	// the whole group, so probing more often than once a minute costs
	// more processing than it saves restoring.
	MinProbingRebalanceInterval = time.Minute
)

// PlanFunc is the owner's part of the leader's work: given the partition
// counts of the topics the members subscribe to, it returns the topology's
// tasks, the source partitions of each task, and the end offset sums of
// the stateful tasks' changelogs (listing them takes requests to brokers,
// hence the context).
type PlanFunc func(ctx context.Context, partitionCounts map[string]int32) (
	tasks []TaskInfo, taskTopicPartitions func(TaskID) []TopicPartition, endOffsetSums map[TaskID]int64, err error)

// BalancerConfig is what a Balancer needs from its owner.
type BalancerConfig struct {
	// Context is passed to Plan; the owner cancels it at shutdown.
	// Default context.Background().
	Context context.Context
	// Assignor holds the assignor's settings.
	Assignor Config
	// ProbingRebalanceInterval is probing.rebalance.interval.ms, at least
	// MinProbingRebalanceInterval; zero means the default.
	ProbingRebalanceInterval time.Duration
	// Subscription returns this member's current subscription; it must
	// pass Subscription.Validate. It is called from kgo's group goroutine
	// at every join.
	Subscription func() Subscription
	// Plan is called on the leader only, from kgo's group goroutine, once
	// per rebalance.
	Plan PlanFunc
}

// Balancer is a kgo.GroupBalancer for the "stream" protocol: the classic
// consumer protocol (kmsg.ConsumerMemberMetadata and
// ConsumerMemberAssignment) with a Subscription and an Assignment as user
// data. It is eager: every member gives up all its partitions at each
// rebalance. Pass it to kgo.Balancers; each member needs its own.
type Balancer struct {
	cfg BalancerConfig

	mu struct {
		sync.Mutex
		last    Assignment // the latest assignment received in a SyncGroup
		hasLast bool
	}
}

var _ kgo.GroupBalancer = (*Balancer)(nil)

// NewBalancer checks cfg and returns a Balancer.
func NewBalancer(cfg BalancerConfig) (*Balancer, error) {
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.ProbingRebalanceInterval == 0 {
		cfg.ProbingRebalanceInterval = DefaultProbingRebalanceInterval
	}
	switch {
	case cfg.Subscription == nil || cfg.Plan == nil:
		return nil, errors.New("assign: balancer needs Subscription and Plan")
	case cfg.ProbingRebalanceInterval < MinProbingRebalanceInterval:
		return nil, fmt.Errorf("assign: probing rebalance interval %v, under the minimum %v",
			cfg.ProbingRebalanceInterval, MinProbingRebalanceInterval)
	}
	if err := cfg.Assignor.Validate(); err != nil {
		return nil, err
	}
	return &Balancer{cfg: cfg}, nil
}

// ProtocolName returns "stream".
func (*Balancer) ProtocolName() string { return ProtocolName }

// IsCooperative returns false: the protocol is eager.
func (*Balancer) IsCooperative() bool { return false }

// JoinGroupMetadata encodes the topics and this member's Subscription.
// It panics if the subscription breaks its contract (see
// BalancerConfig.Subscription): nothing else could be sent in its place.
func (b *Balancer) JoinGroupMetadata(topics []string, _ map[string][]int32, generation int32) []byte {
	sub := b.cfg.Subscription()
	userData, err := sub.Encode()
	if err != nil {
		panic(fmt.Sprintf("assign: the owner's subscription breaks its contract: %v", err))
	}
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Version = 3
	meta.Topics = topics // sorted by kgo
	meta.UserData = userData
	meta.Generation = generation
	return meta.AppendTo(nil)
}

// ParseSyncAssignment decodes this member's assignment, keeps its
// Assignment for LastAssignment and returns its partitions.
func (b *Balancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var ka kmsg.ConsumerMemberAssignment
	if err := ka.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("%w: consumer assignment: %v", ErrMalformed, err)
	}
	a, err := DecodeAssignment(ka.UserData)
	if err != nil {
		return nil, err
	}
	partitions := make(map[string][]int32, len(ka.Topics))
	for _, t := range ka.Topics {
		partitions[t.Topic] = append(partitions[t.Topic], t.Partitions...)
	}
	b.mu.Lock()
	b.mu.last, b.mu.hasLast = a, true
	b.mu.Unlock()
	return partitions, nil
}

// LastAssignment returns the latest Assignment this member received, and
// false before the first. Its maps and slices are shared: read only.
func (b *Balancer) LastAssignment() (Assignment, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mu.last, b.mu.hasLast
}

// MemberBalancer decodes every member's metadata. A member whose userdata
// does not decode is kept out of the assignment and told why in an error
// Assignment (ErrorVersionProbing for an unknown version), so one bad
// member does not stop the group. Metadata that is not even the consumer
// protocol's fails the rebalance.
func (b *Balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	mb := &memberBalancer{cfg: b.cfg}
	topics := make(map[string]struct{})
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if seen[m.MemberID] { // a broker listing a member twice: keep the first, as kgo does
			continue
		}
		seen[m.MemberID] = true
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.ProtocolMetadata); err != nil {
			return nil, nil, fmt.Errorf("%w: metadata of member %q: %v", ErrMalformed, m.MemberID, err)
		}
		for _, t := range meta.Topics {
			topics[t] = struct{}{}
		}
		sub, err := DecodeSubscription(meta.UserData)
		mb.members = append(mb.members, joined{id: m.MemberID, sub: sub, err: err})
	}
	return mb, topics, nil
}
