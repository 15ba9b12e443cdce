package group

import (
	"fmt"
	"testing"
)

func tid(name string) topicID {
	var id topicID
	copy(id[:], name)
	return id
}

func counts(out map[string]assignment, ids ...string) []int {
	var c []int
	for _, id := range ids {
		c = append(c, out[id].count())
	}
	return c
}

// checkComplete asserts every partition of topics is assigned exactly once,
// to a member subscribed to it.
func checkComplete(t *testing.T, members []assignorMember, out map[string]assignment) {
	t.Helper()
	owner := map[partitionRef]string{}
	for _, m := range members {
		subscribed := map[topicID]bool{}
		for _, tp := range m.topics {
			subscribed[tp.ID] = true
		}
		for tp, ps := range out[m.id] {
			if !subscribed[tp] {
				t.Fatalf("%s assigned topic it does not subscribe to", m.id)
			}
			for _, p := range ps {
				ref := partitionRef{tp, p}
				if prev, dup := owner[ref]; dup {
					t.Fatalf("partition %v to %s and %s", ref, prev, m.id)
				}
				owner[ref] = m.id
			}
		}
	}
	for _, m := range members {
		for _, tp := range m.topics {
			for p := int32(0); p < tp.Partitions; p++ {
				if _, ok := owner[partitionRef{tp.ID, p}]; !ok {
					t.Fatalf("partition %s-%d unassigned", tp.Name, p)
				}
			}
		}
	}
}

func TestUniformAssign(t *testing.T) {
	a6 := TopicInfo{Name: "a", ID: tid("a"), Partitions: 6}
	b3 := TopicInfo{Name: "b", ID: tid("b"), Partitions: 3}
	tests := []struct {
		name    string
		members []assignorMember
		want    []int
	}{
		{"two members", []assignorMember{{id: "m1", topics: []TopicInfo{a6}}, {id: "m2", topics: []TopicInfo{a6}}}, []int{3, 3}},
		{"three members", []assignorMember{{id: "m1", topics: []TopicInfo{a6}}, {id: "m2", topics: []TopicInfo{a6}}, {id: "m3", topics: []TopicInfo{a6}}}, []int{2, 2, 2}},
		{"more members than partitions", []assignorMember{{id: "m1", topics: []TopicInfo{b3}}, {id: "m2", topics: []TopicInfo{b3}}, {id: "m3", topics: []TopicInfo{b3}}, {id: "m4", topics: []TopicInfo{b3}}}, []int{1, 1, 1, 0}},
		{"heterogeneous", []assignorMember{{id: "m1", topics: []TopicInfo{a6, b3}}, {id: "m2", topics: []TopicInfo{b3}}}, []int{6, 3}},
		{"sticky joiner", []assignorMember{
			{id: "m1", topics: []TopicInfo{a6}, current: assignment{tid("a"): {0, 1, 2}}},
			{id: "m2", topics: []TopicInfo{a6}, current: assignment{tid("a"): {3, 4, 5}}},
			{id: "m3", topics: []TopicInfo{a6}},
		}, []int{2, 2, 2}},
		{"no topics", []assignorMember{{id: "m1"}}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			for _, m := range tt.members {
				ids = append(ids, m.id)
			}
			out := uniformAssign(tt.members)
			checkComplete(t, tt.members, out)
			if got := counts(out, ids...); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("counts %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUniformAssignIsSticky(t *testing.T) {
	a6 := TopicInfo{Name: "a", ID: tid("a"), Partitions: 6}
	out := uniformAssign([]assignorMember{
		{id: "m1", topics: []TopicInfo{a6}, current: assignment{tid("a"): {0, 1, 2}}},
		{id: "m2", topics: []TopicInfo{a6}, current: assignment{tid("a"): {3, 4, 5}}},
		{id: "m3", topics: []TopicInfo{a6}},
	})
	kept := 0
	for _, p := range out["m1"][tid("a")] {
		if p <= 2 {
			kept++
		}
	}
	for _, p := range out["m2"][tid("a")] {
		if p >= 3 {
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("moved more than needed: %v", out)
	}
}

func TestRangeAssign(t *testing.T) {
	a7 := TopicInfo{Name: "a", ID: tid("a"), Partitions: 7}
	b7 := TopicInfo{Name: "b", ID: tid("b"), Partitions: 7}
	members := []assignorMember{{id: "m2", topics: []TopicInfo{a7, b7}}, {id: "m1", topics: []TopicInfo{a7, b7}}}
	out := rangeAssign(members)
	checkComplete(t, members, out)
	if got := fmt.Sprint(out["m1"][tid("a")], out["m2"][tid("a")]); got != "[0 1 2 3] [4 5 6]" {
		t.Fatalf("ranges of a: %s", got)
	}
	// Co-partitioned topics line up.
	if fmt.Sprint(out["m1"][tid("a")]) != fmt.Sprint(out["m1"][tid("b")]) {
		t.Fatalf("a and b not co-partitioned: %v", out["m1"])
	}
}

func TestReconcile(t *testing.T) {
	x := tid("x")
	free := func(topicID, int32) int32 { return -1 }
	held := func(topicID, int32) int32 { return 3 }
	tests := []struct {
		name      string
		member    consumerMember
		target    assignment
		owned     assignment
		owners    func(topicID, int32) int32
		wantEpoch int32
		wantState memberState
		wantOwned int
	}{
		{"stable at target", consumerMember{memberEpoch: 3, state: memberStable, assigned: assignment{x: {0}}}, assignment{x: {0}}, nil, free, 3, memberStable, 1},
		{"gains free partitions", consumerMember{memberEpoch: 2, assigned: assignment{x: {0}}}, assignment{x: {0, 1}}, nil, free, 3, memberStable, 2},
		{"gains held partitions", consumerMember{memberEpoch: 2, assigned: assignment{x: {0}}}, assignment{x: {0, 1}}, nil, held, 3, memberUnreleased, 1},
		{"must revoke, says nothing", consumerMember{memberEpoch: 2, assigned: assignment{x: {0, 1}}}, assignment{x: {0}}, nil, free, 2, memberUnrevoked, 1},
		{"must revoke, already did", consumerMember{memberEpoch: 2, assigned: assignment{x: {0, 1}}}, assignment{x: {0}}, assignment{x: {0}}, free, 3, memberStable, 1},
		{"revoking, still owns", consumerMember{memberEpoch: 2, state: memberUnrevoked, assigned: assignment{x: {0}}, revoking: assignment{x: {1}}}, assignment{x: {0}}, assignment{x: {0, 1}}, free, 2, memberUnrevoked, 1},
		{"revoking, done", consumerMember{memberEpoch: 2, state: memberUnrevoked, assigned: assignment{x: {0}}, revoking: assignment{x: {1}}}, assignment{x: {0}}, assignment{x: {0}}, free, 3, memberStable, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reconcile(&tt.member, 3, tt.target, tt.owned, tt.owners)
			if r.memberEpoch != tt.wantEpoch || r.state != tt.wantState || r.assigned.count() != tt.wantOwned {
				t.Fatalf("got epoch %d %s owning %v, want epoch %d %s owning %d", r.memberEpoch, r.state, r.assigned, tt.wantEpoch, tt.wantState, tt.wantOwned)
			}
		})
	}
}
