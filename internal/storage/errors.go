package storage

import (
	"errors"
	"fmt"
)

// Operational errors, wrapped with context where they are returned.
var (
	// ErrOffsetOutOfRange is returned for an offset below the log start
	// offset or above the log end offset (Kafka's OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("storage: log closed")
	// ErrInvalidBatch is returned by Append for bytes that are not one
	// whole v2 record batch.
	ErrInvalidBatch = errors.New("storage: invalid record batch")
	// ErrLogFailed wraps the I/O error that stopped the log. After a failed
	// write or fsync the state of the page cache is unknown, so the log
	// refuses further appends and syncs until it is reopened (recovery then
	// decides what survived), as Kafka takes a failed log dir offline.
	ErrLogFailed = errors.New("storage: log failed")
	// ErrInvalidTxn is returned by AddAbortedTxn for an entry that does not
	// fit the log: offsets out of order or outside the log.
	ErrInvalidTxn = errors.New("storage: invalid aborted transaction")
	// ErrCorruption marks every CorruptionError for errors.Is.
	ErrCorruption = errors.New("storage: corruption")
)

// CorruptionError reports bytes on disk that are not what the log wrote:
// a torn or damaged batch, or an index that disagrees with its log.
// Recovery repairs what it finds; readers return it when a file changed
// under them.
type CorruptionError struct {
	Path     string
	Position int64
	Reason   string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("storage: corruption in %s at position %d: %s", e.Path, e.Position, e.Reason)
}

// Is makes errors.Is(err, ErrCorruption) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorruption }

func corruptf(path string, pos int64, format string, args ...any) error {
	return &CorruptionError{Path: path, Position: pos, Reason: fmt.Sprintf(format, args...)}
}
