package workergroup

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// group simulates workers that obey the assignor: each round every member
// reports what it runs, drops what is revoked and starts what is assigned.
// The leader stays the same, so its last completed generation is always
// the previous round's.
type group struct {
	t          *testing.T
	now        time.Time
	maxDelay   time.Duration
	generation int32
	state      LeaderState
	configured map[string]int
	owned      map[string]work
	last       AssignResult
}

func newGroup(t *testing.T, configured map[string]int, members ...string) *group {
	g := &group{t: t, now: epoch, maxDelay: 10 * time.Second, configured: configured, owned: map[string]work{}}
	for _, m := range members {
		g.owned[m] = newWork()
	}
	return g
}

func (g *group) join(m string)  { g.owned[m] = newWork() }
func (g *group) leave(m string) { delete(g.owned, m) }

// rebalance runs one round and applies it, checking on the way that
// nothing is started while another member still runs it.
func (g *group) rebalance() AssignResult {
	g.t.Helper()
	in := AssignInput{Now: g.now, MaxDelay: g.maxDelay, Generation: g.generation + 1,
		LastCompletedGeneration: g.generation, Members: map[string]ConnectorsAndTasks{}, Configured: g.configured}
	for m, w := range g.owned {
		in.Members[m] = w.public()
	}
	res := Assign(g.state, in)
	g.generation++
	g.state = res.State
	for m := range g.owned {
		g.owned[m].removeAll(workOf(res.Revoked[m]))
	}
	for m := range g.owned {
		started := workOf(res.Assigned[m])
		for other, w := range g.owned {
			if other != m && w.overlaps(started) {
				g.t.Fatalf("round %d: %s starts %v while %s runs %v", g.generation, m, res.Assigned[m], other, w.public())
			}
		}
		g.owned[m].addAll(started)
		if !reflect.DeepEqual(g.owned[m].public(), res.Allocation[m]) {
			g.t.Fatalf("round %d: %s runs %v, allocation says %v", g.generation, m, g.owned[m].public(), res.Allocation[m])
		}
	}
	g.last = res
	return res
}

// settle rebalances until a round changes nothing, letting the clock
// run through every delay, as members rejoining after revocations and
// delays would; it returns the number of rounds.
func (g *group) settle() int {
	g.t.Helper()
	for rounds := 1; rounds <= 20; rounds++ {
		res := g.rebalance()
		if res.Delay > 0 {
			g.now = g.now.Add(res.Delay)
			continue
		}
		if quiet(res) {
			return rounds
		}
	}
	g.t.Fatalf("no convergence in 20 rounds: %v", g.describe())
	return 0
}

func quiet(res AssignResult) bool {
	for m := range res.Assigned {
		if !res.Assigned[m].IsEmpty() || !res.Revoked[m].IsEmpty() {
			return false
		}
	}
	return res.Delay == 0
}

func (g *group) describe() string {
	out := ""
	for _, m := range slices.Sorted(maps.Keys(g.owned)) {
		out += fmt.Sprintf("\n  %s: %v", m, g.owned[m].public())
	}
	return out
}

// checkBalanced checks the converged invariants: every configured
// connector and task runs on exactly one member, nothing else runs, and
// the members' counts of connectors, and of tasks, differ by at most one.
func (g *group) checkBalanced() {
	g.t.Helper()
	all := newWork()
	for _, w := range g.owned {
		if w.overlaps(all) {
			g.t.Fatalf("work runs twice: %v", g.describe())
		}
		all.addAll(w)
	}
	if want := configuredWork(g.configured); !reflect.DeepEqual(all.public(), want.public()) {
		g.t.Fatalf("running %v, configured %v", all.public(), want.public())
	}
	spread := func(count func(work) int) int {
		lo, hi := 1<<30, -1
		for _, w := range g.owned {
			lo, hi = min(lo, count(w)), max(hi, count(w))
		}
		return hi - lo
	}
	if s := spread(func(w work) int { return len(w.connectors) }); s > 1 {
		g.t.Fatalf("connectors unbalanced by %d: %v", s, g.describe())
	}
	if s := spread(func(w work) int { return len(w.tasks) }); s > 1 {
		g.t.Fatalf("tasks unbalanced by %d: %v", s, g.describe())
	}
}

