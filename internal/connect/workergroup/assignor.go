package workergroup

import (
	"maps"
	"slices"
	"time"
)

// LeaderState is what the incremental cooperative assignor remembers from
// one round to the next; Kafka keeps it in the leader's
// IncrementalCooperativeAssignor. A worker that becomes leader starts from
// the zero value, so a new leader knows no previous assignment: work it
// cannot see running is then treated as new, not as lost.
type LeaderState struct {
	// Generation is the generation the state was computed for. When it is
	// not the leader's last completed generation (the leader missed a
	// round), Previous is stale and is dropped.
	Generation int32
	// Previous is every connector and task assigned after the last round,
	// including lost work held back for a departed worker.
	Previous ConnectorsAndTasks
	// PreviousRevocation is what the last round revoked: if a worker
	// still reports any of it, the revocation did not take effect.
	PreviousRevocation ConnectorsAndTasks
	// PreviousMembers are the member ids of the last round.
	PreviousMembers []string
	// RevokedInPrevious records that the last round revoked work to
	// balance the load; SuccessiveRevokingRebalances counts such rounds in
	// a row, which back off exponentially up to the maximum delay.
	RevokedInPrevious            bool
	SuccessiveRevokingRebalances int
	// ScheduledRebalance, when not zero, is when held-back work is
	// reassigned (or revocations resume); Delay is the wait announced to
	// the workers for it.
	ScheduledRebalance time.Time
	Delay              time.Duration
}

// AssignInput is one round of assignment as the leader sees it.
type AssignInput struct {
	Now time.Time
	// MaxDelay is scheduled.rebalance.max.delay.ms: how long the work of a
	// departed worker is held back for it to come back.
	MaxDelay time.Duration
	// Generation is the generation being assigned; LastCompletedGeneration
	// is the last one the leader itself completed.
	Generation, LastCompletedGeneration int32
	// Members maps each member id to what it runs (its metadata's
	// allocation), for every member of the generation.
	Members map[string]ConnectorsAndTasks
	// Configured maps each connector of the config snapshot to its number
	// of tasks.
	Configured map[string]int
}

// AssignResult is one round's decision. Every member has an entry in each
// map, possibly empty.
type AssignResult struct {
	// Assigned is, per member, what it is to start this round.
	Assigned map[string]ConnectorsAndTasks
	// Revoked is, per member, what it is to stop before rejoining.
	Revoked map[string]ConnectorsAndTasks
	// Allocation is, per member, everything it runs once this round's
	// revocations and assignments are done: the leader's map of owners.
	Allocation map[string]ConnectorsAndTasks
	// Delay, when positive, asks every member to rejoin after it.
	Delay time.Duration
	// State is the memory to pass to the next round.
	State LeaderState
}

// round is one assignment's working state; its methods follow the steps
// of Kafka's IncrementalCooperativeAssignor.performTaskAssignment.
type round struct {
	in       AssignInput
	state    LeaderState
	members  []string        // sorted
	owned    map[string]work // what each member reports running
	next     map[string]work // what each member will run
	toRevoke map[string]work
}

// Assign is the incremental cooperative assignor (KIP-415), a pure
// function of the leader's memory and one round's input. Work keeps its
// worker unless it must move: deleted connectors and tasks, and those
// that several workers report, are revoked; new work goes to the least
// loaded workers; when a worker is over its fair share of connectors or of
// tasks (counted apart), the excess is revoked this round and assigned in
// the follow-up round that the revoking worker's rejoin starts. Work of a
// worker that left is held back until MaxDelay after its departure was
// first seen, with Delay telling the members when to rejoin; a worker that
// comes back empty before then is the least loaded and so takes it back.
//
// It differs from Kafka in three ways, each written where it happens:
// work a worker runs that is not configured is revoked even when the
// leader's memory does not know it; lost work is placed on the least
// loaded workers rather than round-robin over the workers that were
// empty during the delay (the same workers, in the usual case); and ties
// are broken by member id, so that the result is deterministic.
func Assign(state LeaderState, in AssignInput) AssignResult {
	r := &round{in: in, state: state, owned: map[string]work{}, next: map[string]work{}, toRevoke: map[string]work{}}
	r.members = slices.Sorted(maps.Keys(in.Members))
	active := newWork()
	for _, m := range r.members {
		r.owned[m] = workOf(in.Members[m])
		r.next[m] = r.owned[m].clone()
		r.toRevoke[m] = newWork()
		active.addAll(r.owned[m])
	}
	previous := workOf(state.Previous)
	if state.Generation != in.LastCompletedGeneration {
		previous = newWork()
	}
	if revoked := workOf(state.PreviousRevocation); revoked.overlaps(active) {
		// A revocation of the last round did not take effect: what runs
		// is the truth to start from.
		previous = active.clone()
	}
	configured := configuredWork(in.Configured)
	// Kafka derives deleted work from its memory alone, so a new leader
	// would never revoke a connector deleted before it took over; fjord
	// also revokes running work that is not configured.
	deleted := previous.minus(configured)
	deleted.addAll(active.minus(configured))
	lost := previous.minus(active, deleted)
	created := configured.minus(previous, active)

	if len(r.members) == 0 {
		// No one to assign to (a leader is always a member; this is for
		// callers of the exported function).
		return r.result(lost)
	}
	r.revokeFromHolders(deleted)
	r.revokeFromHolders(duplicated(r.members, r.owned))
	toAssign := created
	toAssign.addAll(r.handleLost(lost))
	r.balance(configured)
	r.assignConnectors(toAssign.sortedConnectors())
	r.assignTasks(toAssign.sortedTasks())
	return r.result(lost)
}

