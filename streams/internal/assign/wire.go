package assign

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/fjordhq/fjord/internal/kwire"
)

// Limits of the userdata encodings. A decoder checks every length against
// these and against the bytes left before it allocates, so hostile or
// corrupt userdata costs at most a few times its own size in memory.
const (
	// maxNameBytes bounds a process id, an endpoint or a topic name. Kafka
	// topic names are at most 249 bytes and host names at most 253 (RFC
	// 1035), so 1 KiB leaves room for a port and odd process ids.
	maxNameBytes = 1024
	// maxTasks bounds every list of tasks and of offset sums. Kafka Streams
	// applications run up to a few tens of thousands of tasks; a million
	// is far past any but still bounds a decode.
	maxTasks = 1 << 20
	// maxHosts bounds the endpoints of a partitions-by-host map: one per
	// instance of the application.
	maxHosts = 1 << 16
	// maxHostTopics bounds the topics listed under one endpoint.
	maxHostTopics = 1 << 16
	// maxHostPartitions bounds the partitions of one topic under one
	// endpoint (a Kafka topic has at most a few hundred thousand).
	maxHostPartitions = 1 << 20
)

// Sizes in bytes of the fixed-size elements, used to check a count against
// the bytes left before allocating.
const (
	taskBytes      = 4 + 4 // subtopology int32, partition int32
	offsetSumBytes = 8 + 8 // task, offset sum int64
	minHostBytes   = 2 + 4 // empty endpoint, zero topics
	minTopicBytes  = 2 + 4 // empty topic, zero partitions
	partitionBytes = 4     // int32
)

// ErrMalformed marks userdata that does not decode: truncated, over a
// limit, or holding values no encoder writes. Errors wrap it with what
// was wrong; check with errors.Is.
var ErrMalformed = errors.New("assign: malformed userdata")

// ErrUnsupportedVersion marks userdata of a version this code does not
// know, written by a newer (or foreign) member.
var ErrUnsupportedVersion = errors.New("assign: unsupported userdata version")

// ErrorCode is the error a member reports in its Subscription or the leader
// in an Assignment. The values are those of Kafka Streams' AssignorError.
type ErrorCode int32

const (
	// ErrorNone: no error.
	ErrorNone ErrorCode = 0
	// ErrorIncompleteSourceTopicMetadata: the leader could not learn the
	// partitions of some source topic.
	ErrorIncompleteSourceTopicMetadata ErrorCode = 1
	// ErrorVersionProbing: the leader asks members to rejoin with another
	// userdata version.
	ErrorVersionProbing ErrorCode = 2
	// ErrorAssignment: the leader could not compute an assignment.
	ErrorAssignment ErrorCode = 3
	// ErrorShutdownRequested: a member asked every instance of the
	// application to shut down (KIP-671); the leader passes it to all.
	ErrorShutdownRequested ErrorCode = 4
)

// reader decodes userdata on kwire's fixed-width reader.
type reader struct{ kwire.Reader }

func newReader(b []byte) *reader {
	return &reader{kwire.Reader{B: b, Malformed: ErrMalformed}}
}

// name reads a uint16-length string of at most maxNameBytes.
func (r *reader) name(what string) string {
	b := r.Take(2, what)
	if b == nil {
		return ""
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > maxNameBytes {
		r.Fail("%s: %d bytes, over the limit of %d", what, n, maxNameBytes)
		return ""
	}
	return string(r.Take(n, what))
}

// count reads a uint32 list length and checks it against limit and against
// the bytes left, each element taking at least elemBytes.
func (r *reader) count(what string, elemBytes, limit int) int {
	b := r.Take(4, what)
	if b == nil {
		return 0
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(limit) {
		r.Fail("%s: %d entries, over the limit of %d", what, n, limit)
		return 0
	}
	if uint64(n)*uint64(elemBytes) > uint64(len(r.B)) {
		r.Fail("%s: %d entries need at least %d bytes, %d left", what, n, uint64(n)*uint64(elemBytes), len(r.B))
		return 0
	}
	return int(n)
}

// task reads a task id and refuses negative parts.
func (r *reader) task(what string) TaskID {
	sub, part := r.Int32(what), r.Int32(what)
	if r.Err == nil && (sub < 0 || part < 0) {
		r.Fail("%s: negative task id %d_%d", what, sub, part)
	}
	return TaskID{Subtopology: int(sub), Partition: part}
}

// tasks reads a list of distinct task ids.
func (r *reader) tasks(what string) []TaskID {
	n := r.count(what, taskBytes, maxTasks)
	if n == 0 {
		return nil
	}
	out := make([]TaskID, 0, n)
	seen := make(map[TaskID]struct{}, n)
	for range n {
		t := r.task(what)
		if r.Err != nil {
			return nil
		}
		if _, dup := seen[t]; dup {
			r.Fail("%s: task %s listed twice", what, t)
			return nil
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	return out
}

// done fails if bytes are left over: every version's layout is exact.
func (r *reader) done(what string) error {
	if r.Err == nil && len(r.B) > 0 {
		r.Fail("%s: %d bytes after the end", what, len(r.B))
	}
	return r.Err
}

// writer appends big-endian fields and records the first value that
// breaks a limit, so that encoders check it once at the end. Its errors
// wrap ErrInvalidInput: the value to encode breaks the type's contract.
type writer struct {
	b   []byte
	err error
}

func (w *writer) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: cannot encode: "+format, append([]any{ErrInvalidInput}, args...)...)
	}
}

func (w *writer) uint8(v uint8) { w.b = append(w.b, v) }
func (w *writer) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }
func (w *writer) uint32(v int)  { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) uint16(v int)  { w.b = binary.BigEndian.AppendUint16(w.b, uint16(v)) }
func (w *writer) task(t TaskID) { w.int32(int32(t.Subtopology)); w.int32(t.Partition) }
func (w *writer) raw(s string)  { w.b = append(w.b, s...) }

func (w *writer) name(what, s string) {
	if len(s) > maxNameBytes {
		w.fail("%s is %d bytes, over the limit of %d", what, len(s), maxNameBytes)
		return
	}
	w.uint16(len(s))
	w.raw(s)
}

// count writes a list length after checking it against limit.
func (w *writer) count(what string, n, limit int) bool {
	if n > limit {
		w.fail("%s has %d entries, over the limit of %d", what, n, limit)
		return false
	}
	w.uint32(n)
	return true
}

func (w *writer) tasks(what string, ts []TaskID) {
	if !w.count(what, len(ts), maxTasks) {
		return
	}
	seen := make(map[TaskID]struct{}, len(ts))
	for _, t := range ts {
		if !t.valid() {
			w.fail("%s: task %s is out of range", what, t)
			return
		}
		if _, dup := seen[t]; dup {
			w.fail("%s: task %s listed twice", what, t)
			return
		}
		seen[t] = struct{}{}
		w.task(t)
	}
}
