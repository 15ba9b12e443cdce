// Package kafkahash places keys on the partitions of Kafka's internal topics
// the way Kafka does, so that a transactional id or a group id lands on the
// same partition of __transaction_state or __consumer_offsets as it would in
// a Kafka cluster: Utils.abs(key.hashCode) % partitions, with Java's
// String.hashCode. It has no state and is safe for concurrent use.
package kafkahash

// JavaStringHashCode is Java's String.hashCode: s*31^(n-1) + ... over the
// UTF-16 code units of s, wrapping at 32 bits. A rune outside the basic
// plane counts as its surrogate pair, as Java stores it.
func JavaStringHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// PartitionFor is the partition of a topic with the given number of
// partitions that holds key: Kafka's Utils.abs(key.hashCode) % partitions,
// where abs maps math.MinInt32 to 0 rather than overflowing. It is 0 when
// partitions is not positive.
func PartitionFor(key string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	h := JavaStringHashCode(key)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}
