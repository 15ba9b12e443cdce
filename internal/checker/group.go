package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// groupPartition is one partition of one consumer group.
type groupPartition struct {
	group     string
	partition int32
}

// groupCommit is one offset of an ok commit, with what the group rules
// need from the history at the commit's invoke.
type groupCommit struct {
	invoke, done int // history indices
	session      int
	offset       int64
	// start is where the group began reading the partition: 0 (the
	// earliest offset, where the test starts every group) or the offset of
	// the last reset before the commit was invoked.
	start int64
}

// groupState is what the walk of the history knows of one group partition.
type groupState struct {
	start int64
	epoch int // resets so far
	// highest is the highest ok commit so far in this epoch, or -1.
	highest     int64
	highestDone int
}

// pendingCommit is a commit invoke, waiting for its completion.
type pendingCommit struct {
	invoke int
	// before is, per partition, the group state when the commit was
	// invoked: the commits it must not go below are those completed then.
	before map[int32]groupState
}

// checkGroups applies rule 9 of the package doc: group-skip and
// committed-offsets-backwards. It walks the history once for commits and
// resets, then checks each group partition's commits against the final
// read.
func (c *checker) checkGroups() {
	members := map[int]string{} // session -> group
	for _, op := range c.h {
		if op.Group != "" && op.Kind != Reset {
			members[op.Session] = op.Group
		}
	}
	states := map[groupPartition]*groupState{}
	state := func(gp groupPartition) *groupState {
		s := states[gp]
		if s == nil {
			s = &groupState{highest: -1}
			states[gp] = s
		}
		return s
	}
	firstPolled := map[string]map[string]int{} // group -> value -> first poll returning it
	readCommitted := map[string]bool{}         // groups with a read_committed poll
	pending := map[int64]pendingCommit{}
	commits := map[groupPartition][]groupCommit{}
	for i, op := range c.h {
		switch {
		case op.Kind == Poll && op.Type == OK && members[op.Session] != "":
			g := members[op.Session]
			if op.ReadCommitted {
				readCommitted[g] = true
			}
			if firstPolled[g] == nil {
				firstPolled[g] = map[string]int{}
			}
			for _, r := range op.Records {
				if _, seen := firstPolled[g][r.Value]; !seen {
					firstPolled[g][r.Value] = i
				}
			}
		case op.Kind == Reset:
			for _, o := range op.Offsets {
				s := state(groupPartition{op.Group, o.Partition})
				s.start, s.highest = o.Offset, -1
				s.epoch++
			}
		case op.Kind == Commit && op.Type == Invoke:
			c.report.Stats.Commits++
			pc := pendingCommit{invoke: i, before: map[int32]groupState{}}
			for _, o := range op.Offsets {
				pc.before[o.Partition] = *state(groupPartition{op.Group, o.Partition})
			}
			pending[op.ID] = pc
		case op.Kind == Commit:
			pc, ok := pending[op.ID]
			delete(pending, op.ID)
			if !ok || op.Type != OK {
				continue
			}
			c.report.Stats.CommitsOK++
			for _, o := range op.Offsets {
				gp := groupPartition{op.Group, o.Partition}
				c.checkCommitOrder(gp, op, pc, i, o.Offset, state(gp))
				commits[gp] = append(commits[gp], groupCommit{invoke: pc.invoke, done: i, session: op.Session,
					offset: o.Offset, start: pc.before[o.Partition].start})
			}
		}
	}
	if c.final == nil {
		return
	}
	for _, gp := range slices.SortedFunc(maps.Keys(commits), compareGroupPartitions) {
		c.checkGroupSkip(gp, commits[gp], firstPolled[gp.group], readCommitted[gp.group])
	}
}

func compareGroupPartitions(a, b groupPartition) int {
	if c := cmp.Compare(a.group, b.group); c != 0 {
		return c
	}
	return cmp.Compare(a.partition, b.partition)
}

// checkCommitOrder: committed-offsets-backwards. An ok commit must not
// store an offset below one an ok commit of the group stored before it was
// invoked, unless a reset came in between. Commits that overlap in time
// are not compared: the order in which the coordinator applied them is
// unknown.
func (c *checker) checkCommitOrder(gp groupPartition, op Op, pc pendingCommit, done int, offset int64, s *groupState) {
	before := pc.before[gp.partition]
	if before.epoch == s.epoch && before.highest >= 0 && offset < before.highest {
		c.report.add(CommitBackwards, Example{Partition: gp.partition, Offset: offset, Group: gp.group,
			Session: op.Session, Ops: []int{before.highestDone, pc.invoke, done},
			Detail: fmt.Sprintf("committed %d after the group had committed %d, with no reset in between",
				offset, before.highest)})
	}
	if offset > s.highest {
		s.highest, s.highestDone = offset, done
	}
}

// checkGroupSkip: group-skip. For each ok commit of offset c, in invoke
// order, every record of the final read in [start, c) must have been
// returned by a poll of a member of the group completed before the commit
// was invoked. A frontier per start offset makes each record checked once:
// below it, every record was found polled before an earlier commit's
// invoke (and so before this one's) or was already reported.
func (c *checker) checkGroupSkip(gp groupPartition, commits []groupCommit, firstPolled map[string]int, readCommitted bool) {
	slices.SortFunc(commits, func(a, b groupCommit) int { return cmp.Compare(a.invoke, b.invoke) })
	records := c.final[gp.partition]
	frontier := map[int64]int64{} // start -> offsets below it are done
	for _, gc := range commits {
		from := max(gc.start, frontier[gc.start])
		if gc.offset <= from {
			continue
		}
		frontier[gc.start] = gc.offset
		lo := sort.Search(len(records), func(k int) bool { return records[k].Offset >= from })
		for _, r := range records[lo:] {
			if r.Offset >= gc.offset {
				break
			}
			at, polled := firstPolled[r.Value]
			if (polled && at < gc.invoke) || (readCommitted && !c.mustShow(r.Value)) {
				continue
			}
			detail := "no member of the group ever polled it"
			if polled {
				detail = fmt.Sprintf("a member first polled it at op %d, after the commit began", at)
			}
			c.report.add(GroupSkip, Example{Partition: gp.partition, Offset: r.Offset, Value: r.Value,
				Group: gp.group, Session: gc.session, Ops: []int{gc.invoke, gc.done},
				Detail: fmt.Sprintf("the group committed %d, but %s", gc.offset, detail)})
		}
	}
}
