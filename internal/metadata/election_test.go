package metadata

import (
	"slices"
	"testing"
)

func liveSet(ids ...int32) func(int32) bool {
	return func(id int32) bool { return slices.Contains(ids, id) }
}

func TestElectLeader(t *testing.T) {
	tests := []struct {
		name     string
		replicas []int32
		isr      []int32
		live     []int32
		unclean  bool
		want     Election
	}{
		{"preferred", []int32{1, 2, 3}, []int32{1, 2, 3}, []int32{1, 2, 3}, false, Election{Leader: 1, ISR: []int32{1, 2, 3}}},
		{"assignment order, not ISR order", []int32{3, 1, 2}, []int32{1, 2, 3}, []int32{1, 2, 3}, false, Election{Leader: 3, ISR: []int32{1, 2, 3}}},
		{"preferred dead", []int32{1, 2, 3}, []int32{1, 2, 3}, []int32{2, 3}, false, Election{Leader: 2, ISR: []int32{2, 3}}},
		{"preferred out of ISR", []int32{1, 2, 3}, []int32{3, 2}, []int32{1, 2, 3}, false, Election{Leader: 2, ISR: []int32{3, 2}}},
		{"only out-of-ISR replicas live, clean", []int32{1, 2, 3}, []int32{1}, []int32{2, 3}, false, Election{Leader: NoLeader, ISR: []int32{1}}},
		{"only out-of-ISR replicas live, unclean", []int32{1, 2, 3}, []int32{1}, []int32{3, 2}, true, Election{Leader: 2, ISR: []int32{2}, Unclean: true}},
		{"unclean allowed but ISR member live", []int32{1, 2, 3}, []int32{3}, []int32{1, 2, 3}, true, Election{Leader: 3, ISR: []int32{3}}},
		{"nothing live", []int32{1, 2, 3}, []int32{1, 2}, nil, true, Election{Leader: NoLeader, ISR: []int32{1, 2}}},
		{"empty ISR", []int32{1, 2}, nil, []int32{1, 2}, false, Election{Leader: NoLeader, ISR: nil}},
		{"ISR member not in replicas is ignored", []int32{1, 2}, []int32{5}, []int32{1, 2, 5}, false, Election{Leader: NoLeader, ISR: []int32{5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ElectLeader(tt.replicas, tt.isr, liveSet(tt.live...), tt.unclean)
			if got.Leader != tt.want.Leader || got.Unclean != tt.want.Unclean || !slices.Equal(got.ISR, tt.want.ISR) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.Leader != NoLeader && !got.Unclean && !slices.Contains(tt.isr, got.Leader) {
				t.Fatalf("clean election chose %d outside the ISR %v", got.Leader, tt.isr)
			}
		})
	}
}

func TestShouldElectPreferred(t *testing.T) {
	tests := []struct {
		name     string
		replicas []int32
		isr      []int32
		leader   int32
		live     []int32
		want     bool
	}{
		{"already preferred", []int32{1, 2}, []int32{1, 2}, 1, []int32{1, 2}, false},
		{"preferred back in ISR", []int32{1, 2}, []int32{2, 1}, 2, []int32{1, 2}, true},
		{"preferred not in ISR", []int32{1, 2}, []int32{2}, 2, []int32{1, 2}, false},
		{"preferred fenced", []int32{1, 2}, []int32{1, 2}, 2, []int32{2}, false},
		{"leaderless", []int32{1, 2}, []int32{1}, NoLeader, []int32{1}, true},
		{"no replicas", nil, nil, NoLeader, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldElectPreferred(tt.replicas, tt.isr, tt.leader, liveSet(tt.live...)); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if !Imbalanced([]int32{1, 2}, 2) || Imbalanced([]int32{1, 2}, 1) {
		t.Fatal("Imbalanced")
	}
}
