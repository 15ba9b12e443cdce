package metadata

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
)

// noRackPlaceholder stands for "no broker.rack" when some brokers have a
// rack and others do not. PlaceReplicas refuses such a mix, as
// Kafka's ZooKeeper-era placement did; Kafka's KRaft placer instead treats
// the rackless brokers as one more rack, which keeps topic creation working
// while an operator rolls rack labels out broker by broker. fjord does the
// latter. The NUL byte cannot appear in a configured rack name.
const noRackPlaceholder = "\x00no-rack"

// placementBrokers lists the brokers new replicas may go to: registered and
// unfenced, sorted by id, with their racks.
func placementBrokers(img *Image) []PlacementBroker {
	out := make([]PlacementBroker, 0, len(img.brokers))
	withRack := 0
	for id, br := range img.brokers {
		if br.Fenced {
			continue
		}
		out = append(out, PlacementBroker{ID: id, Rack: br.Rack})
		if br.Rack != "" {
			withRack++
		}
	}
	if withRack > 0 && withRack < len(out) {
		for i := range out {
			if out[i].Rack == "" {
				out[i].Rack = noRackPlaceholder
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// placeNewPartitions places the replicas of partitions first..first+count-1
// of topic name with PlaceReplicas (Kafka's rack-aware round
// robin) over the unfenced brokers. New partitions of an existing topic
// continue the topic's round robin: the placement is computed from partition
// 0 and the new tail is kept, as Kafka starts at the first new partition id.
func placeNewPartitions(img *Image, name string, first, count int32, rf int) ([][]int32, error) {
	brokers := placementBrokers(img)
	if rf > len(brokers) {
		return nil, newError(kerr.InvalidReplicationFactor,
			fmt.Sprintf("replication factor %d is larger than the %d available brokers", rf, len(brokers)))
	}
	if first < 0 || count <= 0 || first+count > MaxPartitionsPerTopic {
		return nil, newError(kerr.InvalidPartitions, fmt.Sprintf("partitions %d..%d outside 0..%d", first, first+count-1, MaxPartitionsPerTopic-1))
	}
	placed, err := PlaceReplicas(brokers, int(first+count), rf, placementStart(name, len(brokers)))
	if err != nil {
		return nil, placementError(err)
	}
	return placed[first:], nil
}

// placementError keeps the Kafka code PlaceReplicas wraps.
func placementError(err error) error {
	for _, code := range []*kerr.Error{kerr.InvalidReplicationFactor, kerr.InvalidPartitions} {
		if errors.Is(err, code) {
			return newError(code, err.Error())
		}
	}
	return newError(kerr.InvalidReplicationFactor, err.Error())
}

// placementStart derives the round-robin start from the topic name, so
// leaders of different topics start on different brokers yet a test can
// predict them.
func placementStart(name string, brokers int) int {
	if brokers == 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return int(h.Sum32() % uint32(brokers))
}

// liveBrokers reports whether a broker is registered and unfenced in img:
// the brokers that may lead or join an ISR.
func liveBrokers(img *Image) func(int32) bool {
	return func(id int32) bool {
		br, ok := img.brokers[id]
		return ok && !br.Fenced
	}
}
