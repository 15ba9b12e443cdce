package metadata

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// The controller's partition decisions, as pure functions of an image (and,
// for unclean election, each topic's effective config): they return the
// PartitionRecords to write and never mutate the image. The Node only
// applies them (partitions.go), so every rule here is table-tested without
// a quorum.
//
// Epochs follow Kafka's PartitionChangeBuilder: any leader change (to a
// broker or to none) bumps the leader epoch, which fences the old leader's
// fetches and produces; every change of leader, ISR or replicas bumps the
// partition epoch, which AlterPartition checks so a leader cannot apply an
// ISR change computed from a stale state.

// maxPartitionChanges bounds the partitions one decision changes, so that a
// batch stays far below MaxBatchRecords. A decision that would change more
// returns maxPartitionChanges of them; the liveness loop calls it again at
// its next tick and finishes the rest.
const maxPartitionChanges = 10_000

// AlterPartitionRequest is one partition of Kafka's AlterPartition request
// (KIP-497): the leader proposes a new ISR from the state it knows.
type AlterPartitionRequest struct {
	TopicID        [16]byte
	Partition      int32
	LeaderID       int32
	LeaderEpoch    int32
	PartitionEpoch int32
	NewISR         []int32
	// NewISRBrokerEpochs are the members' broker epochs as the leader saw
	// them in their fetches, parallel to NewISR (AlterPartition v3's
	// NewIsrWithEpochs, KIP-903); nil or -1 entries are not checked.
	NewISRBrokerEpochs []int64 `json:",omitempty"`
}

// DecideAlterPartition validates an AlterPartition request against img, in
// Kafka's order and with its codes (ReplicationControlManager):
//
//   - unknown topic id: UNKNOWN_TOPIC_ID; unknown partition:
//     UNKNOWN_TOPIC_OR_PARTITION;
//   - a leader or partition epoch newer than the image's: NOT_CONTROLLER
//     (this controller is behind; the leader retries and finds the new one);
//   - an older leader epoch: FENCED_LEADER_EPOCH;
//   - a sender that is not the leader: INVALID_REQUEST;
//   - an older partition epoch: INVALID_UPDATE_VERSION;
//   - an ISR with a non-replica, a repeated broker, or without the leader:
//     INVALID_REQUEST;
//   - an ISR member not registered or fenced, or a joining member whose
//     broker epoch as the leader saw it is not its registration's (a fetch
//     of a previous incarnation, KIP-903): INELIGIBLE_REPLICA.
//
// It returns the record to write (nil when the ISR is already the proposed
// one, which Kafka answers with the current state) and the partition as it
// will be: the new ISR with partitionEpoch+1, leader and leader epoch kept.
func DecideAlterPartition(img *Image, req AlterPartitionRequest) (*PartitionRecord, PartitionImage, error) {
	name, ok := img.topicNames[req.TopicID]
	if !ok {
		return nil, PartitionImage{}, newError(kerr.UnknownTopicID, fmt.Sprintf("topic id %x does not exist", req.TopicID))
	}
	t := img.topics[name]
	if req.Partition < 0 || int(req.Partition) >= len(t.Partitions) {
		return nil, PartitionImage{}, newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("partition %s-%d does not exist", name, req.Partition))
	}
	p := t.Partitions[req.Partition]
	where := fmt.Sprintf("%s-%d", name, req.Partition)
	switch {
	case req.LeaderEpoch > p.LeaderEpoch || req.PartitionEpoch > p.PartitionEpoch:
		return nil, p, newError(kerr.NotController, fmt.Sprintf("%s: epochs %d/%d are newer than this controller's %d/%d",
			where, req.LeaderEpoch, req.PartitionEpoch, p.LeaderEpoch, p.PartitionEpoch))
	case req.LeaderEpoch < p.LeaderEpoch:
		return nil, p, newError(kerr.FencedLeaderEpoch, fmt.Sprintf("%s: leader epoch %d is older than %d", where, req.LeaderEpoch, p.LeaderEpoch))
	case req.LeaderID != p.Leader:
		return nil, p, newError(kerr.InvalidRequest, fmt.Sprintf("%s: broker %d is not the leader (%d is)", where, req.LeaderID, p.Leader))
	case req.PartitionEpoch < p.PartitionEpoch:
		return nil, p, newError(kerr.InvalidUpdateVersion, fmt.Sprintf("%s: partition epoch %d is older than %d", where, req.PartitionEpoch, p.PartitionEpoch))
	}
	if err := checkProposedISR(img, p, req.NewISR, req.NewISRBrokerEpochs, where); err != nil {
		return nil, p, err
	}
	if sameMembers(p.ISR, req.NewISR) {
		return nil, p, nil
	}
	next := p
	next.ISR = slices.Clone(req.NewISR)
	next.PartitionEpoch++
	rec := partitionRecord(t.ID, next)
	return &rec, next, nil
}

