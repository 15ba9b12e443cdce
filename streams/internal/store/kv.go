package store

import (
	"errors"
	"fmt"
)

// Operational errors, wrapped with the store's name and the operation where
// they are returned.
var (
	// ErrClosed is returned by every method of a store, and by its
	// iterators, after the store's Close.
	ErrClosed = errors.New("store: closed")
	// ErrIteratorsOpen is returned by Commit and Abort while an iterator
	// of the store is open: both replace the uncommitted writes that an
	// open iterator may still be reading. An iterator left open is a leak
	// in the processor that opened it, so it fails the commit loudly
	// rather than being closed behind the processor's back.
	ErrIteratorsOpen = errors.New("store: iterators still open")
	// ErrFailed wraps the error that stopped a persistent store: after a
	// failed write to disk the engine's state is unknown, so the store
	// refuses everything until it is closed and reopened, which recovers
	// the last commit.
	ErrFailed = errors.New("store: failed")
	// ErrCorrupt marks bytes on disk that are not what the store wrote:
	// the owner wipes the store (StateDir.RemoveTaskDir) and restores it
	// from its changelog.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrExpired is returned by Window.Put and Session.Put for a window or
	// session older than the store's retention, which is not stored: its
	// segment is gone or about to go. Processors count and skip such
	// records, as Kafka Streams does.
	ErrExpired = errors.New("store: expired")
)

// Checkpoint is what a store records with each commit about how much of its
// changelog it holds, so that restoration after a restart resumes where the
// store's durable state ends. It is a struct so that fields can be added
// (Kafka's checkpoint files, for instance, are per changelog partition).
type Checkpoint struct {
	// Offset is the next changelog offset to restore from: every change
	// logged below it is in the store. -1 means no checkpoint: restore
	// from the start of the changelog.
	Offset int64
}

// NoCheckpoint is the checkpoint of a store that has never committed one.
var NoCheckpoint = Checkpoint{Offset: -1}

// KeyValue is the byte-ordered key-value store of one task, transactional
// as in KIP-892: writes since the last Commit are buffered, visible to the
// store's own reads and iterators but not durable; Commit makes them durable
// at once together with a Checkpoint; Abort drops them.
//
// Keys order as bytes.Compare orders them. A nil or empty key is the empty
// key. A nil value given to Put deletes, as a null value does in Kafka
// Streams; an empty non-nil value is a value.
//
// A KeyValue is used by one goroutine at a time: the task that owns it
// (see the package documentation).
type KeyValue interface {
	// Name is the store's name, as the topology gives it.
	Name() string
	// Get returns the value of key, or nil if it has none. The returned
	// slice stays valid after later writes; the caller must not modify it.
	Get(key []byte) ([]byte, error)
	// Put sets key to value (nil value: Delete). The store copies both.
	Put(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// DeleteRange removes every key in [from, to); a nil bound is
	// unbounded. It costs what deleting the keys one by one would in
	// memory, and one range tombstone on disk.
	DeleteRange(from, to []byte) error
	// Range iterates in ascending order over the keys in [from, to); a nil
	// bound is unbounded. See Iterator for what it sees.
	Range(from, to []byte) (Iterator, error)
	// ReverseRange is Range in descending order.
	ReverseRange(from, to []byte) (Iterator, error)
	// Commit makes the writes since the last Commit durable, atomically
	// with cp: after a crash the store reopens with exactly the writes of
	// its last successful Commit and that Commit's checkpoint. It fails
	// with ErrIteratorsOpen while an iterator is open.
	Commit(cp Checkpoint) error
	// Abort drops the writes since the last Commit. It fails with
	// ErrIteratorsOpen while an iterator is open.
	Abort() error
	// Checkpoint returns the checkpoint of the last Commit, or
	// NoCheckpoint.
	Checkpoint() (Checkpoint, error)
	// ApproximateNumEntries estimates the number of keys, uncommitted
	// writes included. The memory store counts exactly.
	ApproximateNumEntries() int64
	// UncommittedBytes is the size of the writes since the last Commit,
	// which the store holds in memory: its owner commits early when it
	// passes a limit (KIP-892's statestore.uncommitted.max.bytes).
	UncommittedBytes() int64
	// Close releases the store, dropping uncommitted writes and ending
	// open iterators. It may be called from another goroutine once the
	// owning task has stopped using the store, and more than once.
	Close() error
}

// Iterator walks a range of a KeyValue. Its first Next moves to the first
// entry. It sees the uncommitted writes made before it was opened merged
// over the committed data, deletions included. Writes made while it is open
// never break it; whether it sees them depends on the engine (pebble's
// iterators do not, the memory store's may), so a processor that deletes
// entries while iterating them is safe.
type Iterator interface {
	// Next moves to the next entry and reports whether there is one.
	Next() bool
	// Key is the current key, valid until the next call to Next or Close.
	Key() []byte
	// Value is the current value, valid until the next call to Next or
	// Close.
	Value() []byte
	// Err is the error that ended the iteration, if any: check it after
	// Next returns false.
	Err() error
	// Close releases the iterator; a store's Commit and Abort wait for all
	// of its iterators to be closed. It may be called more than once.
	Close() error
}

// Logger receives every change written to a logged store, to send to the
// store's changelog topic. LogChange must not keep key or value after it
// returns (they belong to the caller): it copies what it sends. A nil value
// is a tombstone. Errors of the changelog producer surface when the task
// commits, not here.
type Logger interface {
	LogChange(key, value []byte)
}

// Restore applies one changelog record to the raw store being restored:
// a nil value deletes the key, anything else puts it. It serves every kind
// of store (key-value, window, session), because each logs the exact bytes
// it writes to its KeyValue. Restoration writes to the raw store, never
// through Logged, and commits with the checkpoint of the next offset to
// restore (and early, when UncommittedBytes grows past its limit).
func Restore(kv KeyValue, key, value []byte) error {
	if value == nil {
		return kv.Delete(key)
	}
	return kv.Put(key, value)
}

// errorf wraps err with the store's name and the operation.
func errorf(name, op string, err error) error {
	return fmt.Errorf("store %q: %s: %w", name, op, err)
}
