package streams

import "sync/atomic"

// Metrics are the record counts of an application instance (App.Metrics) or
// a test driver (TestDriver.Metrics) since it started, over all its tasks:
// Kafka Streams' task-level process-total and dropped-records-total, the
// latter split by reason.
type Metrics struct {
	// ProcessedRecords are the input records handed to the topology.
	ProcessedRecords int64
	// DroppedLateRecords arrived after their window's grace period (windowed
	// aggregations, session windows and stream-stream joins).
	DroppedLateRecords int64
	// DroppedInvalidTimestampRecords had a negative timestamp from the
	// timestamp extractor.
	DroppedInvalidTimestampRecords int64
	// SkippedBadRecords could not be deserialized and were skipped, with
	// deserialization errors set to log and continue.
	SkippedBadRecords int64
}

// recordCounters are the counts behind Metrics, shared by the tasks of one
// application instance or test driver and read from any goroutine.
type recordCounters struct {
	processed               atomic.Int64
	droppedLate             atomic.Int64
	droppedInvalidTimestamp atomic.Int64
	skippedBad              atomic.Int64
}

func (c *recordCounters) metrics() Metrics {
	return Metrics{
		ProcessedRecords:               c.processed.Load(),
		DroppedLateRecords:             c.droppedLate.Load(),
		DroppedInvalidTimestampRecords: c.droppedInvalidTimestamp.Load(),
		SkippedBadRecords:              c.skippedBad.Load(),
	}
}
