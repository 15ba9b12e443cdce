package streams

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Windowed is the key of a windowed aggregation's table: the record key and
// the window it was aggregated in (Kafka's Windowed). For time windows End
// is Start plus the window size and excluded from the window; for sliding
// windows and sessions it is included.
type Windowed[K any] struct {
	Key   K
	Start time.Time
	End   time.Time
}

// String prints the key and the window's bounds in milliseconds:
// key@[start,end].
func (w Windowed[K]) String() string {
	return fmt.Sprintf("%v@[%d,%d]", w.Key, toMillis(w.Start), toMillis(w.End))
}

// windowed makes a Windowed key from milliseconds.
func windowed[K any](key K, startMs, endMs int64) Windowed[K] {
	return Windowed[K]{Key: key, Start: fromMillis(startMs), End: fromMillis(endMs)}
}

// TimeWindows are fixed-size windows aligned to the epoch (Kafka's
// TimeWindows): tumbling when they advance by their size, hopping when they
// advance by less and so overlap. A record belongs to every window whose
// [start, start+size) holds its timestamp. After a window's end, records
// for it are still accepted for the grace period; after that the window is
// closed and late records are dropped. Durations count in whole
// milliseconds.
type TimeWindows struct {
	size, advance, grace time.Duration
}

// TimeWindowsOf returns tumbling windows of the given size with no grace
// period (Kafka's TimeWindows.ofSizeWithNoGrace).
func TimeWindowsOf(size time.Duration) TimeWindows {
	return TimeWindows{size: size, advance: size}
}

// AdvanceBy makes the windows hop: a new window starts every advance, which
// must be positive and at most the size (Kafka's advanceBy).
func (w TimeWindows) AdvanceBy(advance time.Duration) TimeWindows {
	w.advance = advance
	return w
}

// WithGrace sets how long after a window's end records are still accepted
// for it (Kafka's ofSizeAndGrace).
func (w TimeWindows) WithGrace(grace time.Duration) TimeWindows {
	w.grace = grace
	return w
}

func (w TimeWindows) validate() error {
	if w.size.Milliseconds() < 1 || w.advance.Milliseconds() < 1 || w.advance > w.size || w.grace < 0 {
		return fmt.Errorf("%w: time windows of size %v advancing by %v with grace %v: need 1ms <= advance <= size and grace >= 0",
			ErrTopology, w.size, w.advance, w.grace)
	}
	return nil
}

// startsFor returns the starts of the windows holding timestamp ts, in
// ascending order. Windows start at 0 or later, as in Kafka Streams.
func (w TimeWindows) startsFor(ts int64) []int64 {
	size, advance := w.size.Milliseconds(), w.advance.Milliseconds()
	first := max(0, ts-size+advance) / advance * advance
	var starts []int64
	for start := first; start <= ts; start += advance {
		starts = append(starts, start)
	}
	return starts
}

// SlidingWindows are windows of a fixed time difference that slide with the
// records (Kafka's SlidingWindows, KIP-450): two records fall into a common
// window when their timestamps differ by at most the time difference. Only
// the windows where a record enters or leaves exist: for each record the
// window ending at it, and the window starting just after it if a later
// record falls into it. Both ends are included. Records earlier than the
// time difference after the epoch share the window [0, time difference].
type SlidingWindows struct {
	difference, grace time.Duration
}

// SlidingWindowsOf returns sliding windows with no grace period (Kafka's
// SlidingWindows.ofTimeDifferenceWithNoGrace).
func SlidingWindowsOf(timeDifference time.Duration) SlidingWindows {
	return SlidingWindows{difference: timeDifference}
}

// WithGrace sets how long after a window's end records are still accepted
// for it.
func (w SlidingWindows) WithGrace(grace time.Duration) SlidingWindows {
	w.grace = grace
	return w
}

func (w SlidingWindows) validate() error {
	if w.difference.Milliseconds() < 1 || w.grace < 0 {
		return fmt.Errorf("%w: sliding windows with time difference %v and grace %v: need a time difference of at least 1ms and grace >= 0",
			ErrTopology, w.difference, w.grace)
	}
	return nil
}

// SessionWindows group the records of a key into sessions of activity
// separated by gaps of inactivity (Kafka's SessionWindows): a record within
// the gap of a session joins it, and one that bridges two sessions merges
// them. A session [start, end] includes both ends and closes when stream
// time passes its end plus the gap plus the grace period.
type SessionWindows struct {
	gap, grace time.Duration
}

