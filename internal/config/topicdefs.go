package config

import "strconv"

// Names of the topic configs that fjord code reads by name.
const (
	CleanupPolicy               = "cleanup.policy"
	CompressionType             = "compression.type"
	DeleteRetentionMs           = "delete.retention.ms"
	FileDeleteDelayMs           = "file.delete.delay.ms"
	FlushMessages               = "flush.messages"
	FlushMs                     = "flush.ms"
	IndexIntervalBytes          = "index.interval.bytes"
	MaxCompactionLagMs          = "max.compaction.lag.ms"
	MaxMessageBytes             = "max.message.bytes"
	MessageTimestampAfterMaxMs  = "message.timestamp.after.max.ms"
	MessageTimestampBeforeMaxMs = "message.timestamp.before.max.ms"
	MessageTimestampType        = "message.timestamp.type"
	MinCleanableDirtyRatio      = "min.cleanable.dirty.ratio"
	MinCompactionLagMs          = "min.compaction.lag.ms"
	MinInsyncReplicas           = "min.insync.replicas"
	Preallocate                 = "preallocate"
	RetentionBytes              = "retention.bytes"
	RetentionMs                 = "retention.ms"
	SegmentBytes                = "segment.bytes"
	SegmentIndexBytes           = "segment.index.bytes"
	SegmentJitterMs             = "segment.jitter.ms"
	SegmentMs                   = "segment.ms"
	UncleanLeaderElectionEnable = "unclean.leader.election.enable"
)

const (
	maxLong           = "9223372036854775807"
	msPerMinute int64 = 60 * 1000
	msPerHour         = 60 * msPerMinute
)

func long(v int64) string { return strconv.FormatInt(v, 10) }

