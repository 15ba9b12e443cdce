package store

import (
	"fmt"
	"math"
	"time"
)

// SessionOptions configure a session store.
type SessionOptions struct {
	// Retention is how long sessions are kept behind the newest session
	// end put (the inactivity gap plus grace, at least). At least 1ms.
	Retention time.Duration
	// SegmentInterval is the span of session ends sharing a segment; 0:
	// Retention/2, at least a minute. It is part of the stored keys.
	SegmentInterval time.Duration
}

// Session is a session store: values by key and session [start, end], in
// milliseconds, kept in a KeyValue that it owns entirely, with the layout
// drawn in the package documentation. Segments go by session end, which is
// what expiry and FindSessions bound. As with Window, the owner makes a new
// Session over the KeyValue after an Abort or a restoration.
type Session struct {
	segments *segments
}

// NewSession returns the session store kept in kv, logging its writes to
// log (nil: not logged). kv is the raw store, not Logged, as for NewWindow.
func NewSession(kv KeyValue, log Logger, opts SessionOptions) (*Session, error) {
	s, err := newSegments(kv, log, opts.Retention, opts.SegmentInterval)
	if err != nil {
		return nil, err
	}
	return &Session{segments: s}, nil
}

// sessionKey encodes a session's key.
func (s *Session) sessionKey(key []byte, start, end int64) []byte {
	raw := make([]byte, 0, int64Bytes+len(key)+2+2*int64Bytes)
	raw = appendInt64(raw, s.segments.segmentOf(end))
	raw = appendKey(raw, key)
	return appendInt64(appendInt64(raw, end), start)
}

// Put stores value for key's session from start to end, or removes it if
// value is nil. It returns ErrExpired, storing nothing, for a session that
// ended before retention.
func (s *Session) Put(key []byte, start, end int64, value []byte) error {
	if start > end {
		return fmt.Errorf("store %q: session starts at %d after its end %d", s.segments.kv.Name(), start, end)
	}
	if err := s.segments.admit(end); err != nil {
		return err
	}
	return s.segments.write(s.sessionKey(key, start, end), value)
}

// FetchSession returns the value of key's session from start to end, or
// nil.
func (s *Session) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if end < s.segments.expiredBeforeMs {
		return nil, nil
	}
	return s.segments.kv.Get(s.sessionKey(key, start, end))
}

// FindSessions iterates over key's sessions that end at or after
// earliestEnd and start at or before latestStart, by ascending end, then
// start: the sessions a record at a time t may merge with are
// FindSessions(key, t-gap, t+gap).
func (s *Session) FindSessions(key []byte, earliestEnd, latestStart int64) (*SessionIterator, error) {
	earliestEnd = max(earliestEnd, s.segments.expiredBeforeMs)
	span := func(segment int64) (lo, hi []byte) {
		head := appendKey(appendInt64(nil, segment), key)
		return appendInt64(head, earliestEnd), prefixEnd(head)
	}
	keep := func(times []byte) bool {
		return readInt64(times) >= earliestEnd && readInt64(times[int64Bytes:]) <= latestStart
	}
	// Sessions may end at any time after latestStart, so the scan runs to
	// the newest segment; absent segments cost nothing (segmentScan).
	return s.newIterator(s.segments.segmentOf(earliestEnd), math.MaxInt64, span, keep)
}

// FetchKey iterates over all of key's sessions, by ascending end, then
// start.
func (s *Session) FetchKey(key []byte) (*SessionIterator, error) {
	return s.FindSessions(key, math.MinInt64, math.MaxInt64)
}

// All iterates over every session that has not expired, by segment, then
// key, then end, then start.
func (s *Session) All() (*SessionIterator, error) {
	earliestEnd := s.segments.expiredBeforeMs
	keep := func(times []byte) bool { return readInt64(times) >= earliestEnd }
	return s.newIterator(s.segments.segmentOf(earliestEnd), math.MaxInt64, wholeSegment, keep)
}

// ExpireBefore expires the sessions that end before ts, deleting the
// segments they fill, and refuses puts to them from now on (ErrExpired).
func (s *Session) ExpireBefore(ts int64) error { return s.segments.expireBefore(ts) }

func (s *Session) newIterator(first, last int64, span func(int64) (lo, hi []byte), keep func([]byte) bool) (*SessionIterator, error) {
	scan, err := newSegmentScan(s.segments.kv, first, last, span)
	if err != nil {
		return nil, err
	}
	return &SessionIterator{timedIterator{scan: scan, name: s.segments.kv.Name(), suffix: 2 * int64Bytes, keep: keep}}, nil
}

// SessionIterator walks sessions of a Session store. Like the KeyValue's
// iterators it must be closed before the KeyValue commits.
type SessionIterator struct{ timedIterator }

// Start is the current session's start, in milliseconds.
func (it *SessionIterator) Start() int64 {
	if it.times == nil {
		return 0
	}
	return readInt64(it.times[int64Bytes:])
}

// End is the current session's end, in milliseconds.
func (it *SessionIterator) End() int64 {
	if it.times == nil {
		return 0
	}
	return readInt64(it.times)
}
