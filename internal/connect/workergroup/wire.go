package workergroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/fjordhq/fjord/internal/kwire"
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

// reader decodes Kafka's Struct types on kwire's fixed-width reader.
type reader struct{ kwire.Reader }

func newReader(b []byte) *reader {
	return &reader{kwire.Reader{B: b, Malformed: ErrMalformed}}
}

// exhausted reports whether no byte is left: Kafka's schemas that tolerate
// missing fields give such a field its default instead of failing.
func (r *reader) exhausted() bool { return len(r.B) == 0 }

// string reads Kafka's STRING: an int16 length that must not be negative,
// then that many bytes.
func (r *reader) string(what string) string {
	n := r.Int16(what)
	if r.Err != nil {
		return ""
	}
	if n < 0 {
		r.Fail("%s: negative string length %d", what, n)
		return ""
	}
	return string(r.Take(int(n), what))
}

// nullableBytes reads Kafka's NULLABLE_BYTES: an int32 length, negative
// for null, then that many bytes. The result aliases the input.
func (r *reader) nullableBytes(what string) (b []byte, present bool) {
	n := r.Int32(what)
	if r.Err != nil || n < 0 {
		return nil, false
	}
	b = r.Take(int(n), what)
	return b, r.Err == nil
}

// arrayCount reads an ArrayOf count and checks that the bytes left can
// hold that many elements of at least minElementBytes each, so that no
// count from the wire sizes an allocation the input cannot back. A
// negative count is null when nullable, else malformed.
func (r *reader) arrayCount(what string, minElementBytes int, nullable bool) (count int, present bool) {
	n := r.Int32(what)
	if r.Err != nil {
		return 0, false
	}
	if n < 0 {
		if !nullable {
			r.Fail("%s: negative array count %d", what, n)
		}
		return 0, false
	}
	if int64(n)*int64(minElementBytes) > int64(len(r.B)) {
		r.Fail("%s: %d elements cannot fit in %d bytes", what, n, len(r.B))
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