// SessionWindowsOf returns session windows with the given inactivity gap and
// no grace period (Kafka's SessionWindows.ofInactivityGapWithNoGrace).
func SessionWindowsOf(inactivityGap time.Duration) SessionWindows {
	return SessionWindows{gap: inactivityGap}
}

// WithGrace sets how long after a session closes by its gap records are
// still accepted for it.
func (w SessionWindows) WithGrace(grace time.Duration) SessionWindows {
	w.grace = grace
	return w
}

func (w SessionWindows) validate() error {
	if w.gap.Milliseconds() < 1 || w.grace < 0 {
		return fmt.Errorf("%w: session windows with gap %v and grace %v: need a gap of at least 1ms and grace >= 0",
			ErrTopology, w.gap, w.grace)
	}
	return nil
}

// windowClose says when a windowed aggregation's windows close: a window
// ending at end takes no more records once stream time reaches end +
// afterEndMs. Suppress emits final results from it.
type windowClose struct {
	afterEndMs int64
}

// closed reports whether the window ending at endMs is closed at stream
// time streamTimeMs.
func (c windowClose) closed(endMs, streamTimeMs int64) bool {
	return streamTimeMs >= addMillisSaturated(endMs, c.afterEndMs)
}

// addMillisSaturated is a + b clamped to the int64 range.
func addMillisSaturated(a, b int64) int64 {
	sum := a + b
	switch {
	case b > 0 && sum < a:
		return math.MaxInt64
	case b < 0 && sum > a:
		return math.MinInt64
	}
	return sum
}

// WithRetention keeps a window or session store's windows for at least the
// given time behind stream time, for interactive queries of past windows
// (Kafka's Materialized.withRetention). A windowed aggregation keeps them
// at least as long as it needs them (the window size plus the grace
// period), whatever is asked.
func WithRetention(retention time.Duration) StoreOption {
	return func(d *storeDef) { d.retention = retention }
}

// TimeWindowedSerde returns the serde of time-windowed keys in Kafka's
// format (TimeWindowedSerde): the key's bytes, then the window start as 8
// big-endian bytes of milliseconds. The end is not written; reading gives
// it as start + windowSize. Use the time difference as the size for sliding
// windows.
func TimeWindowedSerde[K any](inner Serde[K], windowSize time.Duration) Serde[Windowed[K]] {
	return timeWindowedSerde[K]{inner: inner, sizeMs: windowSize.Milliseconds()}
}

// SessionWindowedSerde returns the serde of session-windowed keys in Kafka's
// format (SessionKeySchema): the key's bytes, then the session end, then its
// start, each 8 big-endian bytes of milliseconds.
func SessionWindowedSerde[K any](inner Serde[K]) Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{inner: inner}
}

type timeWindowedSerde[K any] struct {
	inner  Serde[K]
	sizeMs int64
}

func (s timeWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	key, err := s.inner.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(key)+8)
	out = append(out, key...)
	return binary.BigEndian.AppendUint64(out, uint64(toMillis(w.Start))), nil
}

func (s timeWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if data == nil {
		return w, nil
	}
	if len(data) < 8 {
		return w, fmt.Errorf("%w: a time-windowed key in topic %q has %d bytes, fewer than 8", ErrSerialization, topic, len(data))
	}
	start := int64(binary.BigEndian.Uint64(data[len(data)-8:]))
	key, err := s.inner.Deserialize(topic, data[:len(data)-8])
	if err != nil {
		return w, err
	}
	return windowed(key, start, addMillisSaturated(start, s.sizeMs)), nil
}

type sessionWindowedSerde[K any] struct{ inner Serde[K] }

func (s sessionWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	key, err := s.inner.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(key)+16)
	out = append(out, key...)
	out = binary.BigEndian.AppendUint64(out, uint64(toMillis(w.End)))
	return binary.BigEndian.AppendUint64(out, uint64(toMillis(w.Start))), nil
}

func (s sessionWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if data == nil {
		return w, nil
	}
	if len(data) < 16 {
		return w, fmt.Errorf("%w: a session-windowed key in topic %q has %d bytes, fewer than 16", ErrSerialization, topic, len(data))
	}
	n := len(data) - 16
	end := int64(binary.BigEndian.Uint64(data[n : n+8]))
	start := int64(binary.BigEndian.Uint64(data[n+8:]))
	key, err := s.inner.Deserialize(topic, data[:n])
	if err != nil {
		return w, err
	}
	return windowed(key, start, end), nil
}
