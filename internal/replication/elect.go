package replication

import "slices"

// Election is the outcome of ElectLeader.
type Election struct {
	// Leader is the new leader, or NoBroker when no replica may lead.
	Leader BrokerID
	// ISR is the ISR to record with the new leader: unchanged for a clean
	// election, the new leader alone for an unclean one.
	ISR []BrokerID
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
func ElectLeader(replicas, isr []BrokerID, liveBrokers func(BrokerID) bool, uncleanAllowed bool) Election {
	for _, id := range replicas {
		if contains(isr, id) && liveBrokers(id) {
			return Election{Leader: id, ISR: liveISR(isr, liveBrokers)}
		}
	}
	if uncleanAllowed {
		for _, id := range replicas {
			if liveBrokers(id) {
				return Election{Leader: id, ISR: []BrokerID{id}, Unclean: true}
			}
		}
	}
	return Election{Leader: NoBroker, ISR: slices.Clone(isr)}
}

// liveISR drops dead brokers from the ISR as the controller does when it
// fences a broker, so the new leader does not wait on them.
func liveISR(isr []BrokerID, live func(BrokerID) bool) []BrokerID {
	out := make([]BrokerID, 0, len(isr))
	for _, id := range isr {
		if live(id) {
			out = append(out, id)
		}
	}
	return out
}

// PreferredLeader is the replica that should lead: the first of the
// assignment.
func PreferredLeader(replicas []BrokerID) BrokerID {
	if len(replicas) == 0 {
		return NoBroker
	}
	return replicas[0]
}

// ShouldElectPreferred reports whether a preferred-leader election
// (auto.leader.rebalance.enable, ElectLeaders PREFERRED) would move
// leadership: the preferred replica is not the leader, is alive and is in
// the ISR. A preferred replica outside the ISR is never made leader by it.
func ShouldElectPreferred(replicas, isr []BrokerID, leader BrokerID, liveBrokers func(BrokerID) bool) bool {
	p := PreferredLeader(replicas)
	return p != NoBroker && p != leader && contains(isr, p) && liveBrokers(p)
}

// Imbalanced reports whether the partition counts toward a broker's leader
// imbalance (leader.imbalance.per.broker.percentage): its leader is not its
// preferred replica.
func Imbalanced(replicas []BrokerID, leader BrokerID) bool {
	return PreferredLeader(replicas) != leader
}
