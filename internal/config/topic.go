package config

import (
	"errors"
	"strconv"
)

// Topic is the typed, resolved view of one topic's effective configuration.
// Fields keep Kafka's units (Ms, Bytes) because they mirror config values
// that clients read and write; storage converts at its boundary.
type Topic struct {
	CleanupPolicy               []string
	CompressionType             string
	CompressionGzipLevel        int32
	CompressionLZ4Level         int32
	CompressionZstdLevel        int32
	DeleteRetentionMs           int64
	FileDeleteDelayMs           int64
	FlushMessages               int64
	FlushMs                     int64
	IndexIntervalBytes          int64
	MaxCompactionLagMs          int64
	MaxMessageBytes             int64
	MessageTimestampAfterMaxMs  int64
	MessageTimestampBeforeMaxMs int64
	MessageTimestampType        string
	MinCleanableDirtyRatio      float64
	MinCompactionLagMs          int64
	MinInsyncReplicas           int64
	Preallocate                 bool
	RetentionBytes              int64
	RetentionMs                 int64
	SegmentBytes                int64
	SegmentIndexBytes           int64
	SegmentJitterMs             int64
	SegmentMs                   int64
	UncleanLeaderElection       bool
	// Values holds every topic config's effective value by name.
	Values map[string]string
}

// Compact reports whether the topic is compacted.
func (t Topic) Compact() bool { return t.hasPolicy("compact") }

// Delete reports whether old segments are deleted by time or size.
func (t Topic) Delete() bool { return t.hasPolicy("delete") }

func (t Topic) hasPolicy(p string) bool {
	for _, c := range t.CleanupPolicy {
		if c == p {
			return true
		}
	}
	return false
}

// LogAppendTime reports whether the broker stamps batches with its own time.
func (t Topic) LogAppendTime() bool { return t.MessageTimestampType == "LogAppendTime" }

// ResolveTopic computes a topic's effective configuration from the broker's
// properties (static and dynamic merged by the caller) and the topic's
// overrides: override, else the broker synonyms in Kafka's precedence, else
// the default. Invalid values and unknown override names are errors wrapping
// ErrInvalidConfig; the returned Topic then uses the next value in precedence.
func ResolveTopic(brokerProps, topicOverrides map[string]string) (Topic, error) {
	layers := BrokerLayers{Static: brokerProps}
	brokerDefs := index(BrokerDefs())
	topicDefs := TopicDefs()
	values := make(map[string]string, len(topicDefs))
	var errs []error
	for _, d := range topicDefs {
		r, es := resolveTopicDef(d, layers, topicOverrides, brokerDefs)
		errs = append(errs, es...)
		values[d.Name] = r.value
	}
	known := index(topicDefs)
	for name, v := range topicOverrides {
		if _, ok := known[name]; !ok {
			errs = append(errs, ValidateTopicConfig(name, v))
		}
	}
	return typedTopic(values), errors.Join(errs...)
}

func typedTopic(v map[string]string) Topic {
	n := func(name string) int64 {
		x, _ := strconv.ParseInt(v[name], 10, 64)
		return x
	}
	b := func(name string) bool {
		x, _ := parseBool(v[name])
		return x
	}
	ratio, _ := strconv.ParseFloat(v[MinCleanableDirtyRatio], 64)
	return Topic{
		CleanupPolicy:               splitList(v[CleanupPolicy]),
		CompressionType:             v[CompressionType],
		CompressionGzipLevel:        int32(n("compression.gzip.level")),
		CompressionLZ4Level:         int32(n("compression.lz4.level")),
		CompressionZstdLevel:        int32(n("compression.zstd.level")),
		DeleteRetentionMs:           n(DeleteRetentionMs),
		FileDeleteDelayMs:           n(FileDeleteDelayMs),
		FlushMessages:               n(FlushMessages),
		FlushMs:                     n(FlushMs),
		IndexIntervalBytes:          n(IndexIntervalBytes),
		MaxCompactionLagMs:          n(MaxCompactionLagMs),
		MaxMessageBytes:             n(MaxMessageBytes),
		MessageTimestampAfterMaxMs:  n(MessageTimestampAfterMaxMs),
		MessageTimestampBeforeMaxMs: n(MessageTimestampBeforeMaxMs),
		MessageTimestampType:        v[MessageTimestampType],
		MinCleanableDirtyRatio:      ratio,
		MinCompactionLagMs:          n(MinCompactionLagMs),
		MinInsyncReplicas:           n(MinInsyncReplicas),
		Preallocate:                 b(Preallocate),
		RetentionBytes:              n(RetentionBytes),
		RetentionMs:                 n(RetentionMs),
		SegmentBytes:                n(SegmentBytes),
		SegmentIndexBytes:           n(SegmentIndexBytes),
		SegmentJitterMs:             n(SegmentJitterMs),
		SegmentMs:                   n(SegmentMs),
		UncleanLeaderElection:       b(UncleanLeaderElectionEnable),
		Values:                      v,
	}
}