// TopicDefs returns the definitions of every topic config fjord accepts,
// sorted by name. Defaults are Kafka 4.x's except flush.messages.
func TopicDefs() []Def {
	return sortedDefs(append(throttledReplicaDefs(), []Def{
		{Name: CleanupPolicy, Type: List, Default: "delete", HasDefault: true,
			Doc:           "Retention policy for old log segments: delete, compact, or both.",
			Validate:      listOf(false, "compact", "delete"),
			BrokerSynonym: "log.cleanup.policy"},
		{Name: CompressionType, Type: String, Default: "producer", HasDefault: true,
			Doc:           "Final compression of the topic's batches; producer keeps the producer's codec.",
			Validate:      oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
			BrokerSynonym: "compression.type"},
		{Name: "compression.gzip.level", Type: Int, Default: "-1", HasDefault: true,
			Doc: "Gzip level when compression.type is gzip.", Validate: gzipLevel,
			BrokerSynonym: "compression.gzip.level"},
		{Name: "compression.lz4.level", Type: Int, Default: "9", HasDefault: true,
			Doc: "LZ4 level when compression.type is lz4.", Validate: between(1, 17),
			BrokerSynonym: "compression.lz4.level"},
		{Name: "compression.zstd.level", Type: Int, Default: "3", HasDefault: true,
			Doc: "Zstd level when compression.type is zstd.", Validate: between(-131072, 22),
			BrokerSynonym: "compression.zstd.level"},
		{Name: DeleteRetentionMs, Type: Long, Default: "86400000", HasDefault: true,
			Doc:      "How long delete tombstones are kept in a compacted topic.",
			Validate: atLeast(0), BrokerSynonym: "log.cleaner.delete.retention.ms"},
		{Name: FileDeleteDelayMs, Type: Long, Default: "60000", HasDefault: true,
			Doc:      "Delay before a deleted segment's files are removed from disk.",
			Validate: atLeast(0), BrokerSynonym: "log.segment.delete.delay.ms"},
		{Name: FlushMessages, Type: Long, Default: "1", HasDefault: true,
			Doc: "Messages accumulated before the log is fsynced. fjord defaults to 1 " +
				"(fsync before acknowledging, with group commit), unlike Kafka's Long.MAX_VALUE: " +
				"durability must not depend on replication alone (DESIGN.md decision 4).",
			Validate: atLeast(1), BrokerSynonym: "log.flush.interval.messages"},
		{Name: FlushMs, Type: Long, Default: maxLong, HasDefault: true,
			Doc:      "Longest time data may stay unsynced; flush.messages=1 makes it moot by default.",
			Validate: atLeast(0), BrokerSynonym: "log.flush.interval.ms",
			MoreSynonyms: []ScaledSynonym{{Name: "log.flush.scheduler.interval.ms", Factor: 1}}},
		{Name: IndexIntervalBytes, Type: Int, Default: "4096", HasDefault: true,
			Doc:      "Bytes of log between two entries of the offset index.",
			Validate: atLeast(0), BrokerSynonym: "log.index.interval.bytes"},
		{Name: MaxCompactionLagMs, Type: Long, Default: maxLong, HasDefault: true,
			Doc:      "Longest time a message stays uncompacted.",
			Validate: atLeast(1), BrokerSynonym: "log.cleaner.max.compaction.lag.ms"},
		{Name: MaxMessageBytes, Type: Int, Default: "1048588", HasDefault: true,
			Doc:      "Largest record batch the topic accepts, after compression.",
			Validate: atLeast(0), BrokerSynonym: "message.max.bytes"},
		{Name: MessageTimestampAfterMaxMs, Type: Long, Default: "3600000", HasDefault: true,
			Doc:      "How far in the future a CreateTime timestamp may be (Kafka 4 default, KIP-937).",
			Validate: atLeast(0), BrokerSynonym: "log.message.timestamp.after.max.ms"},
		{Name: MessageTimestampBeforeMaxMs, Type: Long, Default: maxLong, HasDefault: true,
			Doc:      "How far in the past a CreateTime timestamp may be.",
			Validate: atLeast(0), BrokerSynonym: "log.message.timestamp.before.max.ms"},
		{Name: MessageTimestampType, Type: String, Default: "CreateTime", HasDefault: true,
			Doc:      "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
			Validate: oneOf("CreateTime", "LogAppendTime"), BrokerSynonym: "log.message.timestamp.type"},
		{Name: MinCleanableDirtyRatio, Type: Double, Default: "0.5", HasDefault: true,
			Doc:      "Dirty fraction of the log above which compaction runs.",
			Validate: betweenFloat(0, 1), BrokerSynonym: "log.cleaner.min.cleanable.ratio"},
		{Name: MinCompactionLagMs, Type: Long, Default: "0", HasDefault: true,
			Doc:      "Shortest time a message stays uncompacted.",
			Validate: atLeast(0), BrokerSynonym: "log.cleaner.min.compaction.lag.ms"},
		{Name: MinInsyncReplicas, Type: Int, Default: "1", HasDefault: true,
			Doc:      "Fewest in-sync replicas for an acks=all produce to succeed.",
			Validate: atLeast(1), BrokerSynonym: "min.insync.replicas"},
		{Name: Preallocate, Type: Boolean, Default: "false", HasDefault: true,
			Doc: "Preallocate segment files.", BrokerSynonym: "log.preallocate"},
		{Name: RetentionBytes, Type: Long, Default: "-1", HasDefault: true,
			Doc:           "Largest size of a partition before old segments are deleted; -1 is unlimited.",
			BrokerSynonym: "log.retention.bytes"},
		{Name: RetentionMs, Type: Long, Default: "604800000", HasDefault: true,
			Doc:      "How long a segment is kept before deletion; -1 is unlimited.",
			Validate: atLeast(-1), BrokerSynonym: "log.retention.ms",
			MoreSynonyms: []ScaledSynonym{
				{Name: "log.retention.minutes", Factor: msPerMinute},
				{Name: "log.retention.hours", Factor: msPerHour}}},
		{Name: SegmentBytes, Type: Int, Default: "1073741824", HasDefault: true,
			Doc:      "Size at which a segment is rolled (at least 1 MiB, as Kafka 4).",
			Validate: atLeast(1024 * 1024), BrokerSynonym: "log.segment.bytes"},
		{Name: SegmentIndexBytes, Type: Int, Default: "10485760", HasDefault: true,
			Doc:      "Size of a segment's offset and time index files.",
			Validate: atLeast(4), BrokerSynonym: "log.index.size.max.bytes"},
		{Name: SegmentJitterMs, Type: Long, Default: "0", HasDefault: true,
			Doc:      "Random jitter subtracted from segment.ms so segments do not roll at once.",
			Validate: atLeast(0), BrokerSynonym: "log.roll.jitter.ms",
			MoreSynonyms: []ScaledSynonym{{Name: "log.roll.jitter.hours", Factor: msPerHour}}},
		{Name: SegmentMs, Type: Long, Default: "604800000", HasDefault: true,
			Doc:      "Time after which a segment is rolled even if not full.",
			Validate: atLeast(1), BrokerSynonym: "log.roll.ms",
			MoreSynonyms: []ScaledSynonym{{Name: "log.roll.hours", Factor: msPerHour}}},
		{Name: UncleanLeaderElectionEnable, Type: Boolean, Default: "false", HasDefault: true,
			Doc:           "Allow an out-of-sync replica to become leader, losing acknowledged data.",
			BrokerSynonym: "unclean.leader.election.enable"},
	}...))
}
