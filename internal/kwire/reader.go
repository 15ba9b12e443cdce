package kwire

import (
	"encoding/binary"
	"fmt"
)

// Reader decodes the big-endian fixed-width fields that Kafka's group
// protocol payloads are built from (Connect's Struct encodings, Kafka
// Streams' userdata). Its error is sticky: after the first failure every
// read returns a zero value, and the decoder checks Err once at the end,
// as kmsg's decoders do. Decoders build their own types (strings, arrays,
// ids) on Take and the fixed-width reads.
type Reader struct {
	// B holds the bytes not read yet.
	B []byte
	// Err is the first failure, wrapping Malformed.
	Err error
	// Malformed is the decoding package's sentinel, so that its callers
	// test errors with errors.Is against their own package's error.
	Malformed error
}

// Fail records a failure, unless one is recorded already, and drops the
// bytes left so that nothing more is read.
func (r *Reader) Fail(format string, args ...any) {
	if r.Err == nil {
		r.Err = fmt.Errorf("%w: "+format, append([]any{r.Malformed}, args...)...)
	}
	r.B = nil
}

// Take returns the next n bytes, aliasing the input, or nil after failing
// if fewer are left.
func (r *Reader) Take(n int, what string) []byte {
	if r.Err != nil {
		return nil
	}
	if n > len(r.B) {
		r.Fail("%s: %d bytes wanted, %d left", what, n, len(r.B))
		return nil
	}
	out := r.B[:n]
	r.B = r.B[n:]
	return out
}

// Uint8 reads one byte.
func (r *Reader) Uint8(what string) uint8 {
	if b := r.Take(1, what); b != nil {
		return b[0]
	}
	return 0
}

// Int16 reads Kafka's INT16.
func (r *Reader) Int16(what string) int16 {
	if b := r.Take(2, what); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

// Int32 reads Kafka's INT32.
func (r *Reader) Int32(what string) int32 {
	if b := r.Take(4, what); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

// Int64 reads Kafka's INT64.
func (r *Reader) Int64(what string) int64 {
	if b := r.Take(8, what); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}
