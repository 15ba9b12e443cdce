package assign

import (
	"cmp"
	"slices"
)

// pair proposes client for task, ranked by class (lower is better), then
// lag, then task and client index for a total order.
type pair struct {
	class  int
	lag    int64
	task   int
	client int
}

func comparePairs(a, b pair) int {
	if c := cmp.Compare(a.class, b.class); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lag, b.lag); c != 0 {
		return c
	}
	if c := cmp.Compare(a.task, b.task); c != 0 {
		return c
	}
	return cmp.Compare(a.client, b.client)
}

// statePairs ranks, for every stateful task, the clients that hold state
// of it or ran it. Clients without state are left out: they are the
// fallback, reached by least-loaded placement, and leaving them out keeps
// the list as long as the offset sums reported rather than tasks×clients.
func (p *planner) statePairs(class func(c *client, t int) int) []pair {
	var pairs []pair
	for t, on := range p.stateOn {
		if !p.tasks[t].Stateful {
			continue
		}
		for _, ci := range on {
			c := p.clients[ci]
			pairs = append(pairs, pair{class: class(c, t), lag: p.lag(c, t), task: t, client: ci})
		}
	}
	slices.SortFunc(pairs, comparePairs)
	return pairs
}

// activeClass ranks a client for running a stateful task: where it ran
// and is caught up, then caught up (a standby or warm-up), then any state.
func (p *planner) activeClass(c *client, t int) int {
	switch caught := p.caughtUp(c, t); {
	case caught && p.ranRecently(c, t):
		return 0
	case caught:
		return 1
	default:
		return 2
	}
}

// assignStatefulActives places each stateful task where balance wants it,
// ignoring whether that client can run it now (moveActivesToCaughtUp
// fixes that). Balance is per thread: with q = tasks/threads, every client
// gets capacity×q tasks and tasks%threads clients' threads one more, so
// no two threads differ by more than one. Within that, a task goes first
// to where it ran, then to where its state is most caught up.
func (p *planner) assignStatefulActives() {
	tasks := p.taskIndices(true)
	if len(tasks) == 0 {
		return
	}
	share, extras := len(tasks)/p.threads, len(tasks)%p.threads
	pairs := p.statePairs(p.activeClass)
	for _, pr := range pairs { // up to the even share
		if c := p.clients[pr.client]; p.active[pr.task] < 0 && c.actives < c.capacity*share {
			p.setActive(pr.task, c)
		}
	}
	for _, pr := range pairs { // the remainder, at most one more a thread
		if c := p.clients[pr.client]; extras > 0 && p.active[pr.task] < 0 && c.actives < c.capacity*(share+1) {
			p.setActive(pr.task, c)
			extras--
		}
	}
	for _, t := range tasks { // tasks whose state is nowhere with room
		if p.active[t] < 0 {
			p.setActive(t, p.leastLoaded(t, -1))
		}
	}
}

// leastLoaded returns the client whose least-loaded thread runs the fewest
// active tasks, so that placing t there keeps threads within one task of
// each other. Ties go to prefer (a client index, or -1), then to the
// client most caught up on t, then the lower load per thread, then the
// lower process id.
func (p *planner) leastLoaded(t, prefer int) *client {
	var best *client
	for _, c := range p.clients {
		if best == nil || p.betterForActive(c, best, t, prefer) {
			best = c
		}
	}
	return best
}

func (p *planner) betterForActive(c, best *client, t, prefer int) bool {
	if a, b := c.actives/c.capacity, best.actives/best.capacity; a != b {
		return a < b
	}
	if (c.index == prefer) != (best.index == prefer) {
		return c.index == prefer
	}
	if p.tasks[t].Stateful {
		if a, b := p.lag(c, t), p.lag(best, t); a != b {
			return a < b
		}
	}
	if lessLoaded(c.actives, c.capacity, best.actives, best.capacity) {
		return true
	}
	if lessLoaded(best.actives, best.capacity, c.actives, c.capacity) {
		return false
	}
	return c.index < best.index
}

// move records that task t runs away from target, the client balance
// chose, because target is not caught up on it.
type move struct {
	task   int
	target int
}

