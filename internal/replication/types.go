package replication

import "github.com/fjordhq/fjord/internal/storage"

// BrokerID identifies a broker (Kafka's broker.id / node.id).
type BrokerID = int32

// LeaderEpoch numbers the successive leaders of a partition.
type LeaderEpoch = int32

// Offset is a record offset in a partition.
type Offset = storage.Offset

// NoBroker stands for "no leader", as -1 on the wire.
const NoBroker BrokerID = -1

// UnknownOffset is a follower's LEO before its first fetch from this leader.
const UnknownOffset Offset = -1

// MaxReplicas bounds a replica list: Kafka has no hard limit, but a
// replication factor above this is a mistake, and every per-replica loop
// here is bounded by it.
const MaxReplicas = 64
