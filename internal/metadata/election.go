package metadata

import "slices"

// NoLeader stands for "no leader" in a partition's state, -1 on the wire.
const NoLeader int32 = -1

// Election is the outcome of ElectLeader.
type Election struct {
	// Leader is the new leader, or NoLeader when no replica may lead.
	Leader int32
	// ISR is the ISR to record with the new leader: unchanged for a clean
	// election, the new leader alone for an unclean one.
	ISR []int32
	// Unclean says the leader came from outside the ISR: committed records
	// it lacks are lost, and the caller should log and count it.
	Unclean bool
}

// ElectLeader chooses a partition leader as Kafka's
// PartitionLeaderElectionAlgorithms.offlinePartitionLeaderElection: the
// first replica in assignment order that is alive and in the ISR, so the
// preferred replica wins whenever it can. When none is, and only when
// unclean.leader.election.enable is set, the first live replica in
// assignment order, with an ISR of itself. Otherwise there is no leader: the
// partition stays offline rather than lose committed records.
//
// liveBrokers are the brokers registered, unfenced and not shutting down.
func ElectLeader(replicas, isr []int32, liveBrokers func(int32) bool, uncleanAllowed bool) Election {
	for _, id := range replicas {
		if slices.Contains(isr, id) && liveBrokers(id) {
			return Election{Leader: id, ISR: liveISR(isr, liveBrokers)}
		}
	}
	if uncleanAllowed {
		for _, id := range replicas {
			if liveBrokers(id) {
				return Election{Leader: id, ISR: []int32{id}, Unclean: true}
			}
		}
	}
	return Election{Leader: NoLeader, ISR: slices.Clone(isr)}
}

// liveISR drops dead brokers from the ISR as the controller does when it
// fences a broker, so the new leader does not wait on them.
func liveISR(isr []int32, live func(int32) bool) []int32 {
	out := make([]int32, 0, len(isr))
	for _, id := range isr {
		if live(id) {
			out = append(out, id)
		}
	}
	return out
}

// PreferredLeader is the replica that should lead: the first of the
// assignment.
func PreferredLeader(replicas []int32) int32 {
	if len(replicas) == 0 {
		return NoLeader
	}
	return replicas[0]
}

// ShouldElectPreferred reports whether a preferred-leader election
// (auto.leader.rebalance.enable, ElectLeaders PREFERRED) would move
// leadership: the preferred replica is not the leader, is alive and is in
// the ISR. A preferred replica outside the ISR is never made leader by it.
func ShouldElectPreferred(replicas, isr []int32, leader int32, liveBrokers func(int32) bool) bool {
	p := PreferredLeader(replicas)
	return p != NoLeader && p != leader && slices.Contains(isr, p) && liveBrokers(p)
}

// Imbalanced reports whether the partition counts toward a broker's leader
// imbalance (leader.imbalance.per.broker.percentage): its leader is not its
// preferred replica.
func Imbalanced(replicas []int32, leader int32) bool {
	return PreferredLeader(replicas) != leader
}
