// Package group is the group coordinator: Kafka's classic consumer group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, with static
// membership and KIP-394 member ids), the KIP-848 consumer protocol
// (ConsumerGroupHeartbeat, ConsumerGroupDescribe) and committed offsets,
// stored durably in the internal compacted topic __consumer_offsets.
//
// Model. A group belongs to one partition of __consumer_offsets, chosen as
// Kafka does: abs(Java String.hashCode(groupID)) % partitions. The broker
// that leads that partition is the group's coordinator. Everything the
// coordinator must remember is a record in that partition, keyed and encoded
// exactly as Kafka writes it (kmsg's OffsetCommitKey/OffsetCommitValue and
// GroupMetadataKey/GroupMetadataValue), so the topic is readable by Kafka's
// tools and compaction keeps only the latest value per key. State in memory
// is a cache rebuilt on election by reading the partition from its start to
// its high watermark; a null value (tombstone) deletes its key.
//
// The rules live in core, a pure state machine: requests and a clock value go
// in (join, sync, heartbeat, leave, commit, fetch, tick), effects come out
// (responses to complete, records to persist). It has no goroutines, timers
// or I/O, so tests script it with a fake clock.
//
// Group states follow Kafka: Empty -> PreparingRebalance (members join; a new
// group waits group.initial.rebalance.delay.ms for more) ->
// CompletingRebalance (the leader, the first member to join, computes the
// assignment) -> Stable (after the leader's SyncGroup, persisted as a
// GroupMetadataValue); Dead once deleted. Each completed join starts a new
// generation.
//
// Transactional offset commits (KIP-98, KIP-447; txn.go) are written as
// one transactional batch of the producer and kept pending per producer,
// invisible to OffsetFetch (RequireStable answers UNSTABLE_OFFSET_COMMIT),
// until the producer's marker in the same partition: the broker writes it
// and calls CompleteTransaction, and a load replays it. A commit marker
// makes each pending offset committed unless a later record in the log
// already committed that partition; an abort drops them. So the log is
// read with batch information (Log.Load's LogRecord), and every offset
// remembers the log offset of its record.
//
// Consumer (KIP-848) groups are driven by the members' heartbeats alone
// (consumer.go has the model): the coordinator keeps a group epoch, a target
// assignment computed by a server-side assignor (uniform or range, see
// assignor.go) at an assignment epoch, and per member its epoch and current
// assignment. Each heartbeat moves the member one step towards its target
// (reconcile.go); a partition changes owner only after the previous owner
// reported it revoked. Members are fenced at group.consumer.session.timeout.ms
// without a heartbeat, or when they keep partitions to revoke past their
// rebalance timeout. Their records (consumer_records.go) use Kafka's key
// versions 3 and 5-8 with a value encoding of fjord's own. A group id is
// either classic or consumer; an empty group may switch, a group with
// members refuses the other protocol.
//
// Concurrency. Coordinator is the thin driver: one goroutine (Run) owns the
// core and is fed by a bounded channel. Handlers call Do from their Pending
// goroutine; Do queues the request and waits for its response, which the
// loop delivers once the records it depends on are appended. Do then waits,
// outside the loop, until the offsets partition is durable through every
// append made before the response (group commit shares the fsyncs), so a
// response never reports state that a crash could lose. Transaction
// markers (CompleteTransaction) go through the same queue, so they are
// ordered with the requests around them. Timers come from an
// injected clock; one timer is armed at the core's earliest deadline.
// Elections are signalled through a mutex-guarded set and a wake-up channel
// so that metadata callbacks never block on the loop.
package group
