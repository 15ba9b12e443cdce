package store

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// segments is what window and session stores share: the time segment at
// the head of every key, retention and expiry, and logging each write to
// the changelog as the exact bytes written to the KeyValue.
type segments struct {
	kv          KeyValue
	log         Logger // nil: not logged
	intervalMs  int64
	retentionMs int64
	// observedMs is the largest timestamp put, or a lower bound of it
	// recovered from the data; math.MinInt64 before any.
	observedMs int64
	// expiredBeforeMs: timestamps below it are expired, refused by puts and
	// hidden from reads (segments are dropped whole, so the oldest live
	// segment may still hold some).
	expiredBeforeMs int64
	// droppedBelow: the segments below this id have been deleted.
	droppedBelow int64
}

func newSegments(kv KeyValue, log Logger, retention, interval time.Duration) (*segments, error) {
	if retention < time.Millisecond {
		return nil, fmt.Errorf("store %q: retention %v: must be at least 1ms", kv.Name(), retention)
	}
	if interval == 0 {
		// Kafka Streams' default: two segments' worth of retention, at
		// least a minute so that short retentions do not churn segments.
		interval = max(retention/2, time.Minute)
	}
	if interval < time.Millisecond {
		return nil, fmt.Errorf("store %q: segment interval %v: must be at least 1ms", kv.Name(), interval)
	}
	s := &segments{
		kv: kv, log: log, intervalMs: interval.Milliseconds(), retentionMs: retention.Milliseconds(),
		observedMs: math.MinInt64, expiredBeforeMs: math.MinInt64, droppedBelow: math.MinInt64,
	}
	return s, s.recover()
}

// recover derives stream time from the newest segment in the store, so
// that a store reopened or restored does not serve windows its retention
// had already expired. The segment's start is a lower bound of the stream
// time, which only makes expiry later, never earlier.
func (s *segments) recover() error {
	it, err := s.kv.ReverseRange(nil, nil)
	if err != nil {
		return err
	}
	defer it.Close()
	if !it.Next() {
		return it.Err()
	}
	key := it.Key()
	if len(key) < int64Bytes {
		return fmt.Errorf("store %q: %w: key %x has no segment", s.kv.Name(), ErrCorrupt, key)
	}
	// Clamped so that the product fits: only data at the extremes of time
	// is affected, and only by a lower bound.
	segment := min(max(readInt64(key), math.MinInt64/s.intervalMs), math.MaxInt64/s.intervalMs)
	s.observedMs = segment * s.intervalMs
	s.expiredBeforeMs = s.liveFrom(s.observedMs)
	return nil
}

// liveFrom is the oldest timestamp retention keeps at stream time t.
func (s *segments) liveFrom(t int64) int64 {
	return addSaturated(t, -s.retentionMs+1)
}

func (s *segments) segmentOf(ts int64) int64 { return floorDiv(ts, s.intervalMs) }

// admit accepts a write at timestamp ts, or refuses it with ErrExpired;
// a new stream time expires what retention no longer keeps.
func (s *segments) admit(ts int64) error {
	if ts < s.expiredBeforeMs {
		return fmt.Errorf("store %q: timestamp %d below %d: %w", s.kv.Name(), ts, s.expiredBeforeMs, ErrExpired)
	}
	if ts > s.observedMs {
		s.observedMs = ts
		return s.expireBefore(s.liveFrom(ts))
	}
	return nil
}

// expireBefore expires every timestamp below ts and deletes the segments
// that hold only such timestamps, in one range deletion. Expiry is not
// logged: the changelog topic has its own retention.
func (s *segments) expireBefore(ts int64) error {
	if ts <= s.expiredBeforeMs {
		return nil
	}
	s.expiredBeforeMs = ts
	segment := s.segmentOf(ts)
	if segment <= s.droppedBelow {
		return nil
	}
	// From nil: segments dropped by a write that was aborted since go too.
	if err := s.kv.DeleteRange(nil, appendInt64(nil, segment)); err != nil {
		return err
	}
	s.droppedBelow = segment
	return nil
}

// write puts (or, for a nil value, deletes) raw in the KeyValue and logs it.
func (s *segments) write(raw, value []byte) error {
	if err := Restore(s.kv, raw, value); err != nil {
		return err
	}
	if s.log != nil {
		s.log.LogChange(raw, value)
	}
	return nil
}

// segmentScan visits, segment by segment from first to last, the keys of
// each segment's span. It opens one KeyValue iterator per segment that
// holds keys, and skips absent segments by seeking to the key that follows:
// a scan over a long time range of a sparse store costs what its data does,
// not its number of segments.
type segmentScan struct {
	kv KeyValue
	// span gives the keys to visit in a segment: [lo, hi), nil hi being
	// unbounded.
	span          func(segment int64) (lo, hi []byte)
	segment, last int64
	end           []byte // the scan's upper bound, nil: unbounded
	lo, hi        []byte // the current segment's span
	it            Iterator
	err           error
	done          bool
}

