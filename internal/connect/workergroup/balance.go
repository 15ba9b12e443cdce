package workergroup

import (
	"math"
	"slices"
	"time"
)

// loadBalancingRevocations says what to revoke from each member so that
// none runs more connectors, or more tasks, than its fair share of the
// configured total (Kafka's performLoadBalancingRevocations). Nothing is
// revoked while every member is empty (all are new: plain assignment
// balances them) or nothing is configured.
func (r *round) loadBalancingRevocations(configured work) map[string]work {
	allEmpty := true
	for _, m := range r.members {
		allEmpty = allEmpty && r.next[m].isEmpty()
	}
	if allEmpty || configured.isEmpty() {
		return nil
	}
	out := map[string]work{}
	get := func(m string) work {
		if _, ok := out[m]; !ok {
			out[m] = newWork()
		}
		return out[m]
	}
	connectorExcess := excess(r.members, len(configured.connectors), func(m string) int { return len(r.next[m].connectors) })
	for m, n := range connectorExcess {
		// Revoke from the end of the sorted list, so that which work moves
		// does not depend on map order.
		names := r.next[m].sortedConnectors()
		for _, c := range names[len(names)-n:] {
			get(m).connectors[c] = true
		}
	}
	taskExcess := excess(r.members, len(configured.tasks), func(m string) int { return len(r.next[m].tasks) })
	for m, n := range taskExcess {
		tasks := r.next[m].sortedTasks()
		for _, t := range tasks[len(tasks)-n:] {
			get(m).tasks[t] = true
		}
	}
	return out
}

// excess computes, for one kind of work, how many each member must give
// up: with total spread over the members, each is allowed total/n, and
// total%n of them one more. Members over the floor take those extra
// places first, in member order, as Kafka gives them out; nothing moves
// when the counts already fit.
func excess(members []string, total int, count func(string) int) map[string]int {
	n := len(members)
	if n == 0 {
		return nil
	}
	floor, extras := total/n, total%n
	atFloor, atCeiling := 0, 0
	for _, m := range members {
		switch count(m) {
		case floor:
			atFloor++
		case floor + 1:
			atCeiling++
		}
	}
	if atCeiling == extras && atFloor+atCeiling == n {
		return nil
	}
	out := map[string]int{}
	granted := 0
	for _, m := range members {
		c := count(m)
		if c <= floor {
			continue
		}
		limit := floor
		if granted < extras {
			granted++
			limit = floor + 1
		}
		if c > limit {
			out[m] = c - limit
		}
	}
	return out
}

// assignConnectors gives each connector, in order, to the member running
// the fewest connectors, ties to the lowest member id. Kafka fills its
// least loaded workers round-robin, which gives the same counts.
func (r *round) assignConnectors(connectors []string) {
	for _, c := range connectors {
		m := r.leastLoaded(func(w work) int { return len(w.connectors) })
		r.next[m].connectors[c] = true
	}
}

// assignTasks does for tasks what assignConnectors does for connectors.
func (r *round) assignTasks(tasks []TaskID) {
	for _, t := range tasks {
		m := r.leastLoaded(func(w work) int { return len(w.tasks) })
		r.next[m].tasks[t] = true
	}
}

func (r *round) leastLoaded(load func(work) int) string {
	best := r.members[0]
	for _, m := range r.members[1:] {
		if load(r.next[m]) < load(r.next[best]) {
			best = m
		}
	}
	return best
}

// revokingBackoff is Kafka's ExponentialBackoff(1 ms, x40, maxDelay, no
// jitter) after attempts successive revoking rounds; zero when the maximum
// delay is zero.
func revokingBackoff(attempts int, maxDelay time.Duration) time.Duration {
	maxMs := maxDelay.Milliseconds()
	initialMs := min(int64(1), max(maxMs, 0))
	if maxMs <= initialMs {
		return time.Duration(initialMs) * time.Millisecond
	}
	expMax := math.Log(float64(maxMs)/float64(initialMs)) / math.Log(40)
	term := float64(initialMs) * math.Pow(40, math.Min(float64(attempts), expMax))
	return time.Duration(min(int64(term), maxMs)) * time.Millisecond
}

// AssignEager is the eager protocol's assignor (Kafka's EagerAssignor):
// every member gets its whole assignment anew, connectors then tasks
// dealt round-robin over the members sorted by id, one deal continuing
// from connectors into tasks.
func AssignEager(members []string, configured map[string]int) map[string]ConnectorsAndTasks {
	out := map[string]ConnectorsAndTasks{}
	sorted := slices.Sorted(slices.Values(members))
	for _, m := range sorted {
		out[m] = ConnectorsAndTasks{}
	}
	if len(sorted) == 0 {
		return out
	}
	all := configuredWork(configured)
	next := 0
	deal := func(give func(ConnectorsAndTasks) ConnectorsAndTasks) {
		m := sorted[next%len(sorted)]
		out[m] = give(out[m])
		next++
	}
	for _, c := range all.sortedConnectors() {
		deal(func(w ConnectorsAndTasks) ConnectorsAndTasks { w.Connectors = append(w.Connectors, c); return w })
	}
	for _, t := range all.sortedTasks() {
		deal(func(w ConnectorsAndTasks) ConnectorsAndTasks { w.Tasks = append(w.Tasks, t); return w })
	}
	return out
}
