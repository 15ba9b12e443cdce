package assign

// result gathers each client's tasks and shares them among its members.
func (p *planner) result() Result {
	res := Result{Clients: make(map[string]ClientTasks, len(p.clients)), ProbingRebalance: p.probing}
	active := make([][]int, len(p.clients))
	standby := make([][]int, len(p.clients))
	warmup := make([][]int, len(p.clients))
	for t := range p.tasks { // in task order, so every list is sorted
		active[p.active[t]] = append(active[p.active[t]], t)
		for _, r := range p.copies[t] {
			if r.warmup {
				warmup[r.client] = append(warmup[r.client], t)
			} else {
				standby[r.client] = append(standby[r.client], t)
			}
		}
	}
	for i, c := range p.clients {
		res.Clients[c.id] = ClientTasks{
			Active:  p.ids(active[i]),
			Standby: p.ids(standby[i]),
			Warmup:  p.ids(warmup[i]),
			Members: p.shareAmongMembers(c, active[i], standby[i], warmup[i]),
		}
	}
	return res
}

func (p *planner) ids(tasks []int) []TaskID {
	if len(tasks) == 0 {
		return nil
	}
	out := make([]TaskID, len(tasks))
	for i, t := range tasks {
		out[i] = p.tasks[t].ID
	}
	return out
}

// shareAmongMembers gives the client's tasks to its threads. Active tasks
// go first, stateful then stateless, so that each kind and their sum are
// spread within one task per thread; then standbys and warm-ups, to the
// threads with the least work. Each task stays on the thread that ran it
// (as active, or for a standby as standby or active) while that thread is
// under its even share.
func (p *planner) shareAmongMembers(c *client, active, standby, warmup []int) map[string]MemberTasks {
	prevActive := make(map[int]int)            // task -> member that ran it active
	prevStandby := make(map[int]int)           // task -> member that kept it standby
	for m := len(c.members) - 1; m >= 0; m-- { // the lowest member id wins a task claimed twice
		for _, id := range c.members[m].PrevActive {
			if t, ok := p.index[id]; ok {
				prevActive[t] = m
			}
		}
		for _, id := range c.members[m].PrevStandby {
			if t, ok := p.index[id]; ok {
				prevStandby[t] = m
			}
		}
	}
	activeOwner := func(t int) int { return lookup(prevActive, t) }
	standbyOwner := func(t int) int {
		if m, ok := prevStandby[t]; ok {
			return m
		}
		return lookup(prevActive, t)
	}
	var stateful, stateless []int
	for _, t := range active {
		if p.tasks[t].Stateful {
			stateful = append(stateful, t)
		} else {
			stateless = append(stateless, t)
		}
	}
	loads := make([]int, len(c.members))
	out := make([]MemberTasks, len(c.members))
	for i, m := range spread(stateful, loads, activeOwner) {
		out[m].Active = append(out[m].Active, p.tasks[stateful[i]].ID)
	}
	for i, m := range spread(stateless, loads, activeOwner) {
		out[m].Active = append(out[m].Active, p.tasks[stateless[i]].ID)
	}
	copies := mergeSorted(standby, warmup)
	isWarmup := make(map[int]bool, len(warmup))
	for _, t := range warmup {
		isWarmup[t] = true
	}
	for i, m := range spread(copies, loads, standbyOwner) {
		if t := copies[i]; isWarmup[t] {
			out[m].Warmup = append(out[m].Warmup, p.tasks[t].ID)
		} else {
			out[m].Standby = append(out[m].Standby, p.tasks[t].ID)
		}
	}
	members := make(map[string]MemberTasks, len(c.members))
	for i, m := range c.members {
		sortIDs(&out[i])
		members[m.ID] = out[i]
	}
	return members
}

func lookup(m map[int]int, t int) int {
	if v, ok := m[t]; ok {
		return v
	}
	return -1
}

// spread returns the member for each of tasks, adding to loads (tasks per
// member so far). A task goes to owner(t) while that member is under the
// even share of loads and tasks together; the rest go one by one to the
// least-loaded member, the owner winning ties, then the lower index. So if
// loads differ by at most one, they still do after.
func spread(tasks, loads []int, owner func(t int) int) []int {
	total := len(tasks)
	for _, l := range loads {
		total += l
	}
	share := total / len(loads)
	out := make([]int, len(tasks))
	var rest []int
	for i, t := range tasks {
		if m := owner(t); m >= 0 && loads[m] < share {
			out[i] = m
			loads[m]++
		} else {
			rest = append(rest, i)
		}
	}
	for _, i := range rest {
		own, best := owner(tasks[i]), 0
		for m := 1; m < len(loads); m++ {
			if loads[m] < loads[best] || loads[m] == loads[best] && m == own {
				best = m
			}
		}
		out[i] = best
		loads[best]++
	}
	return out
}

// mergeSorted merges two ascending lists.
func mergeSorted(a, b []int) []int {
	out := make([]int, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

func sortIDs(m *MemberTasks) {
	m.Active = sortedTasks(m.Active)
	m.Standby = sortedTasks(m.Standby)
	m.Warmup = sortedTasks(m.Warmup)
}