func countOf(m map[string]ConnectorsAndTasks) (connectors, tasks int) {
	for _, w := range m {
		connectors += len(w.Connectors)
		tasks += len(w.Tasks)
	}
	return connectors, tasks
}

func threeByFour() map[string]int { return map[string]int{"a": 4, "b": 4, "c": 4} }

func TestAssignFreshGroup(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	res := g.rebalance()
	if c, tasks := countOf(res.Revoked); c+tasks != 0 || res.Delay != 0 {
		t.Fatalf("first round revoked %v, delay %v", res.Revoked, res.Delay)
	}
	for m, w := range res.Assigned {
		if len(w.Connectors) != 1 || len(w.Tasks) != 4 {
			t.Fatalf("%s got %v", m, w)
		}
	}
	g.checkBalanced()
	if res := g.rebalance(); !quiet(res) {
		t.Fatalf("a round with nothing changed moved work: %+v", res)
	}
}

// TestAssignNewWorkerRevokesThenAssigns: a worker joining a balanced
// group gets its share in two rounds, the first revoking only the excess,
// the second (the revoking workers' rejoin) assigning it.
func TestAssignNewWorkerRevokesThenAssigns(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2")
	g.settle()
	g.join("w3")
	first := g.rebalance()
	connectors, tasks := countOf(first.Revoked)
	if connectors != 1 || tasks != 4 {
		t.Fatalf("revoked %d connectors and %d tasks, want just w3's share 1 and 4: %v", connectors, tasks, first.Revoked)
	}
	if c, tk := countOf(first.Assigned); c+tk != 0 {
		t.Fatalf("revoking round also assigned %v", first.Assigned)
	}
	second := g.rebalance()
	if got := second.Assigned["w3"]; len(got.Connectors) != 1 || len(got.Tasks) != 4 {
		t.Fatalf("follow-up round gave w3 %v", got)
	}
	g.checkBalanced()
	if res := g.rebalance(); !quiet(res) {
		t.Fatalf("settled group moved work: %+v", res)
	}
}

// TestAssignHoldsLostWorkUntilTheDelay: the work of a worker that left is
// unassigned until MaxDelay after the leader first missed it, rounds in
// between announcing the time left, and then goes to the remaining
// workers.
func TestAssignHoldsLostWorkUntilTheDelay(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	g.settle()
	gone := g.owned["w3"].clone()
	g.leave("w3")
	res := g.rebalance()
	if res.Delay != g.maxDelay || !quiet(AssignResult{Assigned: res.Assigned, Revoked: res.Revoked}) {
		t.Fatalf("first round after the departure: delay %v, assigned %v, revoked %v", res.Delay, res.Assigned, res.Revoked)
	}
	g.now = g.now.Add(4 * time.Second)
	if res := g.rebalance(); res.Delay != 6*time.Second {
		t.Fatalf("a round 4s in announces %v, want the 6s left", res.Delay)
	}
	g.now = g.now.Add(6 * time.Second)
	res = g.rebalance()
	got := newWork()
	for _, w := range res.Assigned {
		got.addAll(workOf(w))
	}
	if !reflect.DeepEqual(got.public(), gone.public()) || res.Delay != 0 {
		t.Fatalf("at the deadline assigned %v (delay %v), want w3's %v", got.public(), res.Delay, gone.public())
	}
	g.settle()
	g.checkBalanced()
}

