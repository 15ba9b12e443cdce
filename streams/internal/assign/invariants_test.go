package assign

import (
	"fmt"
	"math"
	"slices"
)

// checkInvariants checks the named invariants of an assignment:
//
//   - active-once: every task is active on exactly one client and one of
//     its members;
//   - one-copy-per-client: no client holds a task twice (active, standby,
//     warm-up);
//   - standby-count: each stateful task has min(num.standby.replicas,
//     clients-1) standbys, warm-ups not counted; stateless tasks none;
//   - warmup-budget: at most max.warmup.replicas warm-ups, and any
//     warm-up comes with a probing rebalance;
//   - members-partition: the members' lists partition the client's;
//   - threads-even: within a client, stateful actives and all actives per
//     thread each differ by at most one;
//   - caught-up-first: a stateful task runs on a client that is not caught
//     up only if no client is more caught up;
//   - balanced-unless-probing: without a probing rebalance (no task runs
//     away from balance), active tasks per thread differ by at most one
//     across the whole group.
func checkInvariants(in Input, res Result) error {
	if len(res.Clients) != len(in.Clients) {
		return fmt.Errorf("result has %d clients, input %d", len(res.Clients), len(in.Clients))
	}
	stateful := map[TaskID]bool{}
	for _, t := range in.Tasks {
		stateful[t.ID] = t.Stateful
	}
	activeOn := map[TaskID]string{}
	standbys := map[TaskID]int{}
	warmups := 0
	for _, c := range in.Clients {
		got := res.Clients[c.ProcessID]
		held := map[TaskID]bool{}
		for _, list := range [][]TaskID{got.Active, got.Standby, got.Warmup} {
			for _, t := range list {
				if held[t] {
					return fmt.Errorf("one-copy-per-client: %s holds %s twice", c.ProcessID, t)
				}
				held[t] = true
			}
		}
		for _, t := range got.Active {
			if other, ok := activeOn[t]; ok {
				return fmt.Errorf("active-once: %s active on %s and %s", t, other, c.ProcessID)
			}
			activeOn[t] = c.ProcessID
		}
		for _, t := range append(slices.Clone(got.Standby), got.Warmup...) {
			if !stateful[t] {
				return fmt.Errorf("standby-count: stateless %s has a copy on %s", t, c.ProcessID)
			}
		}
		for _, t := range got.Standby {
			standbys[t]++
		}
		warmups += len(got.Warmup)
		if err := checkMembers(c, got, stateful); err != nil {
			return err
		}
	}
	if len(activeOn) != len(in.Tasks) {
		return fmt.Errorf("active-once: %d of %d tasks active", len(activeOn), len(in.Tasks))
	}
	want := min(in.Config.NumStandbyReplicas, len(in.Clients)-1)
	for t, s := range stateful {
		if n := standbys[t]; s && n != want {
			return fmt.Errorf("standby-count: %s has %d standbys, want %d", t, n, want)
		}
	}
	if warmups > in.Config.MaxWarmupReplicas || warmups > 0 && !res.ProbingRebalance {
		return fmt.Errorf("warmup-budget: %d warm-ups, budget %d, probing %v", warmups, in.Config.MaxWarmupReplicas, res.ProbingRebalance)
	}
	if low, high := threadLoads(res); !res.ProbingRebalance && high-low > 1 {
		return fmt.Errorf("balanced-unless-probing: active tasks per thread range over [%d, %d]", low, high)
	}
	return checkCaughtUpFirst(in, activeOn)
}

// threadLoads returns the fewest and most active tasks of any member.
func threadLoads(res Result) (low, high int) {
	low = math.MaxInt
	for _, c := range res.Clients {
		for _, m := range c.Members {
			low, high = min(low, len(m.Active)), max(high, len(m.Active))
		}
	}
	return low, high
}

// checkMembers checks members-partition and threads-even for one client.
func checkMembers(c Client, got ClientTasks, stateful map[TaskID]bool) error {
	if len(got.Members) != len(c.Members) {
		return fmt.Errorf("members-partition: %s has %d members in the result, %d in the input", c.ProcessID, len(got.Members), len(c.Members))
	}
	var active, standby, warmup []TaskID
	lowAll, highAll, lowStateful, highStateful := len(got.Active)+1, -1, len(got.Active)+1, -1
	for _, m := range c.Members {
		mt, ok := got.Members[m.ID]
		if !ok {
			return fmt.Errorf("members-partition: member %s missing", m.ID)
		}
		active, standby, warmup = append(active, mt.Active...), append(standby, mt.Standby...), append(warmup, mt.Warmup...)
		n := 0
		for _, t := range mt.Active {
			if stateful[t] {
				n++
			}
		}
		lowAll, highAll = min(lowAll, len(mt.Active)), max(highAll, len(mt.Active))
		lowStateful, highStateful = min(lowStateful, n), max(highStateful, n)
	}
	for _, pair := range [][2][]TaskID{{active, got.Active}, {standby, got.Standby}, {warmup, got.Warmup}} {
		if !slices.Equal(sortedTasks(pair[0]), pair[1]) {
			return fmt.Errorf("members-partition: %s: members hold %v, client %v", c.ProcessID, sortedTasks(pair[0]), pair[1])
		}
	}
	if highAll-lowAll > 1 || highStateful-lowStateful > 1 {
		return fmt.Errorf("threads-even: %s: actives per thread in [%d, %d], stateful in [%d, %d]",
			c.ProcessID, lowAll, highAll, lowStateful, highStateful)
	}
	return nil
}

// checkCaughtUpFirst recomputes lags from the input, independently of the
// planner, and checks caught-up-first.
func checkCaughtUpFirst(in Input, activeOn map[TaskID]string) error {
	lag := func(c Client, t TaskID) int64 {
		end := in.EndOffsetSums[t]
		sum, ok := c.TaskOffsetSums[t]
		switch {
		case !ok || sum > end:
			return end
		case sum == LatestOffset:
			return -2
		}
		return end - sum
	}
	for _, task := range in.Tasks {
		if !task.Stateful {
			continue
		}
		var owner Client
		for _, c := range in.Clients {
			if c.ProcessID == activeOn[task.ID] {
				owner = c
			}
		}
		ownerLag := lag(owner, task.ID)
		if ownerLag == -2 || ownerLag <= in.Config.AcceptableRecoveryLag {
			continue
		}
		for _, c := range in.Clients {
			if l := lag(c, task.ID); l < ownerLag {
				return fmt.Errorf("caught-up-first: %s runs on %s at lag %d, %s is at lag %d",
					task.ID, owner.ProcessID, ownerLag, c.ProcessID, l)
			}
		}
	}
	return nil
}
