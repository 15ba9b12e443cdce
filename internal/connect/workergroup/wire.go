package workergroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed marks bytes that do not decode as Kafka Connect's group
// protocol: a short buffer, a negative or oversized length, an unknown
// version. Decoders wrap it with what they were reading; test with
// errors.Is.
var ErrMalformed = errors.New("malformed connect protocol bytes")

// ErrTooLong is returned by encoders given a string longer than Kafka's
// STRING type can carry (an int16 length).
var ErrTooLong = errors.New("string longer than 32767 bytes")

// Minimum encoded sizes, used to reject an array count larger than the
// bytes left could hold before allocating for it.
const (
	minConnectorAssignmentBytes = 2 + 4 // empty connector name, empty task array
	taskNumberBytes             = 4
)

// reader decodes Kafka's Struct types from a byte slice. The first error
// sticks: every read after it returns a zero value, and the caller checks
// err once at the end, as kmsg's decoders do.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
	r.b = nil
}

// exhausted reports whether no byte is left: Kafka's schemas that tolerate
// missing fields give such a field its default instead of failing.
func (r *reader) exhausted() bool { return len(r.b) == 0 }

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("%s: %d bytes wanted, %d left", what, n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) int16(what string) int16 {
	if b := r.take(2, what); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) int32(what string) int32 {
	if b := r.take(4, what); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *reader) int64(what string) int64 {
	if b := r.take(8, what); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

// string reads Kafka's STRING: an int16 length that must not be negative,
// then that many bytes.
func (r *reader) string(what string) string {
	n := r.int16(what)
	if r.err != nil {
		return ""
	}
	if n < 0 {
		r.fail("%s: negative string length %d", what, n)
		return ""
	}
	return string(r.take(int(n), what))
}

// nullableBytes reads Kafka's NULLABLE_BYTES: an int32 length, negative
// for null, then that many bytes. The result aliases the input.
func (r *reader) nullableBytes(what string) (b []byte, present bool) {
	n := r.int32(what)
	if r.err != nil || n < 0 {
		return nil, false
	}
	b = r.take(int(n), what)
	return b, r.err == nil
}

// arrayCount reads an ArrayOf count and checks that the bytes left can
// hold that many elements of at least minElementBytes each, so that no
// count from the wire sizes an allocation the input cannot back. A
// negative count is null when nullable, else malformed.
func (r *reader) arrayCount(what string, minElementBytes int, nullable bool) (count int, present bool) {
	n := r.int32(what)
	if r.err != nil {
		return 0, false
	}
	if n < 0 {
		if !nullable {
			r.fail("%s: negative array count %d", what, n)
		}
		return 0, false
	}
	if int64(n)*int64(minElementBytes) > int64(len(r.b)) {
		r.fail("%s: %d elements cannot fit in %d bytes", what, n, len(r.b))
		return 0, false
	}
	return int(n), true
}

// writer appends Kafka's Struct types; the first error sticks.
type writer struct {
	b   []byte
	err error
}

func (w *writer) int16(v int16) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(v)) }
func (w *writer) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }

func (w *writer) string(what, s string) {
	if len(s) > math.MaxInt16 {
		if w.err == nil {
			w.err = fmt.Errorf("%s of %d bytes: %w", what, len(s), ErrTooLong)
		}
		return
	}
	w.int16(int16(len(s)))
	w.b = append(w.b, s...)
}

// nullableBytes writes NULLABLE_BYTES; nil is null (length -1).
func (w *writer) nullableBytes(b []byte) {
	if b == nil {
		w.int32(-1)
		return
	}
	w.int32(int32(len(b)))
	w.b = append(w.b, b...)
}