// TestAssignReturningWorkerGetsItsWorkBack: a worker that comes back
// (with a new member id and nothing running) before the delay ends gets
// the held-back work, and the others keep theirs.
func TestAssignReturningWorkerGetsItsWorkBack(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	g.settle()
	gone := g.owned["w3"].clone()
	kept := map[string]ConnectorsAndTasks{"w1": g.owned["w1"].public(), "w2": g.owned["w2"].public()}
	g.leave("w3")
	g.rebalance()
	g.now = g.now.Add(3 * time.Second)
	g.join("w3-again")
	if res := g.rebalance(); res.Delay != 7*time.Second || !res.Assigned["w3-again"].IsEmpty() {
		t.Fatalf("return within the delay: delay %v, assigned %v", res.Delay, res.Assigned)
	}
	g.now = g.now.Add(7 * time.Second)
	g.rebalance()
	if !reflect.DeepEqual(g.owned["w3-again"].public(), gone.public()) {
		t.Fatalf("returning worker runs %v, want %v", g.owned["w3-again"].public(), gone.public())
	}
	for m, w := range kept {
		if !reflect.DeepEqual(g.owned[m].public(), w) {
			t.Fatalf("%s runs %v, had %v", m, g.owned[m].public(), w)
		}
	}
	g.checkBalanced()
}

func TestAssignReassignsAtOnce(t *testing.T) {
	t.Run("no delay configured", func(t *testing.T) {
		g := newGroup(t, threeByFour(), "w1", "w2", "w3")
		g.maxDelay = 0
		g.settle()
		g.leave("w2")
		if res := g.rebalance(); res.Delay != 0 {
			t.Fatalf("delay %v with scheduled.rebalance.max.delay.ms=0", res.Delay)
		}
		g.checkBalanced()
	})
	t.Run("work missing but no member missing", func(t *testing.T) {
		g := newGroup(t, threeByFour(), "w1", "w2", "w3")
		g.settle()
		g.owned["w2"] = newWork() // w2 never got its assignment
		if res := g.rebalance(); res.Delay != 0 {
			t.Fatalf("delay %v", res.Delay)
		}
		g.settle()
		g.checkBalanced()
	})
	t.Run("new leader", func(t *testing.T) {
		g := newGroup(t, threeByFour(), "w1", "w2", "w3")
		g.settle()
		g.leave("w3")
		g.state = LeaderState{} // the leader left; its successor knows nothing
		if res := g.rebalance(); res.Delay != 0 {
			t.Fatalf("delay %v: a new leader cannot tell lost work from new", res.Delay)
		}
		g.checkBalanced()
	})
}

func TestAssignConfigChanges(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	g.settle()
	g.configured = map[string]int{"a": 2, "b": 4, "d": 5} // c deleted, a shrunk, d created
	res := g.rebalance()
	revoked := newWork()
	for _, w := range res.Revoked {
		revoked.addAll(workOf(w))
	}
	for _, want := range []TaskID{{"a", 2}, {"a", 3}, {"c", 0}, {"c", 3}} {
		if !revoked.tasks[want] {
			t.Fatalf("%v not revoked: %v", want, revoked.public())
		}
	}
	if !revoked.connectors["c"] || revoked.connectors["a"] {
		t.Fatalf("revoked connectors %v, want c only", revoked.sortedConnectors())
	}
	g.settle()
	g.checkBalanced()
}

// TestAssignRevokesUnconfiguredWorkEvenFromANewLeader: running work
// that the config does not know is revoked though the leader's memory
// is empty (Kafka would leave it running).
func TestAssignRevokesUnconfiguredWorkEvenFromANewLeader(t *testing.T) {
	g := newGroup(t, map[string]int{"a": 1}, "w1")
	g.owned["w1"] = workOf(ConnectorsAndTasks{Connectors: []string{"a", "gone"}, Tasks: []TaskID{{"a", 0}, {"gone", 0}}})
	res := g.rebalance()
	want := ConnectorsAndTasks{Connectors: []string{"gone"}, Tasks: []TaskID{{"gone", 0}}}
	if !reflect.DeepEqual(res.Revoked["w1"], want) {
		t.Fatalf("revoked %v, want %v", res.Revoked["w1"], want)
	}
}

