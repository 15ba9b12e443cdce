package metadata

import (
	"slices"
	"testing"
	"time"
)

func TestDecideFencing(t *testing.T) {
	const session = 9 * time.Second
	t0 := time.Unix(1_000_000, 0)
	now := t0.Add(time.Minute)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name        string
		brokers     []BrokerLiveness
		leaderSince time.Time
		want        []FenceDecision
	}{
		{"fresh heartbeat keeps a broker", []BrokerLiveness{{NodeID: 1, LastHeartbeat: ago(time.Second)}}, t0, nil},
		{"heartbeat exactly at the timeout keeps it", []BrokerLiveness{{NodeID: 1, LastHeartbeat: ago(session)}}, t0, nil},
		{"stale heartbeat fences", []BrokerLiveness{{NodeID: 1, LastHeartbeat: ago(session + time.Millisecond)}}, t0,
			[]FenceDecision{{NodeID: 1, Fence: true}}},
		{"never heard, leader long elected: fence", []BrokerLiveness{{NodeID: 2}}, t0, []FenceDecision{{NodeID: 2, Fence: true}}},
		{"never heard, leader just elected: grace", []BrokerLiveness{{NodeID: 2}}, ago(time.Second), nil},
		{"stale heartbeat within a new leader's grace", []BrokerLiveness{{NodeID: 2, LastHeartbeat: ago(time.Hour)}}, ago(time.Second), nil},
		{"fenced broker heartbeating is unfenced", []BrokerLiveness{{NodeID: 3, Fenced: true, LastHeartbeat: ago(time.Second)}}, t0,
			[]FenceDecision{{NodeID: 3, Fence: false}}},
		{"fenced broker silent stays fenced", []BrokerLiveness{{NodeID: 3, Fenced: true}}, ago(time.Second), nil},
		{"fenced broker with a stale heartbeat stays fenced", []BrokerLiveness{{NodeID: 3, Fenced: true, LastHeartbeat: ago(time.Hour)}}, t0, nil},
		{"mixed, sorted by node id", []BrokerLiveness{
			{NodeID: 5, LastHeartbeat: ago(time.Hour)},
			{NodeID: 1, Fenced: true, LastHeartbeat: ago(time.Millisecond)},
			{NodeID: 3, LastHeartbeat: ago(time.Second)},
		}, t0, []FenceDecision{{NodeID: 1, Fence: false}, {NodeID: 5, Fence: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideFencing(tt.brokers, tt.leaderSince, now, session)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseVoters(t *testing.T) {
	tests := []struct {
		in      string
		want    []Voter
		wantErr bool
	}{
		{"", nil, false},
		{"2@h:2,1@h:1", []Voter{{1, "h:1"}, {2, "h:2"}}, false},
		{" 1@127.0.0.1:9093 ", []Voter{{1, "127.0.0.1:9093"}}, false},
		{"1@h:1,1@h:2", nil, true},
		{"1@h:1,2@h:1", nil, true},
		{"x@h:1", nil, true},
		{"-1@h:1", nil, true},
		{"1h:1", nil, true},
		{"1@h", nil, true},
		{"1@:1", nil, true},
		{"1@h:0", nil, true},
		{"1@h:70000", nil, true},
		{"1@h:1,2@h:2,3@h:3,4@h:4,5@h:5,6@h:6,7@h:7,8@h:8,9@h:9,10@h:10", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseVoters(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("ParseVoters(%q) = %v, %v", tt.in, got, err)
		}
	}
	a, _ := ParseVoters("1@h:1,2@h:2")
	b, _ := ParseVoters("2@h:2,1@h:1")
	if clusterIDForVoters(a) != clusterIDForVoters(b) {
		t.Fatal("cluster id depends on the order of --controllers")
	}
}