func checkProposedISR(img *Image, p PartitionImage, isr []int32, brokerEpochs []int64, where string) error {
	if len(isr) == 0 || len(isr) > len(p.Replicas) || !distinct(isr) {
		return newError(kerr.InvalidRequest, fmt.Sprintf("%s: invalid ISR %v", where, isr))
	}
	if brokerEpochs != nil && len(brokerEpochs) != len(isr) {
		return newError(kerr.InvalidRequest, fmt.Sprintf("%s: %d broker epochs for ISR %v", where, len(brokerEpochs), isr))
	}
	for _, id := range isr {
		if !slices.Contains(p.Replicas, id) {
			return newError(kerr.InvalidRequest, fmt.Sprintf("%s: ISR member %d is not a replica of %v", where, id, p.Replicas))
		}
	}
	if !slices.Contains(isr, p.Leader) {
		return newError(kerr.InvalidRequest, fmt.Sprintf("%s: ISR %v does not contain the leader %d", where, isr, p.Leader))
	}
	for i, id := range isr {
		br, ok := img.brokers[id]
		switch {
		case !ok:
			return newError(kerr.IneligibleReplica, fmt.Sprintf("%s: ISR member %d is not registered", where, id))
		case br.Fenced:
			return newError(kerr.IneligibleReplica, fmt.Sprintf("%s: ISR member %d is fenced", where, id))
		case brokerEpochs != nil && brokerEpochs[i] >= 0 && brokerEpochs[i] != br.Epoch && !slices.Contains(p.ISR, id):
			// Only joining members are checked, as KIP-903 asks: a member
			// already in the ISR whose newest fetch the leader has not seen
			// yet must not block a shrink.
			return newError(kerr.IneligibleReplica, fmt.Sprintf("%s: joining member %d fetched with broker epoch %d, but its registration has %d",
				where, id, brokerEpochs[i], br.Epoch))
		}
	}
	return nil
}