// moveActivesToCaughtUp is KIP-441's rule: a stateful task placed on a
// client that is not caught up moves to one that is (or, if none is, to
// the most caught-up one), so that it is not down while its state
// restores. Each move is returned so that the target can warm up and take
// the task in a probing rebalance. Tasks with the fewest caught-up
// clients move first, as in Kafka, so they get the least-loaded of them.
func (p *planner) moveActivesToCaughtUp() []move {
	type pending struct{ task, caughtUp int }
	var todo []pending
	for t, task := range p.tasks {
		if !task.Stateful || p.caughtUp(p.clients[p.active[t]], t) {
			continue
		}
		caughtUp := 0
		for _, ci := range p.stateOn[t] {
			if p.caughtUp(p.clients[ci], t) {
				caughtUp++
			}
		}
		todo = append(todo, pending{task: t, caughtUp: caughtUp})
	}
	slices.SortStableFunc(todo, func(a, b pending) int { return cmp.Compare(a.caughtUp, b.caughtUp) })
	var moves []move
	for _, m := range todo {
		target := p.clients[p.active[m.task]]
		if source := p.moveSource(m.task, target); source != nil {
			p.setActive(m.task, source)
			moves = append(moves, move{task: m.task, target: target.index})
		}
	}
	p.probing = len(moves) > 0
	p.relieveOverloaded()
	return moves
}

// moveSource picks where t runs instead of target: the least-loaded
// caught-up client, the one that ran it winning ties (it runs on without
// restoring a record); failing any, the client most caught up, if it is
// ahead of target. Only clients with state can be caught up here: a
// client without state lags by the whole changelog, as target does.
func (p *planner) moveSource(t int, target *client) *client {
	var best *client
	for _, ci := range p.stateOn[t] {
		c := p.clients[ci]
		if c == target || !p.caughtUp(c, t) {
			continue
		}
		if best == nil || p.betterSource(c, best, t) {
			best = c
		}
	}
	if best != nil {
		return best
	}
	for _, ci := range p.stateOn[t] {
		c := p.clients[ci]
		if c != target && p.lag(c, t) < p.lag(target, t) && (best == nil || p.lag(c, t) < p.lag(best, t)) {
			best = c
		}
	}
	return best
}

func (p *planner) betterSource(c, best *client, t int) bool {
	if lessLoaded(c.actives, c.capacity, best.actives, best.capacity) {
		return true
	}
	if lessLoaded(best.actives, best.capacity, c.actives, c.capacity) {
		return false
	}
	if a, b := p.ranRecently(c, t), p.ranRecently(best, t); a != b {
		return a
	}
	if a, b := p.lag(c, t), p.lag(best, t); a != b {
		return a < b
	}
	return c.index < best.index
}

// relieveOverloaded evens out what the moves unbalanced: while a stateful
// task runs on a thread at least two tasks busier than some thread of a
// client caught up on it, the task goes to the least busy such client.
// Each hand-over lowers the sum of squared thread loads, so this ends.
// When balance placed every task on a caught-up client, no thread is two
// tasks busier than another and nothing moves.
func (p *planner) relieveOverloaded() {
	for moved := true; moved; {
		moved = false
		for t, task := range p.tasks {
			if !task.Stateful {
				continue
			}
			src := p.clients[p.active[t]]
			busiest := ceilDiv(src.actives, src.capacity)
			var best *client
			for _, ci := range p.stateOn[t] {
				c := p.clients[ci]
				if c == src || !p.caughtUp(c, t) || c.actives/c.capacity > busiest-2 {
					continue
				}
				if best == nil || p.betterForActive(c, best, t, -1) {
					best = c
				}
			}
			if best != nil {
				p.setActive(t, best)
				moved = true
			}
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// assignStatelessActives spreads the stateless tasks so that, counting the
// stateful ones, every thread runs within one active task of every other
// (when no task moved for catching up). A task stays with its previous
// client while that client is under the even share of all active tasks.
func (p *planner) assignStatelessActives() {
	tasks := p.taskIndices(false)
	if len(tasks) == 0 {
		return
	}
	share := len(p.tasks) / p.threads
	owner := make(map[int]*client, len(tasks))
	for i := len(p.clients) - 1; i >= 0; i-- { // the lowest process id wins a task claimed twice
		for t := range p.clients[i].prevActive {
			if !p.tasks[t].Stateful {
				owner[t] = p.clients[i]
			}
		}
	}
	var rest []int
	for _, t := range tasks {
		if c := owner[t]; c != nil && c.actives < c.capacity*share {
			p.setActive(t, c)
		} else {
			rest = append(rest, t)
		}
	}
	for _, t := range rest {
		prefer := -1
		if c := owner[t]; c != nil {
			prefer = c.index
		}
		p.setActive(t, p.leastLoaded(t, prefer))
	}
}
