// Package lag monitors consumer group lag in offsets and in time, and rates
// each group with a status in the manner of Burrow (linkedin/Burrow).
//
// Model. A Monitor polls a Source every Interval: the groups, each group's
// committed offsets (one OffsetFetch per group), the partitions' end offsets
// (one ListOffsets per leader) and, for a partition whose committed offset
// moved, the timestamp of the first record not yet consumed (one small
// Fetch; the answer is cached while the committed offset stays). Each poll
// appends one Sample per partition to a window of the last Window samples,
// and the pure function Evaluate rates the window (status.go states the
// rules). The poll's results form an immutable snapshot that Groups, Group,
// the Prometheus Collector and the HTTP Handler read.
//
// Lag in offsets is End - Committed, where End is the high watermark (the
// log end offset a read_uncommitted consumer reaches, as Kafka's
// kafka-consumer-groups.sh reports it); a partition without a committed
// offset has Committed -1 and Lag -1 (the tool prints "-") and counts in no
// total. Lag in time (LagSeconds) is the age of the first record not yet
// consumed: now minus the timestamp of the first data record at or after the
// committed offset (a compacted gap or a transaction marker there is
// skipped). It is 0 when Lag is 0.
//
// Concurrency. Run is the only goroutine that polls and owns the windows and
// the timestamp cache; it publishes each snapshot under mu, which the readers
// take briefly. Source methods are called from Run's goroutine only.
package lag
