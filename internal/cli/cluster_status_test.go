package cli

import (
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

func TestWriteQuorumStatus(t *testing.T) {
	tests := []struct {
		name string
		q    controllerwire.QuorumStatus
		want []string
	}{
		{
			name: "three voters, one down, one fenced",
			q: controllerwire.QuorumStatus{ClusterID: "abc", LeaderID: 2, Term: 4, HighWatermark: 17,
				Voters: []controllerwire.ReplicaStatus{
					{NodeID: 1, Addr: "h:1", Reachable: true, LastLogIndex: 15, Lag: 2},
					{NodeID: 2, Addr: "h:2", Reachable: true, LastLogIndex: 17},
					{NodeID: 3, Addr: "h:3", Lag: -1},
				},
				Brokers: []controllerwire.BrokerStatus{
					{NodeID: 1, Host: "h", Port: 9092, PartitionsLed: 3},
					{NodeID: 3, Host: "h", Port: 9094, Fenced: true},
				}},
			want: []string{"Cluster ID:      abc", "Leader:          2", "Voters: 3",
				"1   h:1      follower     15", "2   h:2      leader       17", "3   h:3      unreachable  -",
				"Brokers: 2 (1 alive, 1 fenced)", "h:9092", "alive", "fenced"},
		},
		{
			name: "observer listed",
			q: controllerwire.QuorumStatus{LeaderID: 1, Voters: []controllerwire.ReplicaStatus{{NodeID: 1, Addr: "h:1", Reachable: true}},
				Observers: []controllerwire.ReplicaStatus{{NodeID: 4, Addr: "h:4", Reachable: true, LastLogIndex: 3, Lag: 0}}},
			want: []string{"Cluster ID:      (none)", "Observers: 1", "4   h:4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writeQuorumStatus(&b, tt.q); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in\n%s", w, b.String())
				}
			}
		})
	}
}
