package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Replication throttles (KIP-73). Two broker configs bound the bytes per
// second a broker sends to (leader) and fetches from (follower) throttled
// replicas; two topic configs say which replicas are throttled, as
// PARTITION:BROKER pairs or "*" for all. A pair names the broker that
// applies the throttle: in the leader list the broker sending, in the
// follower list the broker fetching, as Kafka's parseThrottledPartitions
// filters each list by the local broker id.
const (
	LeaderReplicationThrottledRate       = "leader.replication.throttled.rate"
	FollowerReplicationThrottledRate     = "follower.replication.throttled.rate"
	LeaderReplicationThrottledReplicas   = "leader.replication.throttled.replicas"
	FollowerReplicationThrottledReplicas = "follower.replication.throttled.replicas"
)

// UnthrottledRate is the rates' default, Kafka's Long.MAX_VALUE: no limit.
const UnthrottledRate int64 = 1<<63 - 1

func throttleRateDefs() []Def {
	// atLeast(0) as Kafka's DynamicConfig: 0 stops throttled replicas that
	// are out of sync from replicating at all until the rate is raised.
	return []Def{
		{Name: LeaderReplicationThrottledRate, Type: Long, Default: maxLong, HasDefault: true, Validate: atLeast(0),
			Doc: "Bytes per second this broker sends to out-of-sync followers of the replicas in leader.replication.throttled.replicas."},
		{Name: FollowerReplicationThrottledRate, Type: Long, Default: maxLong, HasDefault: true, Validate: atLeast(0),
			Doc: "Bytes per second this broker fetches for its out-of-sync replicas listed in follower.replication.throttled.replicas."},
	}
}

func throttledReplicaDefs() []Def {
	return []Def{
		{Name: LeaderReplicationThrottledReplicas, Type: List, Default: "", HasDefault: true, Validate: throttledReplicaList,
			Doc: "Replicas throttled on the leader side, as PARTITION:BROKER,... or * for all; the broker is the one sending."},
		{Name: FollowerReplicationThrottledReplicas, Type: List, Default: "", HasDefault: true, Validate: throttledReplicaList,
			Doc: "Replicas throttled on the follower side, as PARTITION:BROKER,... or * for all; the broker is the one fetching."},
	}
}

// throttledReplicaList accepts "", "*" or PARTITION:BROKER items separated
// by commas, with spaces around items, as Kafka's ThrottledReplicaListValidator.
func throttledReplicaList(v string) error {
	if strings.TrimSpace(v) == "*" {
		return nil
	}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if _, _, ok := parseReplica(item); !ok {
			return fmt.Errorf("must be * or a list of PARTITION:BROKER, got item %q", item)
		}
	}
	return nil
}

// parseReplica reads one PARTITION:BROKER item of non-negative ids.
func parseReplica(item string) (partition, broker int32, ok bool) {
	p, b, found := strings.Cut(item, ":")
	if !found {
		return 0, 0, false
	}
	pn, err1 := strconv.ParseInt(p, 10, 32)
	bn, err2 := strconv.ParseInt(b, 10, 32)
	if err1 != nil || err2 != nil || pn < 0 || bn < 0 || strings.HasPrefix(p, "+") || strings.HasPrefix(b, "+") {
		return 0, 0, false
	}
	return int32(pn), int32(bn), true
}

// ThrottledReplicaListed reports whether a throttled replicas value (a
// validated value of one of the two topic configs) lists partition on
// broker. It does not allocate: the broker calls it for every replicated
// partition on every metadata change.
func ThrottledReplicaListed(value string, partition, broker int32) bool {
	value = strings.TrimSpace(value)
	if value == "" {
		return false
	}
	if value == "*" {
		return true
	}
	for value != "" {
		var item string
		item, value, _ = strings.Cut(value, ",")
		if p, b, ok := parseReplica(strings.TrimSpace(item)); ok && p == partition && b == broker {
			return true
		}
	}
	return false
}

// ParseThrottleRate reads a validated rate value; an invalid one is the
// default, no limit.
func ParseThrottleRate(value string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	if err != nil || n < 0 {
		return UnthrottledRate
	}
	return n
}
