package kwire

import (
	"encoding/binary"
	"math"
)

// Walker skips through a value in Kafka's encoding without decoding it, so
// that a guard can fail a value before kmsg reads it. kmsg's decoders
// (v1.15.0) trust a tagged-field count: a value of a few bytes announcing
// 2^32 tags keeps one looping for minutes after the bytes ran out. A guard
// walks the value's layout with a Walker first; once it passes, kmsg's
// loops and allocations are bounded by the value's length. It is a guard,
// not a second codec: fields are skipped, not read.
//
// The first problem sets Bad and makes every later step a no-op.
type Walker struct {
	b   []byte
	bad bool
}

// NewWalker walks b.
func NewWalker(b []byte) *Walker { return &Walker{b: b} }

// Bad reports whether a step went past the bytes or met an impossible count.
func (w *Walker) Bad() bool { return w.bad }

func (w *Walker) fail() {
	w.bad, w.b = true, nil
}

// Skip skips n bytes.
func (w *Walker) Skip(n int) {
	if n < 0 || n > len(w.b) {
		w.fail()
		return
	}
	w.b = w.b[n:]
}

// Int16 reads a big-endian int16 (a version, a string length).
func (w *Walker) Int16() int16 {
	if len(w.b) < 2 {
		w.fail()
		return 0
	}
	v := int16(binary.BigEndian.Uint16(w.b))
	w.b = w.b[2:]
	return v
}

// Int32 reads a big-endian int32 (an array or bytes length).
func (w *Walker) Int32() int32 {
	if len(w.b) < 4 {
		w.fail()
		return 0
	}
	v := int32(binary.BigEndian.Uint32(w.b))
	w.b = w.b[4:]
	return v
}

// Uvarint reads an unsigned varint of at most 32 bits, as Kafka's are.
func (w *Walker) Uvarint() int {
	v, n := binary.Uvarint(w.b)
	if n <= 0 || n > 5 || v > math.MaxUint32 {
		w.fail()
		return 0
	}
	w.b = w.b[n:]
	return int(v)
}

// ArrayLen is an array's element count; null and negative counts are
// empty, as kmsg reads them. A count larger than the bytes left is bad:
// every element takes at least one byte.
func (w *Walker) ArrayLen(flexible bool) int {
	var n int
	if flexible {
		n = w.Uvarint() - 1
	} else {
		n = int(w.Int32())
	}
	if n > len(w.b) {
		w.fail()
	}
	return max(n, 0)
}

// String skips a string; a null one is bad.
func (w *Walker) String(flexible bool) {
	if flexible {
		w.Skip(w.Uvarint() - 1)
		return
	}
	w.Skip(int(w.Int16()))
}

// NullableString skips a string that may be null.
func (w *Walker) NullableString(flexible bool) {
	n := 0
	if flexible {
		n = w.Uvarint() - 1
	} else {
		n = int(w.Int16())
	}
	if n >= 0 {
		w.Skip(n)
	}
}

// Bytes skips a byte array that may be null.
func (w *Walker) Bytes(flexible bool) {
	n := 0
	if flexible {
		n = w.Uvarint() - 1
	} else {
		n = int(w.Int32())
	}
	if n >= 0 {
		w.Skip(n)
	}
}

// Tags skips a tagged-field section: a count, then per field a tag, a size
// and that many bytes. Each field takes at least two bytes.
func (w *Walker) Tags() {
	n := w.Uvarint()
	if n > len(w.b)/2 {
		w.fail()
		return
	}
	for i := 0; i < n && !w.bad; i++ {
		w.Uvarint()
		w.Skip(w.Uvarint())
	}
}
