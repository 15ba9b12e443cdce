package replication

import (
	"slices"
	"testing"
)

func liveSet(ids ...BrokerID) func(BrokerID) bool {
	return func(id BrokerID) bool { return slices.Contains(ids, id) }
}

func TestElectLeader(t *testing.T) {
	tests := []struct {
		name     string
		replicas []BrokerID
		isr      []BrokerID
		live     []BrokerID
		unclean  bool
		want     Election
	}{
		{"preferred", []BrokerID{1, 2, 3}, []BrokerID{1, 2, 3}, []BrokerID{1, 2, 3}, false, Election{Leader: 1, ISR: []BrokerID{1, 2, 3}}},
		{"assignment order, not ISR order", []BrokerID{3, 1, 2}, []BrokerID{1, 2, 3}, []BrokerID{1, 2, 3}, false, Election{Leader: 3, ISR: []BrokerID{1, 2, 3}}},
		{"preferred dead", []BrokerID{1, 2, 3}, []BrokerID{1, 2, 3}, []BrokerID{2, 3}, false, Election{Leader: 2, ISR: []BrokerID{2, 3}}},
		{"preferred out of ISR", []BrokerID{1, 2, 3}, []BrokerID{3, 2}, []BrokerID{1, 2, 3}, false, Election{Leader: 2, ISR: []BrokerID{3, 2}}},
		{"only out-of-ISR replicas live, clean", []BrokerID{1, 2, 3}, []BrokerID{1}, []BrokerID{2, 3}, false, Election{Leader: NoBroker, ISR: []BrokerID{1}}},
		{"only out-of-ISR replicas live, unclean", []BrokerID{1, 2, 3}, []BrokerID{1}, []BrokerID{3, 2}, true, Election{Leader: 2, ISR: []BrokerID{2}, Unclean: true}},
		{"unclean allowed but ISR member live", []BrokerID{1, 2, 3}, []BrokerID{3}, []BrokerID{1, 2, 3}, true, Election{Leader: 3, ISR: []BrokerID{3}}},
		{"nothing live", []BrokerID{1, 2, 3}, []BrokerID{1, 2}, nil, true, Election{Leader: NoBroker, ISR: []BrokerID{1, 2}}},
		{"empty ISR", []BrokerID{1, 2}, nil, []BrokerID{1, 2}, false, Election{Leader: NoBroker, ISR: nil}},
		{"ISR member not in replicas is ignored", []BrokerID{1, 2}, []BrokerID{5}, []BrokerID{1, 2, 5}, false, Election{Leader: NoBroker, ISR: []BrokerID{5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ElectLeader(tt.replicas, tt.isr, liveSet(tt.live...), tt.unclean)
			if got.Leader != tt.want.Leader || got.Unclean != tt.want.Unclean || !slices.Equal(got.ISR, tt.want.ISR) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.Leader != NoBroker && !got.Unclean && !slices.Contains(tt.isr, got.Leader) {
				t.Fatalf("clean election chose %d outside the ISR %v", got.Leader, tt.isr)
			}
		})
	}
}

func TestShouldElectPreferred(t *testing.T) {
	tests := []struct {
		name     string
		replicas []BrokerID
		isr      []BrokerID
		leader   BrokerID
		live     []BrokerID
		want     bool
	}{
		{"already preferred", []BrokerID{1, 2}, []BrokerID{1, 2}, 1, []BrokerID{1, 2}, false},
		{"preferred back in ISR", []BrokerID{1, 2}, []BrokerID{2, 1}, 2, []BrokerID{1, 2}, true},
		{"preferred not in ISR", []BrokerID{1, 2}, []BrokerID{2}, 2, []BrokerID{1, 2}, false},
		{"preferred fenced", []BrokerID{1, 2}, []BrokerID{1, 2}, 2, []BrokerID{2}, false},
		{"leaderless", []BrokerID{1, 2}, []BrokerID{1}, NoBroker, []BrokerID{1}, true},
		{"no replicas", nil, nil, NoBroker, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldElectPreferred(tt.replicas, tt.isr, tt.leader, liveSet(tt.live...)); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if !Imbalanced([]BrokerID{1, 2}, 2) || Imbalanced([]BrokerID{1, 2}, 1) {
		t.Fatal("Imbalanced")
	}
}
