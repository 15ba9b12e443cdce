package storage

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/fjordhq/fjord/internal/vfs"
)

// Config holds the topic-level settings that shape a partition log. Names in
// the comments are Kafka's topic config names.
type Config struct {
	// SegmentBytes is segment.bytes: an append rolls to a new segment when
	// the active one would grow past it. At most 2 GiB - 1 because index
	// entries hold 32-bit positions.
	SegmentBytes int64
	// SegmentDuration is segment.ms: an append rolls when the active
	// segment is older; the retention pass rolls a non-empty active segment
	// that is older even without appends.
	SegmentDuration time.Duration
	// SegmentIndexBytes is segment.index.bytes: a segment rolls when its
	// offset or time index would exceed it. It also bounds index memory.
	SegmentIndexBytes int64
	// IndexIntervalBytes is index.interval.bytes: the number of log bytes
	// between two sparse index entries.
	IndexIntervalBytes int64
	// RetentionBytes is retention.bytes; -1 means unlimited.
	RetentionBytes int64
	// RetentionDuration is retention.ms; negative means unlimited.
	RetentionDuration time.Duration
	// FlushMessages is flush.messages. 1, our default, means every append
	// is fsynced before it is acknowledged (Sync per produce, with group
	// commit). Larger values leave flushing to FlushIfDue.
	FlushMessages int64
	// FlushInterval is flush.ms for FlushIfDue; zero or negative disables
	// time-based flushing (Kafka's default of Long.MAX_VALUE).
	FlushInterval time.Duration
}

// Limits on configuration values, with the reason for each.
const (
	// maxSegmentBytes keeps positions within the 32-bit index field.
	maxSegmentBytes = math.MaxInt32
	// minSegmentBytes is Kafka's lower bound for segment.bytes (one batch header would do, but
	// tiny segments only multiply files); tests use small values, so we accept anything
	// that holds a batch header.
	minSegmentBytes = 64
	// minSegmentIndexBytes leaves room for at least one entry of each index.
	minSegmentIndexBytes = timeIndexEntryBytes
)

// DefaultConfig returns Kafka's defaults, except flush.messages = 1
// (durable by default, see DESIGN.md decision 4).
func DefaultConfig() Config {
	return Config{
		SegmentBytes:       1 << 30,
		SegmentDuration:    7 * 24 * time.Hour,
		SegmentIndexBytes:  10 << 20,
		IndexIntervalBytes: 4096,
		RetentionBytes:     -1,
		RetentionDuration:  7 * 24 * time.Hour,
		FlushMessages:      1,
		FlushInterval:      0,
	}
}

// Validate reports the first setting out of its range.
func (c Config) Validate() error {
	switch {
	case c.SegmentBytes < minSegmentBytes || c.SegmentBytes > maxSegmentBytes:
		return fmt.Errorf("segment.bytes %d outside [%d, %d]", c.SegmentBytes, minSegmentBytes, maxSegmentBytes)
	case c.SegmentDuration <= 0:
		return fmt.Errorf("segment.ms %v must be positive", c.SegmentDuration)
	case c.SegmentIndexBytes < minSegmentIndexBytes || c.SegmentIndexBytes > maxSegmentBytes:
		return fmt.Errorf("segment.index.bytes %d outside [%d, %d]", c.SegmentIndexBytes, minSegmentIndexBytes, maxSegmentBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("index.interval.bytes %d must not be negative", c.IndexIntervalBytes)
	case c.RetentionBytes < -1:
		return fmt.Errorf("retention.bytes %d must be -1 or more", c.RetentionBytes)
	case c.FlushMessages < 1:
		return fmt.Errorf("flush.messages %d must be at least 1", c.FlushMessages)
	}
	return nil
}

// Options configure Open.
type Options struct {
	// FS is the file system; vfs.Default() when nil.
	FS vfs.FS
	// Dir is the partition directory, created if missing.
	Dir string
	// Config is the topic configuration; it must pass Validate. The zero
	// Config means DefaultConfig().
	Config Config
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives recovery reports; slog.Default() when nil.
	Logger *slog.Logger
	// OnFailure, if set, is called once when the log stops after an I/O
	// error (ErrLogFailed). It may run under the log's locks, so it must
	// only record or signal, never call the log.
	OnFailure func(err error)
	// FlushObserver, if set, is told how long each fsync of the log took
	// (its segments, indexes and directory), in seconds, as Kafka's
	// LogFlushRateAndTimeMs. It is an interface so that storage does not
	// depend on the metrics library; a Prometheus histogram is one.
	FlushObserver FlushObserver
}

// FlushObserver receives durations in seconds; it must be safe for
// concurrent use and must not call the log.
type FlushObserver interface {
	Observe(seconds float64)
}
