package metadata

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
)

// PlacementBroker is a broker as replica placement sees it.
type PlacementBroker struct {
	ID int32
	// Rack is broker.rack, or "" when not set.
	Rack string
}

// MaxPartitionsPerPlacement bounds one placement: CreateTopics and
// CreatePartitions are refused above it before anything is allocated.
const MaxPartitionsPerPlacement = 1 << 20

// ErrMixedRacks is returned when some brokers have a rack and others not:
// placement cannot honour racks it only partly knows (Kafka refuses too).
var ErrMixedRacks = errors.New("metadata: not all brokers have rack information")

// PlaceReplicas assigns rf replicas to each of partitions partitions, the
// first being the preferred leader, as Kafka's AdminUtils.assignReplicasToBrokers:
//
//   - brokers are ordered by id, or, when every broker has a rack, in an
//     order alternating racks (rack a's first, rack b's first, ..., rack a's
//     second, ...), so that consecutive leaders sit on different racks;
//   - partition p's leader is broker (p + startIndex) mod n;
//   - its followers are at increasing shifts from the leader, the shift
//     growing by one after every n partitions, so that followers of one
//     broker's partitions spread over all the others;
//   - with racks, a follower is skipped while it would put a second replica
//     on a rack (or broker) that has one and some rack (or broker) does not.
//
// startIndex makes the result deterministic; the controller passes a random
// value in [0, n) so that topics do not all start on the same broker. The
// same startIndex shifts the followers as Kafka's fixed start does.
//
// rf above the broker count is INVALID_REPLICATION_FACTOR, partitions < 1 is
// INVALID_PARTITIONS, as CreateTopics answers.
func PlaceReplicas(brokers []PlacementBroker, partitions, rf, startIndex int) ([][]int32, error) {
	switch {
	case partitions < 1 || partitions > MaxPartitionsPerPlacement:
		return nil, fmt.Errorf("%d partitions: %w", partitions, kerr.InvalidPartitions)
	case rf < 1:
		return nil, fmt.Errorf("replication factor %d: %w", rf, kerr.InvalidReplicationFactor)
	case rf > len(brokers):
		return nil, fmt.Errorf("replication factor %d larger than the %d available brokers: %w", rf, len(brokers), kerr.InvalidReplicationFactor)
	case startIndex < 0:
		return nil, fmt.Errorf("replica placement start index %d is negative", startIndex)
	}
	sorted := slices.Clone(brokers)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].ID == sorted[i-1].ID {
			return nil, fmt.Errorf("broker %d listed twice", sorted[i].ID)
		}
	}
	withRack := 0
	for _, b := range sorted {
		if b.Rack != "" {
			withRack++
		}
	}
	switch withRack {
	case 0:
		return placeWithoutRacks(sorted, partitions, rf, startIndex), nil
	case len(sorted):
		return placeWithRacks(sorted, partitions, rf, startIndex), nil
	default:
		return nil, fmt.Errorf("%w: %d of %d have broker.rack", ErrMixedRacks, withRack, len(sorted))
	}
}

// followerIndex is where the j-th follower of a partition led by brokers[first]
// goes: never the leader itself, since the shift is in [1, n-1].
func followerIndex(first, shift, j, n int) int {
	return (first + 1 + (shift+j)%(n-1)) % n
}

func placeWithoutRacks(brokers []PlacementBroker, partitions, rf, startIndex int) [][]int32 {
	n := len(brokers)
	out := make([][]int32, partitions)
	shift := startIndex
	for p := 0; p < partitions; p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + startIndex) % n
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, brokers[first].ID)
		for j := 0; j < rf-1; j++ {
			replicas = append(replicas, brokers[followerIndex(first, shift, j, n)].ID)
		}
		out[p] = replicas
	}
	return out
}

func placeWithRacks(brokers []PlacementBroker, partitions, rf, startIndex int) [][]int32 {
	arranged, racks := rackAlternated(brokers)
	n := len(arranged)
	out := make([][]int32, partitions)
	shift := startIndex
	for p := 0; p < partitions; p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + startIndex) % n
		leader := arranged[first]
		replicas := make([]int32, 0, rf)
		replicas = append(replicas, leader.ID)
		usedRacks := map[string]bool{leader.Rack: true}
		usedBrokers := map[int32]bool{leader.ID: true}
		k := 0
		for len(replicas) < rf {
			b := arranged[followerIndex(first, shift*racks, k, n)]
			k++
			// Prefer a new rack, then a new broker; once every rack (or
			// broker) holds a replica any may take another.
			if (!usedRacks[b.Rack] || len(usedRacks) == racks) && (!usedBrokers[b.ID] || len(usedBrokers) == n) {
				replicas = append(replicas, b.ID)
				usedRacks[b.Rack], usedBrokers[b.ID] = true, true
			}
		}
		out[p] = replicas
	}
	return out
}

// rackAlternated orders brokers (sorted by id) by taking one from each rack
// in rack-name order, round after round, and returns the number of racks.
func rackAlternated(brokers []PlacementBroker) ([]PlacementBroker, int) {
	byRack := map[string][]PlacementBroker{}
	var racks []string
	for _, b := range brokers {
		if _, ok := byRack[b.Rack]; !ok {
			racks = append(racks, b.Rack)
		}
		byRack[b.Rack] = append(byRack[b.Rack], b)
	}
	sort.Strings(racks)
	out := make([]PlacementBroker, 0, len(brokers))
	for round := 0; len(out) < len(brokers); round++ {
		for _, r := range racks {
			if round < len(byRack[r]) {
				out = append(out, byRack[r][round])
			}
		}
	}
	return out, len(racks)
}
