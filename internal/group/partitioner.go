package group

// javaStringHashCode is Java's String.hashCode over UTF-16 code units, which
// Kafka uses to place a group on a partition of __consumer_offsets. Matching
// it keeps a group on the same partition as a Kafka cluster would put it.
func javaStringHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			// Outside the basic plane Java sees a surrogate pair.
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// PartitionFor is the __consumer_offsets partition that holds groupID:
// Kafka's Utils.abs(groupId.hashCode) % partitions, where abs maps
// math.MinInt32 to 0 rather than overflowing.
func PartitionFor(groupID string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	h := javaStringHashCode(groupID)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}
