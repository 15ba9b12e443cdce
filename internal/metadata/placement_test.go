package metadata

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestPlaceNewPartitions(t *testing.T) {
	racks := mustApply(t, NewImage("c"),
		RegisterBrokerRecord{NodeID: 1, Host: "h", Port: 1, Rack: "a"},
		RegisterBrokerRecord{NodeID: 2, Host: "h", Port: 2, Rack: "a"},
		RegisterBrokerRecord{NodeID: 3, Host: "h", Port: 3, Rack: "b"},
		RegisterBrokerRecord{NodeID: 4, Host: "h", Port: 4, Rack: "b"},
	)
	mixed := mustApply(t, racks, RegisterBrokerRecord{NodeID: 5, Host: "h", Port: 5})
	fenced := mustApply(t, racks, BrokerFenceRecord{NodeID: 3, Fenced: true}, BrokerFenceRecord{NodeID: 4, Fenced: true})
	rackOf := func(img *Image, id int32) string { br, _ := img.Broker(id); return br.Rack }
	tests := []struct {
		name        string
		img         *Image
		first, n    int32
		rf          int
		want        *kerr.Error
		distinctRck bool // every partition spans both racks
		avoid       []int32
	}{
		{name: "rack aware", img: racks, n: 8, rf: 2, distinctRck: true},
		{name: "rack aware tail", img: racks, first: 5, n: 3, rf: 2, distinctRck: true},
		{name: "mixed racks allowed", img: mixed, n: 10, rf: 3},
		{name: "fenced avoided", img: fenced, n: 6, rf: 2, avoid: []int32{3, 4}},
		{name: "rf above unfenced", img: fenced, n: 1, rf: 3, want: kerr.InvalidReplicationFactor},
		{name: "rf above all", img: racks, n: 1, rf: 5, want: kerr.InvalidReplicationFactor},
		{name: "rf zero", img: racks, n: 1, rf: 0, want: kerr.InvalidReplicationFactor},
		{name: "no partitions", img: racks, n: 0, rf: 1, want: kerr.InvalidPartitions},
		{name: "beyond limit", img: racks, first: MaxPartitionsPerTopic, n: 1, rf: 1, want: kerr.InvalidPartitions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := placeNewPartitions(tt.img, "topic", tt.first, tt.n, tt.rf)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if int32(len(got)) != tt.n {
				t.Fatalf("%d assignments, want %d", len(got), tt.n)
			}
			leaders := map[int32]int{}
			for p, replicas := range got {
				if len(replicas) != tt.rf || !distinct(replicas) {
					t.Fatalf("partition %d: replicas %v", p, replicas)
				}
				leaders[replicas[0]]++
				if tt.distinctRck && rackOf(tt.img, replicas[0]) == rackOf(tt.img, replicas[1]) {
					t.Fatalf("partition %d: both replicas on rack %q: %v", p, rackOf(tt.img, replicas[0]), replicas)
				}
				for _, r := range replicas {
					for _, a := range tt.avoid {
						if r == a {
							t.Fatalf("partition %d placed on fenced broker %d", p, r)
						}
					}
				}
			}
			if tt.first == 0 && len(leaders) < min(int(tt.n), len(placementBrokers(tt.img))) {
				t.Fatalf("leaders not spread: %v", leaders)
			}
		})
	}
	// A placement of new partitions continues the topic's round robin.
	all, _ := placeNewPartitions(racks, "topic", 0, 8, 2)
	tail, _ := placeNewPartitions(racks, "topic", 5, 3, 2)
	for i := range tail {
		if tail[i][0] != all[5+i][0] || tail[i][1] != all[5+i][1] {
			t.Fatalf("tail %v differs from %v", tail, all[5:])
		}
	}
}

func TestCreateTopicRackAware(t *testing.T) {
	n := startNode(t, t.TempDir())
	ctx := context.Background()
	for id, rack := range map[int32]string{1: "r1", 2: "r1", 3: "r2", 4: "r2", 5: "r3", 6: "r3"} {
		if err := n.RegisterBroker(ctx, BrokerRegistration{NodeID: id, Host: "localhost", Port: 9000 + id, Rack: rack}); err != nil {
			t.Fatal(err)
		}
	}
	top, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "racked", NumPartitions: 12, ReplicationFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	img := n.Image()
	for _, p := range top.Partitions {
		seen := map[string]bool{}
		for _, r := range p.Replicas {
			br, _ := img.Broker(r)
			seen[br.Rack] = true
		}
		if len(seen) != 3 || p.Leader != p.Replicas[0] || len(p.ISR) != 3 {
			t.Fatalf("partition %d: %+v on racks %v", p.Partition, p, seen)
		}
	}
	if err := n.CreatePartitions(ctx, "racked", 15, nil, false); err != nil {
		t.Fatal(err)
	}
	// A manual assignment naming a fenced broker leaves it out of the ISR.
	if err := n.FenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	man, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "manual", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := man.Partitions[0]; p.Leader != 2 || len(p.ISR) != 1 || p.ISR[0] != 2 {
		t.Fatalf("manual partition with a fenced replica: %+v", p)
	}
	if err := n.FenceBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	_, err = n.CreateTopic(ctx, CreateTopicSpec{Name: "dead", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2}}})
	if !errors.Is(err, kerr.InvalidReplicaAssignment) {
		t.Fatalf("all replicas fenced: %v", err)
	}
}

func TestFencingElectsUncleanOnlyWhenEnabled(t *testing.T) {
	n := startNode(t, t.TempDir())
	registerSelf(t, n, 1, 2)
	ctx := context.Background()
	for _, unclean := range []string{"false", "true"} {
		name := "unclean-" + unclean
		top, err := n.CreateTopic(ctx, CreateTopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1,
			Assignments: map[int32][]int32{0: {1, 2}}, Configs: map[string]string{"unclean.leader.election.enable": unclean}})
		if err != nil {
			t.Fatal(err)
		}
		p := top.Partitions[0]
		if _, err := n.AlterPartition(ctx, top.ID, 0, 1, p.LeaderEpoch, p.PartitionEpoch, []int32{1}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.FenceBroker(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clean := partitionsOf(n.Image(), "unclean-false")[0]
	if clean.Leader != -1 || !slices.Equal(clean.ISR, []int32{1}) || clean.Unclean {
		t.Fatalf("without unclean election: %+v", clean)
	}
	dirty := partitionsOf(n.Image(), "unclean-true")[0]
	if dirty.Leader != 2 || !slices.Equal(dirty.ISR, []int32{2}) || !dirty.Unclean || dirty.LeaderEpoch != 1 {
		t.Fatalf("with unclean election: %+v", dirty)
	}
	// Broker 1 registers again: the offline partition returns to it.
	registerSelf(t, n, 1)
	if back := partitionsOf(n.Image(), "unclean-false")[0]; back.Leader != 1 || back.LeaderEpoch != 2 {
		t.Fatalf("after broker 1 registered again: %+v", back)
	}
}
