package group

import "github.com/fjordhq/fjord/internal/kafkahash"

// PartitionFor is the __consumer_offsets partition that holds groupID, as
// Kafka places it (kafkahash).
func PartitionFor(groupID string, partitions int32) int32 {
	return kafkahash.PartitionFor(groupID, partitions)
}
