package assign

// standbyClass ranks a client for keeping a standby of a stateful task:
// caught up where it kept or ran the task, then caught up, then any state.
func (p *planner) standbyClass(c *client, t int) int {
	switch caught := p.caughtUp(c, t); {
	case caught && (c.prevStandby[t] || p.ranRecently(c, t)):
		return 0
	case caught:
		return 1
	default:
		return 2
	}
}

// assignStandbys gives each stateful task min(num.standby.replicas,
// clients-1) standbys, each on a client without another copy of the task.
// Load is counted as active and standby tasks per thread, and a client's
// share is the group's average rounded up.
//
// Caught-up standbys stay where they are, then the overloaded clients
// shed standbys to clients under their share (and again at the end), so
// that an assignment whose standbys have caught up is kept as it is. Other state (a lagging
// standby, an active that moved) is kept while the client is under its
// share. The rest go to the least-loaded client, and first to the target
// of the task's move: a standby there restores the state the task will
// need, and no warm-up is spent on it.
//
// A standby may land on a client that lags although a caught-up client
// could take it. Kafka then moves it and warms the chosen client up; here
// it stays, restoring, since a standby's lag delays only failover.
func (p *planner) assignStandbys(moves []move) {
	want := min(p.cfg.NumStandbyReplicas, len(p.clients)-1)
	if want == 0 {
		return
	}
	tasks := p.taskIndices(true)
	load := len(p.tasks) + len(tasks)*want
	share := (load + p.threads - 1) / p.threads
	pairs := p.statePairs(p.standbyClass)
	for _, pr := range pairs {
		if c := p.clients[pr.client]; pr.class == 0 && len(p.copies[pr.task]) < want && !p.holds(c, pr.task) {
			p.addCopy(pr.task, c, false)
		}
	}
	p.shedStandbys(share)
	for _, pr := range pairs {
		c := p.clients[pr.client]
		if pr.class > 0 && len(p.copies[pr.task]) < want && !p.holds(c, pr.task) && c.actives+c.standbys < c.capacity*share {
			p.addCopy(pr.task, c, false)
		}
	}
	target := make(map[int]int, len(moves))
	for _, m := range moves {
		target[m.task] = m.target
	}
	for _, t := range tasks {
		prefer, ok := target[t]
		if !ok {
			prefer = -1
		}
		for len(p.copies[t]) < want {
			p.addCopy(t, p.standbyFor(t, prefer), false)
		}
	}
	p.shedStandbys(share) // least-loaded placement may have had to overload a client
}

// shedStandbys moves standbys off clients over their share to the least
// loaded client under its share that has no copy of the task. One pass in
// task order leaves no standby that could move: a client under its share
// when a standby could not move there never drops back under it.
func (p *planner) shedStandbys(share int) {
	over := func(c *client) bool { return c.actives+c.standbys > c.capacity*share }
	for t := range p.tasks {
		for i, r := range p.copies[t] {
			src := p.clients[r.client]
			if !over(src) {
				continue
			}
			var best *client
			for _, c := range p.clients {
				if c.actives+c.standbys < c.capacity*share && !p.holds(c, t) &&
					(best == nil || p.betterForStandby(c, best, t, -1)) {
					best = c
				}
			}
			if best != nil {
				p.copies[t][i].client = best.index
				src.standbys--
				best.standbys++
			}
		}
	}
}

// standbyFor returns the client to keep one more standby of t: prefer if
// it has no copy, else the least loaded without a copy, then the most
// caught up, then the next after the active's client. One exists: fewer than clients-1
// standbys are placed and the active is on one client.
func (p *planner) standbyFor(t, prefer int) *client {
	var best *client
	for _, c := range p.clients {
		if p.holds(c, t) {
			continue
		}
		if best == nil || p.betterForStandby(c, best, t, prefer) {
			best = c
		}
	}
	if best == nil {
		panic("assign: no client left for a standby") // broken invariant: want <= clients-1
	}
	return best
}

func (p *planner) betterForStandby(c, best *client, t, prefer int) bool {
	if (c.index == prefer) != (best.index == prefer) {
		return c.index == prefer
	}
	cl, bl := c.actives+c.standbys, best.actives+best.standbys
	if lessLoaded(cl, c.capacity, bl, best.capacity) {
		return true
	}
	if lessLoaded(bl, best.capacity, cl, c.capacity) {
		return false
	}
	if a, b := p.lag(c, t), p.lag(best, t); a != b {
		return a < b
	}
	// Last, the client soonest after the active's in process id order,
	// wrapping around: ties then spread the standbys of neighbouring
	// tasks over all clients rather than onto the lowest process id.
	n, from := len(p.clients), p.active[t]
	return (c.index-from+n)%n < (best.index-from+n)%n
}

// assignWarmups places, for each move in order, a warm-up replica of the
// task on the move's target, unless the target already keeps a standby of
// it, while max.warmup.replicas allows. A move without a warm-up is tried
// again at the next probing rebalance.
func (p *planner) assignWarmups(moves []move) {
	budget := p.cfg.MaxWarmupReplicas
	for _, m := range moves {
		if budget == 0 {
			return
		}
		if target := p.clients[m.target]; !p.holds(target, m.task) {
			p.addCopy(m.task, target, true)
			budget--
		}
	}
}