// configuredWork expands connector -> task count into the set of
// connectors and tasks.
func configuredWork(configured map[string]int) work {
	out := newWork()
	for name, count := range configured {
		out.connectors[name] = true
		for i := range max(count, 0) {
			out.tasks[TaskID{Connector: name, Task: int32(i)}] = true
		}
	}
	return out
}

// duplicated is the work that more than one member reports running.
func duplicated(members []string, owned map[string]work) work {
	seen, out := newWork(), newWork()
	for _, m := range members {
		out.addAll(owned[m].intersect(seen))
		seen.addAll(owned[m])
	}
	return out
}

// revokeFromHolders revokes what from every member that runs any of it.
func (r *round) revokeFromHolders(what work) {
	for _, m := range r.members {
		held := r.owned[m].intersect(what)
		r.toRevoke[m].addAll(held)
		r.next[m].removeAll(held)
	}
}

// handleLost decides what to do with work that was assigned last round
// and that no member reports now, returning what to reassign in this
// round (Kafka's handleLostAssignments).
func (r *round) handleLost(lost work) work {
	s := &r.state
	if lost.isEmpty() && !s.RevokedInPrevious {
		s.resetDelay()
		return newWork()
	}
	now := r.in.Now
	allBack := true
	for _, m := range s.PreviousMembers {
		if _, ok := r.in.Members[m]; !ok {
			allBack = false
		}
	}
	switch {
	case s.ScheduledRebalance.IsZero() && allBack:
		// No worker left: the work went missing because a worker did not
		// get the last assignment. Reassign it now.
		return lost
	case r.in.MaxDelay <= 0:
		return lost
	case !s.ScheduledRebalance.IsZero() && !now.Before(s.ScheduledRebalance):
		// The delay is over: whoever left did not come back in time.
		s.resetDelay()
		s.RevokedInPrevious = false
		return lost
	case s.ScheduledRebalance.IsZero():
		s.Delay = r.in.MaxDelay
	default:
		s.Delay = min(s.ScheduledRebalance.Sub(now), r.in.MaxDelay)
	}
	s.ScheduledRebalance = now.Add(s.Delay)
	return newWork()
}

func (s *LeaderState) resetDelay() {
	s.ScheduledRebalance = time.Time{}
	s.Delay = 0
}

// balance revokes load-balancing excess, unless a delayed rebalance is in
// progress, backing off when rounds keep revoking (Kafka lets the first
// revoking round through, then waits 40 ms, 1.6 s, 64 s... capped at the
// maximum delay before each further one).
func (r *round) balance(configured work) {
	s := &r.state
	if s.Delay != 0 {
		s.RevokedInPrevious = false
		return
	}
	revocations := r.loadBalancingRevocations(configured)
	switch {
	case len(revocations) > 0 && s.RevokedInPrevious:
		s.SuccessiveRevokingRebalances++
		s.Delay = revokingBackoff(s.SuccessiveRevokingRebalances, r.in.MaxDelay)
		if s.Delay != 0 {
			s.ScheduledRebalance = r.in.Now.Add(s.Delay)
			return
		}
		r.applyRevocations(revocations)
	case len(revocations) > 0:
		r.applyRevocations(revocations)
		s.RevokedInPrevious = true
	case s.RevokedInPrevious:
		// Balanced after a revoking round: start the backoff afresh.
		s.RevokedInPrevious = false
		s.SuccessiveRevokingRebalances = 0
	}
}

func (r *round) applyRevocations(revocations map[string]work) {
	for m, w := range revocations {
		r.toRevoke[m].addAll(w)
		r.next[m].removeAll(w)
	}
}

// result builds the round's answer and the memory for the next one.
func (r *round) result(lost work) AssignResult {
	out := AssignResult{
		Assigned:   map[string]ConnectorsAndTasks{},
		Revoked:    map[string]ConnectorsAndTasks{},
		Allocation: map[string]ConnectorsAndTasks{},
		Delay:      r.state.Delay,
	}
	previous, revoked := newWork(), newWork()
	for _, m := range r.members {
		out.Assigned[m] = r.next[m].minus(r.owned[m]).public()
		out.Revoked[m] = r.toRevoke[m].public()
		out.Allocation[m] = r.next[m].public()
		previous.addAll(r.next[m])
		revoked.addAll(r.toRevoke[m])
	}
	// Held-back work stays in memory so that it is still lost, not new,
	// in the next round.
	previous.addAll(lost)
	previous.removeAll(revoked)
	out.State = r.state
	out.State.Generation = r.in.Generation
	out.State.Previous = previous.public()
	out.State.PreviousRevocation = revoked.public()
	out.State.PreviousMembers = r.members
	return out
}
