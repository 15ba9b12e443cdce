package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Order-preserving encodings for the keys of window and session stores
// (drawn in the package documentation).
const (
	escapeByte     byte = 0x00
	escapedZero    byte = 0xFF // 0x00 in a user key is written 0x00 0xFF
	terminatorByte byte = 0x01 // a user key ends with 0x00 0x01
	int64Bytes          = 8
	seqBytes            = 4
)

// appendKey appends key escaped and terminated. Encoded keys order as the
// keys do, and none is a prefix of another: the terminator 0x00 0x01 sorts
// below both an escaped 0x00 (0x00 0xFF) and any other byte, so a key sorts
// before every longer key it is a prefix of, and the fields that follow it
// cannot blur the boundary.
func appendKey(dst, key []byte) []byte {
	for {
		i := bytes.IndexByte(key, escapeByte)
		if i < 0 {
			break
		}
		dst = append(append(dst, key[:i]...), escapeByte, escapedZero)
		key = key[i+1:]
	}
	return append(append(dst, key...), escapeByte, terminatorByte)
}

// decodeKey reverses appendKey on enc, the escaped key without its
// terminator. It returns enc itself when nothing was escaped; otherwise it
// unescapes into buf's storage and reports that it did, so that the caller
// can keep the grown buffer.
func decodeKey(buf, enc []byte) (key []byte, usedBuf bool, err error) {
	i := bytes.IndexByte(enc, escapeByte)
	if i < 0 {
		return enc, false, nil
	}
	out := append(buf[:0], enc[:i]...)
	for ; i < len(enc); i++ {
		c := enc[i]
		if c == escapeByte {
			if i+1 >= len(enc) || enc[i+1] != escapedZero {
				return nil, false, fmt.Errorf("%w: bad escape in key %x", ErrCorrupt, enc)
			}
			i++
		}
		out = append(out, c)
	}
	return out, true, nil
}

// appendInt64 appends v big-endian with its sign bit flipped, so that the
// bytes order as the numbers do, negative ones included.
func appendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// readInt64 reverses appendInt64 on the first 8 bytes of b.
func readInt64(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// prefixEnd returns the smallest key above every key that starts with
// prefix, or nil (unbounded) if there is none (prefix is all 0xFF).
func prefixEnd(prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			end := bytes.Clone(prefix[:i+1])
			end[i]++
			return end
		}
	}
	return nil
}

// floorDiv is a / b rounded towards minus infinity (b > 0), so that
// negative timestamps fall into segments in order too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// addSaturated is a + b clamped to the int64 range.
func addSaturated(a, b int64) int64 {
	sum := a + b
	switch {
	case b > 0 && sum < a:
		return math.MaxInt64
	case b < 0 && sum > a:
		return math.MinInt64
	}
	return sum
}
