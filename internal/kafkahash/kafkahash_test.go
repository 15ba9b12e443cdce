package kafkahash

import "testing"

func TestPartitionFor(t *testing.T) {
	// Expected values are Java's String.hashCode (UTF-16 code units, 32-bit
	// wrap-around, computed independently) and Kafka's placement with 50
	// partitions, the default of both internal topics.
	tests := []struct {
		key  string
		hash int32
		p50  int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"my-group", -1906497762, 12},
		{"console-consumer-1", 35782224, 24},
		{"polygenelubricants", -2147483648, 0}, // hashCode is MinInt32: abs gives 0
		{"\U0001F600", 1772899, 49},            // 0xD83D*31 + 0xDE00: a surrogate pair in Java
	}
	for _, tt := range tests {
		if got := JavaStringHashCode(tt.key); got != tt.hash {
			t.Errorf("JavaStringHashCode(%q) = %d, want %d", tt.key, got, tt.hash)
		}
		if got := PartitionFor(tt.key, 50); got != tt.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tt.key, got, tt.p50)
		}
	}
	for _, n := range []int32{0, -1} {
		if got := PartitionFor("x", n); got != 0 {
			t.Errorf("PartitionFor with %d partitions = %d, want 0", n, got)
		}
	}
}