// newSegmentScan opens the scan's first iterator, so that a closed store
// fails here rather than at the first Next.
func newSegmentScan(kv KeyValue, first, last int64, span func(int64) (lo, hi []byte)) (*segmentScan, error) {
	s := &segmentScan{kv: kv, span: span, segment: first, last: last, done: first > last}
	if s.done {
		return s, nil
	}
	if last < math.MaxInt64 {
		s.end = appendInt64(nil, last+1)
	}
	s.lo, s.hi = span(first)
	it, err := kv.Range(s.lo, s.end)
	if err != nil {
		return nil, err
	}
	s.it = it
	return s, nil
}

// next returns the next raw key and value, valid until the next call.
func (s *segmentScan) next() (key, value []byte, ok bool) {
	for !s.done {
		if s.it == nil {
			it, err := s.kv.Range(s.lo, s.end)
			if err != nil {
				s.finish(err)
				break
			}
			s.it = it
		}
		if !s.it.Next() {
			s.finish(s.it.Err())
			break
		}
		key = s.it.Key()
		if s.hi == nil || bytes.Compare(key, s.hi) < 0 || s.skipTo(key) {
			return key, s.it.Value(), true
		}
	}
	return nil, nil, false
}

// skipTo moves to the next segment whose span may hold keys, given key,
// the first key past the current span. It reports whether key is in the
// new span; if not, the iterator is closed for next to seek.
func (s *segmentScan) skipTo(key []byte) bool {
	if len(key) < int64Bytes {
		s.finish(fmt.Errorf("store %q: %w: key %x has no segment", s.kv.Name(), ErrCorrupt, key))
		return false
	}
	keySegment := readInt64(key)
	for {
		if s.segment == math.MaxInt64 {
			s.finish(nil)
			return false
		}
		next := max(s.segment+1, keySegment)
		if next > s.last {
			s.finish(nil)
			return false
		}
		s.segment = next
		s.lo, s.hi = s.span(next)
		switch {
		case bytes.Compare(key, s.lo) < 0:
			s.closeIterator()
			return false
		case s.hi == nil || bytes.Compare(key, s.hi) < 0:
			return true
		}
	}
}

func (s *segmentScan) closeIterator() {
	if s.it != nil {
		if err := s.it.Close(); err != nil && s.err == nil {
			s.err = err
		}
		s.it = nil
	}
}

func (s *segmentScan) finish(err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
	s.closeIterator()
	s.done = true
}

// close ends the scan; errors met are reported by err, not here.
func (s *segmentScan) close() { s.finish(nil) }

// timedIterator decodes the raw keys of a segmentScan, each a segment, a
// user key, its terminator and a fixed-size suffix of timestamps, and
// returns those that keep accepts.
type timedIterator struct {
	scan     *segmentScan
	name     string
	suffix   int                     // bytes after the terminator
	keep     func(times []byte) bool // which entries to return
	key      []byte
	keyBytes []byte // storage for unescaped keys
	times    []byte // the suffix of the current entry
	value    []byte
	err      error
}

// Next moves to the next entry and reports whether there is one.
func (it *timedIterator) Next() bool {
	for it.err == nil {
		raw, value, ok := it.scan.next()
		if !ok {
			it.err = it.scan.err
			break
		}
		end := len(raw) - it.suffix - 2 // the terminator's position
		if end < int64Bytes || raw[end] != escapeByte || raw[end+1] != terminatorByte {
			it.err = fmt.Errorf("store %q: %w: key %x", it.name, ErrCorrupt, raw)
			break
		}
		if !it.keep(raw[end+2:]) {
			continue
		}
		key, usedBuf, err := decodeKey(it.keyBytes, raw[int64Bytes:end])
		if err != nil {
			it.err = fmt.Errorf("store %q: key %x: %w", it.name, raw, err)
			break
		}
		if usedBuf {
			it.keyBytes = key
		}
		it.key, it.times, it.value = key, raw[end+2:], value
		return true
	}
	it.key, it.times, it.value = nil, nil, nil
	return false
}

// Key is the current entry's key, valid until the next call to Next.
func (it *timedIterator) Key() []byte { return it.key }

// Value is the current entry's value, valid until the next call to Next.
func (it *timedIterator) Value() []byte { return it.value }

// Err is the error that ended the iteration, if any.
func (it *timedIterator) Err() error { return it.err }

// Close releases the iterator; it may be called more than once.
func (it *timedIterator) Close() error {
	it.scan.close()
	return nil
}