// TestAssignDuplicatesAreRevokedFromAll: work two members report is
// revoked from both, then assigned to one.
func TestAssignDuplicatesAreRevokedFromAll(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	g.settle()
	dup := TaskID{"a", 0}
	holder := ""
	for m, w := range g.owned {
		if w.tasks[dup] {
			holder = m
		}
	}
	other := "w1"
	if holder == "w1" {
		other = "w2"
	}
	g.owned[other].tasks[dup] = true
	res := g.rebalance()
	if !slices.Contains(res.Revoked[holder].Tasks, dup) || !slices.Contains(res.Revoked[other].Tasks, dup) {
		t.Fatalf("duplicate %v revoked as %v", dup, res.Revoked)
	}
	g.settle()
	g.checkBalanced()
}

// TestAssignBacksOffSuccessiveRevokingRounds: a revoking round right
// after another waits Kafka's backoff (40 ms first) before revoking.
func TestAssignBacksOffSuccessiveRevokingRounds(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1")
	g.settle()
	g.join("w2")
	if res := g.rebalance(); len(res.Revoked["w1"].Tasks) == 0 {
		t.Fatalf("no revocation for w2: %v", res.Revoked)
	}
	g.join("w3") // joins before the follow-up round
	res := g.rebalance()
	if res.Delay != 40*time.Millisecond {
		t.Fatalf("second revoking round in a row: delay %v, want 40ms", res.Delay)
	}
	if c, tasks := countOf(res.Revoked); c+tasks != 0 {
		t.Fatalf("revoked %v during the backoff", res.Revoked)
	}
	g.settle()
	g.checkBalanced()
}

func TestRevokingBackoff(t *testing.T) {
	for _, c := range []struct {
		attempts  int
		max, want time.Duration
	}{
		{1, 5 * time.Minute, 40 * time.Millisecond},
		{2, 5 * time.Minute, 1600 * time.Millisecond},
		{3, 5 * time.Minute, 64 * time.Second},
		{4, 5 * time.Minute, 5 * time.Minute},
		{1, 0, 0},
		{3, time.Millisecond, time.Millisecond},
		{1, 10 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := revokingBackoff(c.attempts, c.max); got != c.want {
			t.Errorf("backoff(%d, max %v) = %v, want %v", c.attempts, c.max, got, c.want)
		}
	}
}

// TestAssignIgnoresStaleMemory: a leader whose last completed generation
// is not the one its memory was computed for drops that memory.
func TestAssignIgnoresStaleMemory(t *testing.T) {
	g := newGroup(t, threeByFour(), "w1", "w2", "w3")
	g.settle()
	g.leave("w3")
	g.generation += 5 // the leader missed rounds
	if res := g.rebalance(); res.Delay != 0 {
		t.Fatalf("stale memory made w3's work lost: delay %v", res.Delay)
	}
	g.checkBalanced()
}

func TestAssignEager(t *testing.T) {
	got := AssignEager([]string{"w2", "w1"}, map[string]int{"b": 1, "a": 2})
	want := map[string]ConnectorsAndTasks{
		"w1": {Connectors: []string{"a"}, Tasks: []TaskID{{"a", 0}, {"b", 0}}},
		"w2": {Connectors: []string{"b"}, Tasks: []TaskID{{"a", 1}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("eager: %v, want %v", got, want)
	}
}

func TestAssignWithoutMembers(t *testing.T) {
	res := Assign(LeaderState{}, AssignInput{Now: epoch, Configured: map[string]int{"a": 3}})
	if len(res.Assigned)+len(res.Revoked)+len(res.Allocation) != 0 || !res.State.Previous.IsEmpty() {
		t.Fatalf("no members: %+v", res)
	}
}
