package group

import (
	"sort"
)

// Server-side assignors of consumer groups (group.consumer.assignors), pure
// functions from the members' subscriptions and current target to a new
// target assignment.

// assignorMember is one member as an assignor sees it.
type assignorMember struct {
	id      string
	topics  []TopicInfo // subscribed topics that exist, sorted by name
	current assignment  // the member's previous target, for stickiness
}

// assignor computes a target assignment for every member.
type assignor func(members []assignorMember) map[string]assignment

// assignors are the server assignors this broker supports, by the name
// ConsumerGroupHeartbeat uses.
var assignors = map[string]assignor{
	"uniform": uniformAssign,
	"range":   rangeAssign,
}

// SupportedAssignor reports whether name is a server assignor fjord has.
func SupportedAssignor(name string) bool {
	_, ok := assignors[name]
	return ok
}

type partitionRef struct {
	topic     topicID
	partition int32
}

// uniformAssign spreads every subscribed partition evenly over the members
// subscribed to it, keeping each partition where it was when that costs no
// balance, as Kafka's UniformAssignor aims to. It keeps a member's previous
// partitions, gives out the rest to the least-loaded eligible member, then
// moves partitions from members with two or more above an eligible member
// until none is left.
func uniformAssign(members []assignorMember) map[string]assignment {
	sort.Slice(members, func(i, j int) bool { return members[i].id < members[j].id })
	eligible := map[partitionRef][]int{} // member indexes, ascending
	var all []partitionRef
	for i, m := range members {
		for _, t := range m.topics {
			for p := int32(0); p < t.Partitions; p++ {
				ref := partitionRef{t.ID, p}
				if _, ok := eligible[ref]; !ok {
					all = append(all, ref)
				}
				eligible[ref] = append(eligible[ref], i)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].topic != all[j].topic {
			return string(all[i].topic[:]) < string(all[j].topic[:])
		}
		return all[i].partition < all[j].partition
	})
	owner := make(map[partitionRef]int, len(all))
	load := make([]int, len(members))
	canTake := func(i int, ref partitionRef) bool {
		for _, e := range eligible[ref] {
			if e == i {
				return true
			}
		}
		return false
	}
	// Quota for stickiness: no member keeps more than an even share of
	// what exists, so a joining member finds partitions to take.
	quota := len(all)/max(len(members), 1) + 1
	if len(members) > 0 && len(all)%len(members) == 0 {
		quota--
	}
	for i, m := range members {
		for _, t := range m.current.sortedTopics() {
			for _, p := range m.current[t] {
				ref := partitionRef{t, p}
				if _, taken := owner[ref]; taken || !canTake(i, ref) || load[i] >= quota {
					continue
				}
				owner[ref] = i
				load[i]++
			}
		}
	}
	for _, ref := range all {
		if _, ok := owner[ref]; ok {
			continue
		}
		best := -1
		for _, e := range eligible[ref] {
			if best < 0 || load[e] < load[best] {
				best = e
			}
		}
		owner[ref] = best
		load[best]++
	}
	// Balance: bounded, each move lowers the sum of squared loads.
	for moves := 0; moves < len(all)*len(members)+1; moves++ {
		moved := false
		for _, ref := range all {
			from := owner[ref]
			for _, e := range eligible[ref] {
				if load[e]+1 < load[from] {
					owner[ref] = e
					load[from]--
					load[e]++
					moved = true
					break
				}
			}
		}
		if !moved {
			break
		}
	}
	return collect(members, all, owner)
}

func collect(members []assignorMember, all []partitionRef, owner map[partitionRef]int) map[string]assignment {
	out := make(map[string]assignment, len(members))
	for _, m := range members {
		out[m.id] = assignment{}
	}
	for _, ref := range all {
		a := out[members[owner[ref]].id]
		a[ref.topic] = append(a[ref.topic], ref.partition)
	}
	return out
}

// rangeAssign gives each member contiguous ranges of every topic it
// subscribes to, as Kafka's RangeAssignor: the members subscribed to a
// topic, in member id order, take partitions/members each, the first
// partitions%members one more. Co-partitioned topics line up.
func rangeAssign(members []assignorMember) map[string]assignment {
	sort.Slice(members, func(i, j int) bool { return members[i].id < members[j].id })
	out := make(map[string]assignment, len(members))
	subscribers := map[topicID][]string{}
	infos := map[topicID]TopicInfo{}
	for _, m := range members {
		out[m.id] = assignment{}
		for _, t := range m.topics {
			subscribers[t.ID] = append(subscribers[t.ID], m.id)
			infos[t.ID] = t
		}
	}
	for id, subs := range subscribers {
		n := int32(len(subs))
		per, extra := infos[id].Partitions/n, infos[id].Partitions%n
		start := int32(0)
		for i, mid := range subs {
			count := per
			if int32(i) < extra {
				count++
			}
			for p := start; p < start+count; p++ {
				out[mid][id] = append(out[mid][id], p)
			}
			start += count
		}
	}
	for _, a := range out {
		for t, ps := range a {
			if len(ps) == 0 {
				delete(a, t)
			}
		}
	}
	return out
}
