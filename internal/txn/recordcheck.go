package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// checkValue walks a __transaction_state value without decoding it, and
// fails unless every array and tagged field it announces is present. It
// exists because kmsg's decoder (v1.15.0) trusts a tagged field count: a
// 22-byte value announcing 2^32 tags keeps it looping for minutes after the
// bytes ran out. After checkValue, kmsg's loops and allocations are bounded
// by the value's length. It is a guard, not a second codec: the fields are
// skipped, not read.
func checkValue(value []byte) error {
	w := walker{b: value}
	version := w.int16()
	if w.bad {
		return errors.New("short value")
	}
	if version != 0 && version != valueVersion {
		return fmt.Errorf("unknown value version %d", version)
	}
	flexible := version >= 1
	w.skip(8 + 2 + 4 + 1) // producer id, epoch, timeout, state
	topics := w.arrayLen(flexible)
	for i := 0; i < topics && !w.bad; i++ {
		w.string(flexible)
		w.skip(4 * w.arrayLen(flexible))
		if flexible {
			w.tags()
		}
	}
	w.skip(8 + 8) // last update and start timestamps
	if flexible {
		w.tags()
	}
	if w.bad {
		return errors.New("truncated or inconsistent value")
	}
	return nil
}

// walker skips through Kafka's encoding; the first problem sets bad and
// makes every later step a no-op.
type walker struct {
	b   []byte
	bad bool
}

func (w *walker) fail() {
	w.bad, w.b = true, nil
}

func (w *walker) skip(n int) {
	if n < 0 || n > len(w.b) {
		w.fail()
		return
	}
	w.b = w.b[n:]
}

func (w *walker) int16() int16 {
	if len(w.b) < 2 {
		w.fail()
		return 0
	}
	v := int16(binary.BigEndian.Uint16(w.b))
	w.b = w.b[2:]
	return v
}

func (w *walker) int32() int32 {
	if len(w.b) < 4 {
		w.fail()
		return 0
	}
	v := int32(binary.BigEndian.Uint32(w.b))
	w.b = w.b[4:]
	return v
}

func (w *walker) uvarint() int {
	v, n := binary.Uvarint(w.b)
	if n <= 0 || n > 5 || v > math.MaxUint32 {
		w.fail()
		return 0
	}
	w.b = w.b[n:]
	return int(v)
}

// arrayLen is an array's element count; null and negative counts are empty,
// as kmsg reads them. A count larger than the bytes left is bad: every
// element takes at least one byte.
func (w *walker) arrayLen(flexible bool) int {
	var n int
	if flexible {
		n = w.uvarint() - 1
	} else {
		n = int(w.int32())
	}
	if n > len(w.b) {
		w.fail()
	}
	return max(n, 0)
}

func (w *walker) string(flexible bool) {
	if flexible {
		w.skip(w.uvarint() - 1)
		return
	}
	w.skip(int(w.int16()))
}

// tags skips a tagged field section: a count, then per field a tag, a size
// and that many bytes. Each field takes at least two bytes.
func (w *walker) tags() {
	n := w.uvarint()
	if n > len(w.b)/2 {
		w.fail()
		return
	}
	for i := 0; i < n && !w.bad; i++ {
		w.uvarint()
		w.skip(w.uvarint())
	}
}
