package checker

import (
	"fmt"
	"testing"
)

// groupAssign records that member session of group g was assigned
// partitions from an offset the harness does not know.
func (b *builder) groupAssign(session int, g string, partitions ...int32) {
	var as []Assigned
	for _, p := range partitions {
		as = append(as, Assigned{Partition: p, From: -1})
	}
	b.r.GroupAssign(session, session, g, as)
}

// committed records an ok commit of session for group g; offsets are
// partition, offset pairs.
func (b *builder) committed(session int, g string, offsets ...int64) {
	b.r.CommitOK(b.r.InvokeCommit(session, session, g, pairs(offsets)))
}

func pairs(offsets []int64) []Committed {
	var cs []Committed
	for i := 0; i+1 < len(offsets); i += 2 {
		cs = append(cs, Committed{Partition: int32(offsets[i]), Offset: offsets[i+1]})
	}
	return cs
}

// TestGroupCleanHistory: two members of one group, a rebalance that moves
// partition 1 from the first to the second, a partition revoked and given
// back lower (re-delivery, allowed by at-least-once), a failed and an
// overlapping commit: no anomaly.
func TestGroupCleanHistory(t *testing.T) {
	b := newBuilder()
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.sent(1, 1, "c", 0)
	b.sent(1, 1, "d", 1)
	b.groupAssign(20, "g", 0, 1)
	b.polled(20, rec(0, 0, "a"), rec(1, 0, "c"))
	b.committed(20, "g", 0, 1, 1, 1)
	b.polled(20, rec(0, 1, "b"))
	// A stale commit the coordinator refused is not a committed offset.
	b.r.CommitFail(b.r.InvokeCommit(20, 20, "g", pairs([]int64{0, 0})), fmt.Errorf("ILLEGAL_GENERATION"))
	// Rebalance: partition 1 moves to member 21, which resumes at the
	// committed offset.
	b.r.GroupRevoke(20, 20, "g", []int32{0, 1})
	b.groupAssign(20, "g", 0)
	b.groupAssign(21, "g", 1)
	b.polled(21, rec(1, 1, "d"))
	b.committed(21, "g", 1, 2)
	// Member 20 lost partition 0 and got it back from the committed offset
	// 1: it polls b again, which is no nonmonotonic poll.
	b.r.GroupLost(20, 20, "g", []int32{0})
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 1, "b"))
	// Two commits in flight at once: their order at the coordinator is
	// unknown, so the lower one completing last is no anomaly.
	x := b.r.InvokeCommit(20, 20, "g", pairs([]int64{0, 2}))
	y := b.r.InvokeCommit(20, 20, "g", pairs([]int64{0, 1}))
	b.r.CommitOK(x)
	b.r.CommitOK(y)
	r := Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"), rec(1, 0, "c"), rec(1, 1, "d")))
	expect(t, r)
	if r.Stats.Commits != 5 || r.Stats.CommitsOK != 4 {
		t.Fatalf("commits %d (%d ok), want 5 (4 ok)", r.Stats.Commits, r.Stats.CommitsOK)
	}
}

// TestGroupSkip: the group commits past a value no member returned before
// the commit: one returned only by an assign consumer outside the group,
// one a member returned only after the commit. Each is reported once,
// although two commits cover them.
func TestGroupSkip(t *testing.T) {
	b := newBuilder()
	b.assign(10, 0)
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.sent(1, 0, "c", 2)
	b.polled(10, rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "c"))
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 0, "a"))
	b.committed(20, "g", 0, 3)
	b.r.GroupRevoke(20, 20, "g", []int32{0}) // so that its session rules see no poll-skip
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 2, "c"))
	b.committed(20, "g", 0, 3)
	r := Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "c")))
	expect(t, r, GroupSkip)
	a := r.Anomalies[GroupSkip]
	if a.Count != 2 || a.Examples[0].Value != "b" || a.Examples[1].Value != "c" || a.Examples[0].Group != "g" {
		t.Fatalf("group-skip %+v, want b and c of group g", a)
	}
}

// TestGroupSkipFromReset: after an explicit reset to offset 2 the group is
// not required to have read below 2, and may commit lower than before.
func TestGroupSkipFromReset(t *testing.T) {
	b := newBuilder()
	for o, v := range []string{"a", "b", "c", "d"} {
		b.sent(1, 0, v, int64(o))
	}
	b.r.ResetGroup(0, "g", []Committed{{Partition: 0, Offset: 3}})
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 3, "d"))
	b.committed(20, "g", 0, 4)
	b.r.ResetGroup(0, "g", []Committed{{Partition: 0, Offset: 2}})
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 2, "c"))
	b.committed(20, "g", 0, 3)
	r := Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b"), rec(0, 2, "c"), rec(0, 3, "d")))
	expect(t, r)
}

// TestCommitBackwards: a commit, completed before the next one began,
// stored a higher offset than the next.
func TestCommitBackwards(t *testing.T) {
	b := newBuilder()
	b.sent(1, 0, "a", 0)
	b.sent(1, 0, "b", 1)
	b.groupAssign(20, "g", 0)
	b.polled(20, rec(0, 0, "a"), rec(0, 1, "b"))
	b.committed(20, "g", 0, 2)
	b.r.GroupRevoke(20, 20, "g", []int32{0})
	b.groupAssign(21, "g", 0)
	b.polled(21, rec(0, 0, "a"))
	b.committed(21, "g", 0, 1)
	r := Check(b.r.History(), final(rec(0, 0, "a"), rec(0, 1, "b")))
	expect(t, r, CommitBackwards)
	if ex := r.Anomalies[CommitBackwards].Examples[0]; ex.Offset != 1 || ex.Session != 21 {
		t.Fatalf("example %v, want offset 1 by session 21", ex)
	}
}

// TestGroupWithoutFinalRead: without a final read group-skip has nothing
// to check against, and committed-offsets-backwards still applies.
func TestGroupWithoutFinalRead(t *testing.T) {
	b := newBuilder()
	b.groupAssign(20, "g", 0)
	b.committed(20, "g", 0, 5)
	b.committed(20, "g", 0, 4)
	expect(t, Check(b.r.History(), nil), CommitBackwards)
}
