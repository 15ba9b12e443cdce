package recordbatch

// Kafka encodes record fields as zig-zag varints: at most 5 bytes for an
// int32 and 10 for an int64. A longer encoding is malformed even when its
// value would fit, as in Kafka's ByteUtils, so one record cannot hide bytes in
// padding.
const (
	maxVarintBytes  = 5
	maxVarlongBytes = 10
)

// readVarint decodes a zig-zag int32 varint from the start of b. It returns
// the value and the number of bytes read, or n == 0 when b is short, too
// long an encoding, or outside the int32 range.
func readVarint(b []byte) (value int32, n int) {
	v, n := readZigzag(b, maxVarintBytes)
	if n == 0 || v < -1<<31 || v > 1<<31-1 {
		return 0, 0
	}
	return int32(v), n
}

// readVarlong decodes a zig-zag int64 varint from the start of b, with n == 0
// on a short or overlong encoding.
func readVarlong(b []byte) (value int64, n int) {
	return readZigzag(b, maxVarlongBytes)
}

func readZigzag(b []byte, maxBytes int) (int64, int) {
	var u uint64
	var shift uint
	for i := 0; i < maxBytes && i < len(b); i++ {
		c := b[i]
		if i == maxVarlongBytes-1 && c > 1 {
			// The tenth byte may only carry the 64th bit.
			return 0, 0
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), i + 1
		}
		shift += 7
	}
	return 0, 0
}

// appendVarint appends v as a zig-zag varint (used by Build).
func appendVarint(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}
