package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// WindowOptions configure a window store.
type WindowOptions struct {
	// Retention is how long windows are kept behind the newest window
	// start put (window size plus grace, at least; Kafka's
	// windowstore.changelog.additional.retention.ms is the changelog's
	// business, not this store's). At least 1ms.
	Retention time.Duration
	// SegmentInterval is the span of window starts sharing a segment,
	// which expiry drops whole; 0: Retention/2, at least a minute, as in
	// Kafka Streams. It is part of the stored keys: changing it needs a
	// reset of the store and its changelog.
	SegmentInterval time.Duration
	// RetainDuplicates keeps every value put under the same key and window
	// start, in the order put (stream-stream joins); Put with a nil value
	// is then ignored, as Kafka Streams ignores it.
	RetainDuplicates bool
}

// Window is a window store: values by key and window start (milliseconds),
// kept in a KeyValue that it owns entirely, with the layout drawn in the
// package documentation. It commits, aborts and closes with its KeyValue.
// After the KeyValue's Abort, or a restoration, the owner makes a new
// Window over it: stream time is derived from the data when it is made.
type Window struct {
	segments   *segments
	duplicates bool
}

// NewWindow returns the window store kept in kv, logging its writes to log
// (nil: not logged). kv is the raw store, not Logged: the window store logs
// its own writes, and its expiry not at all.
func NewWindow(kv KeyValue, log Logger, opts WindowOptions) (*Window, error) {
	s, err := newSegments(kv, log, opts.Retention, opts.SegmentInterval)
	if err != nil {
		return nil, err
	}
	return &Window{segments: s, duplicates: opts.RetainDuplicates}, nil
}

// windowPrefix encodes the key's head up to and including the window start.
func (w *Window) windowPrefix(key []byte, start int64) []byte {
	raw := make([]byte, 0, int64Bytes+len(key)+2+int64Bytes+seqBytes)
	raw = appendInt64(raw, w.segments.segmentOf(start))
	raw = appendKey(raw, key)
	return appendInt64(raw, start)
}

// Put stores value for key's window starting at windowStart, or deletes it
// if value is nil. It returns ErrExpired, storing nothing, for a window
// older than retention.
func (w *Window) Put(key []byte, windowStart int64, value []byte) error {
	if w.duplicates && value == nil {
		return nil
	}
	if err := w.segments.admit(windowStart); err != nil {
		return err
	}
	raw := w.windowPrefix(key, windowStart)
	if w.duplicates {
		seq, err := w.nextSeq(raw)
		if err != nil {
			return err
		}
		raw = binary.BigEndian.AppendUint32(raw, seq)
	}
	return w.segments.write(raw, value)
}

// nextSeq returns the sequence number after the last one stored under
// prefix. Reading it from the store, rather than counting in memory as
// Kafka Streams does, keeps duplicates from overwriting each other after a
// restart, at the price of one seek a put.
func (w *Window) nextSeq(prefix []byte) (uint32, error) {
	it, err := w.segments.kv.ReverseRange(prefix, prefixEnd(prefix))
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if !it.Next() {
		return 0, it.Err()
	}
	key := it.Key()
	if len(key) != len(prefix)+seqBytes {
		return 0, fmt.Errorf("store %q: %w: window key %x", w.segments.kv.Name(), ErrCorrupt, key)
	}
	seq := binary.BigEndian.Uint32(key[len(prefix):])
	if seq == math.MaxUint32 {
		return 0, fmt.Errorf("store %q: more than %d values in one window of one key", w.segments.kv.Name(), uint64(math.MaxUint32))
	}
	return seq + 1, nil
}

// Fetch returns the value of key's window starting at windowStart, nil if
// there is none or it expired; with RetainDuplicates, the first one put.
func (w *Window) Fetch(key []byte, windowStart int64) ([]byte, error) {
	if windowStart < w.segments.expiredBeforeMs {
		return nil, nil
	}
	raw := w.windowPrefix(key, windowStart)
	if !w.duplicates {
		return w.segments.kv.Get(raw)
	}
	it, err := w.segments.kv.Range(raw, prefixEnd(raw))
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Next() {
		return nil, it.Err()
	}
	return bytes.Clone(it.Value()), nil
}

// FetchRange iterates over key's windows starting in [fromStart, toStart],
// by ascending start (duplicates in the order put).
func (w *Window) FetchRange(key []byte, fromStart, toStart int64) (*WindowIterator, error) {
	fromStart = max(fromStart, w.segments.expiredBeforeMs)
	span := func(segment int64) (lo, hi []byte) {
		head := appendKey(appendInt64(nil, segment), key)
		return appendInt64(bytes.Clone(head), fromStart), prefixEnd(appendInt64(head, toStart))
	}
	return w.newIterator(fromStart, toStart, span)
}

// FetchAll iterates over the windows of every key starting in
// [fromStart, toStart], by segment, then key, then start.
func (w *Window) FetchAll(fromStart, toStart int64) (*WindowIterator, error) {
	fromStart = max(fromStart, w.segments.expiredBeforeMs)
	return w.newIterator(fromStart, toStart, wholeSegment)
}

// All iterates over every window that has not expired, as FetchAll does.
func (w *Window) All() (*WindowIterator, error) {
	return w.FetchAll(math.MinInt64, math.MaxInt64)
}

// ExpireBefore expires the windows starting before ts, deleting the
// segments they fill, and refuses puts to them from now on (ErrExpired).
func (w *Window) ExpireBefore(ts int64) error { return w.segments.expireBefore(ts) }

// wholeSegment is the span of a scan that reads segments entirely.
func wholeSegment(segment int64) (lo, hi []byte) {
	lo = appendInt64(nil, segment)
	return lo, prefixEnd(lo)
}

func (w *Window) newIterator(fromStart, toStart int64, span func(int64) (lo, hi []byte)) (*WindowIterator, error) {
	first, last := w.segments.segmentOf(fromStart), w.segments.segmentOf(toStart)
	if fromStart > toStart {
		first, last = 1, 0 // empty
	}
	suffix := int64Bytes
	if w.duplicates {
		suffix += seqBytes
	}
	keep := func(times []byte) bool {
		start := readInt64(times)
		return start >= fromStart && start <= toStart
	}
	scan, err := newSegmentScan(w.segments.kv, first, last, span)
	if err != nil {
		return nil, err
	}
	return &WindowIterator{timedIterator{scan: scan, name: w.segments.kv.Name(), suffix: suffix, keep: keep}}, nil
}

// WindowIterator walks windows of a Window store. Like the KeyValue's
// iterators it must be closed before the KeyValue commits.
type WindowIterator struct{ timedIterator }

// Start is the current window's start, in milliseconds.
func (it *WindowIterator) Start() int64 {
	if it.times == nil {
		return 0
	}
	return readInt64(it.times)
}