// DecideLeadership brings every partition in line with broker liveness in
// img (registered and unfenced brokers are live), as Kafka's controller does
// when it fences or unfences a broker:
//
//   - a partition whose leader is not live gets a new leader by
//     ElectLeader: the first live ISR member in assignment order,
//     with the dead members dropped from the ISR; leader and partition epochs
//     bump;
//   - when no ISR member is live, the leader becomes -1 (offline) and the ISR
//     keeps the last leader, the replica known to hold every committed record,
//     so that the partition comes back with it; with
//     unclean.leader.election.enable for the topic (uncleanAllowed) any live
//     replica leads instead, marked Unclean, with an ISR of itself;
//   - a live leader keeps leading and dead followers leave its ISR
//     (partition epoch bump);
//   - an offline partition whose ISR has a live member gets it as leader.
//
// uncleanAllowed is asked only for partitions without a live ISR member. At
// most maxPartitionChanges records are returned.
func DecideLeadership(img *Image, uncleanAllowed func(TopicImage) bool) []PartitionRecord {
	live := liveBrokers(img)
	var out []PartitionRecord
	// Topics in map order: this runs at every liveness tick, and sorting
	// every topic name costs more than the check itself in a healthy
	// cluster. The output is sorted instead.
	for _, t := range img.topics {
		for _, p := range t.Partitions {
			next, changed := leadershipFor(p, live, func() bool { return uncleanAllowed(*t) })
			if !changed {
				continue
			}
			out = append(out, partitionRecord(t.ID, next))
			if len(out) == maxPartitionChanges {
				break
			}
		}
		if len(out) == maxPartitionChanges {
			break
		}
	}
	slices.SortFunc(out, func(a, b PartitionRecord) int {
		if c := strings.Compare(img.topicNames[a.TopicID], img.topicNames[b.TopicID]); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

func leadershipFor(p PartitionImage, live func(int32) bool, uncleanAllowed func() bool) (PartitionImage, bool) {
	if p.Leader != NoLeader && live(p.Leader) {
		if allLive(p.ISR, live) {
			return p, false
		}
		next := p
		next.ISR = filterLive(p.ISR, live)
		next.PartitionEpoch++
		return next, true
	}
	e := ElectLeader(p.Replicas, p.ISR, live, false)
	if e.Leader == NoLeader && anyLive(p.Replicas, live) && uncleanAllowed() {
		e = ElectLeader(p.Replicas, p.ISR, live, true)
	}
	next := p
	if e.Leader == NoLeader {
		if p.Leader == NoLeader {
			return p, false
		}
		next.Leader = NoLeader
		next.ISR = []int32{p.Leader}
		if !slices.Contains(p.ISR, p.Leader) {
			next.ISR = slices.Clone(p.ISR)
		}
	} else {
		next.Leader, next.ISR = e.Leader, e.ISR
	}
	next.Unclean = e.Unclean
	next.LeaderEpoch++
	next.PartitionEpoch++
	return next, true
}

// DecidePreferredElections moves leadership back to each partition's
// preferred replica (the first of its assignment) where
// ShouldElectPreferred allows it: the preferred replica is live,
// in the ISR and not already leading. This is auto.leader.rebalance.enable's
// periodic work; Kafka's KRaft controller likewise elects every imbalanced
// partition it can, bounded per round.
func DecidePreferredElections(img *Image) []PartitionRecord {
	live := liveBrokers(img)
	var out []PartitionRecord
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			if !ShouldElectPreferred(p.Replicas, p.ISR, p.Leader, live) {
				continue
			}
			out = append(out, partitionRecord(t.ID, preferred(p)))
			if len(out) == maxPartitionChanges {
				return out
			}
		}
	}
	return out
}

func preferred(p PartitionImage) PartitionImage {
	next := p
	next.Leader = PreferredLeader(p.Replicas)
	next.Unclean = false
	next.LeaderEpoch++
	next.PartitionEpoch++
	return next
}

func partitionRecord(topicID [16]byte, p PartitionImage) PartitionRecord {
	return PartitionRecord{TopicID: topicID, Partition: p.Partition, Replicas: slices.Clone(p.Replicas),
		ISR: slices.Clone(p.ISR), Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
		Unclean: p.Unclean, AddingReplicas: slices.Clone(p.AddingReplicas), RemovingReplicas: slices.Clone(p.RemovingReplicas)}
}

func allLive(ids []int32, live func(int32) bool) bool {
	for _, id := range ids {
		if !live(id) {
			return false
		}
	}
	return true
}

func anyLive(ids []int32, live func(int32) bool) bool {
	for _, id := range ids {
		if live(id) {
			return true
		}
	}
	return false
}

func filterLive(ids []int32, live func(int32) bool) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if live(id) {
			out = append(out, id)
		}
	}
	return out
}

// sameMembers reports whether a and b hold the same brokers in any order.
func sameMembers(a, b []int32) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
