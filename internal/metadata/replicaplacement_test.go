package metadata

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func brokersNoRack(ids ...int32) []PlacementBroker {
	out := make([]PlacementBroker, len(ids))
	for i, id := range ids {
		out[i] = PlacementBroker{ID: id}
	}
	return out
}

func TestPlaceReplicasWithoutRacks(t *testing.T) {
	// Kafka's AdminUtils gives this assignment for 5 brokers, 10 partitions,
	// rf 3 and a fixed start index of 0.
	got, err := PlaceReplicas(brokersNoRack(4, 3, 2, 1, 0), 10, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1}, {0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestPlaceReplicasErrors(t *testing.T) {
	tests := []struct {
		name       string
		brokers    []PlacementBroker
		partitions int
		rf         int
		want       error
	}{
		{"rf above brokers", brokersNoRack(1, 2), 3, 3, kerr.InvalidReplicationFactor},
		{"rf zero", brokersNoRack(1, 2), 3, 0, kerr.InvalidReplicationFactor},
		{"no brokers", nil, 1, 1, kerr.InvalidReplicationFactor},
		{"no partitions", brokersNoRack(1), 0, 1, kerr.InvalidPartitions},
		{"too many partitions", brokersNoRack(1), MaxPartitionsPerPlacement + 1, 1, kerr.InvalidPartitions},
		{"mixed racks", []PlacementBroker{{1, "a"}, {2, ""}}, 1, 1, ErrMixedRacks},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := PlaceReplicas(tt.brokers, tt.partitions, tt.rf, 0); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := PlaceReplicas(brokersNoRack(1, 1), 1, 1, 0); err == nil {
		t.Fatal("a broker listed twice was accepted")
	}
}

func TestRackAlternated(t *testing.T) {
	brokers := []PlacementBroker{{0, "rack1"}, {1, "rack3"}, {2, "rack3"}, {3, "rack2"}, {4, "rack2"}, {5, "rack1"}}
	got, racks := rackAlternated(brokers)
	var ids []int32
	for _, b := range got {
		ids = append(ids, b.ID)
	}
	if !slices.Equal(ids, []int32{0, 3, 1, 5, 4, 2}) || racks != 3 {
		t.Fatalf("got %v (%d racks)", ids, racks)
	}
}

// TestPlaceReplicasProperties checks, over many shapes, that replicas are
// distinct brokers, that leaders are spread evenly, and that with racks a
// partition spans as many racks as it can.
func TestPlaceReplicasProperties(t *testing.T) {
	rackSets := map[string][]string{
		"none":       nil,
		"two racks":  {"a", "b"},
		"three":      {"a", "b", "c"},
		"uneven":     {"a", "a", "a", "b"},
		"one rack":   {"x"},
		"five racks": {"r1", "r2", "r3", "r4", "r5"},
	}
	for name, rackNames := range rackSets {
		for n := 1; n <= 7; n++ {
			brokers := make([]PlacementBroker, n)
			racks := map[string]bool{}
			for i := range brokers {
				brokers[i] = PlacementBroker{ID: int32(10 + i)}
				if rackNames != nil {
					brokers[i].Rack = rackNames[i%len(rackNames)]
					racks[brokers[i].Rack] = true
				}
			}
			for rf := 1; rf <= n; rf++ {
				for start := 0; start < n; start++ {
					checkPlacement(t, fmt.Sprintf("%s n=%d rf=%d start=%d", name, n, rf, start), brokers, len(racks), rf, start)
				}
			}
		}
	}
}

func checkPlacement(t *testing.T, name string, brokers []PlacementBroker, racks, rf, start int) {
	t.Helper()
	partitions := 3 * len(brokers)
	got, err := PlaceReplicas(brokers, partitions, rf, start)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rackOf := map[int32]string{}
	for _, b := range brokers {
		rackOf[b.ID] = b.Rack
	}
	leaders := map[int32]int{}
	for p, replicas := range got {
		if len(replicas) != rf {
			t.Fatalf("%s: partition %d has %v", name, p, replicas)
		}
		seen := map[int32]bool{}
		usedRacks := map[string]bool{}
		for _, id := range replicas {
			if seen[id] {
				t.Fatalf("%s: partition %d repeats broker %d: %v", name, p, id, replicas)
			}
			seen[id] = true
			usedRacks[rackOf[id]] = true
		}
		if racks > 0 && len(usedRacks) < min(rf, racks) {
			t.Fatalf("%s: partition %d spans %d racks, could span %d: %v", name, p, len(usedRacks), min(rf, racks), replicas)
		}
		leaders[replicas[0]]++
	}
	for _, b := range brokers {
		if leaders[b.ID] != 3 {
			t.Fatalf("%s: broker %d leads %d partitions, want 3", name, b.ID, leaders[b.ID])
		}
	}
}
