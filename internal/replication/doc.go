// Package replication holds the rules by which a partition is replicated the
// Kafka way, and the follower fetcher that drives them.
//
// Model. Each partition has a leader and followers. Followers fetch from the
// leader with the Fetch API (replica id set) and append the leader's batches
// with their offsets and leader epochs unchanged. The leader tracks, per
// follower, the offset it last fetched from (its log end offset, LEO) and
// when it was last caught up, and from that:
//
//   - the high watermark (HW): the smallest LEO of the maximal ISR, never
//     decreasing (Partition.scala maybeIncrementLeaderHW);
//   - ISR shrink proposals for followers not caught up to the leader's LEO
//     within replica.lag.time.max.ms (maybeShrinkIsr), and expand proposals
//     for followers that reached the HW and the start of the leader's epoch
//     (maybeExpandIsr). A proposal is applied by the controller
//     (AlterPartition, KIP-497) and only then committed here. While it is in
//     flight the HW is computed over the union of the committed and proposed
//     sets ("maximal ISR"), so that neither a shrink nor an expand can let the
//     HW pass a replica that may still be in the ISR;
//   - whether an acks=all produce may be answered (AckReady).
//
// A follower that starts fetching, or learns that its log diverged from the
// leader's, truncates by the KIP-101/KIP-279 rule (TruncationOffset) using
// OffsetForLeaderEpoch, so that a log whose tail was written under a stale
// epoch never keeps it.
//
// The controller side is two pure functions: ElectLeader (never outside the
// ISR unless unclean.leader.election.enable) and PlaceReplicas (Kafka's
// rack-aware round robin).
//
// Pure cores, thin driver. LeaderState, ElectLeader, PlaceReplicas and
// TruncationOffset have no goroutines, clock or I/O: time comes in as an
// argument, so tests replay them without sleeping. The Fetcher is the thin
// driver around them: it owns one goroutine per source broker.
//
// Concurrency. LeaderState is not safe for concurrent use: its owner (the
// partition's leader role in the broker) guards it with a mutex or feeds it
// from one goroutine. The pure functions are safe for concurrent use. The
// Fetcher's methods are safe for concurrent use. Its goroutines (one per
// source broker) are started by Follow and stopped by Unfollow of a source's
// last partition or by Close, which wait for them; after Unfollow returns no
// goroutine writes to that replica any more. Lock order: Fetcher.mu, then a
// source's mu; a source's writeMu is taken only by its goroutine and by
// Unfollow's barrier, never under Fetcher.mu.
//
// Identifiers are aliases of int32 (BrokerID, LeaderEpoch) rather than
// distinct types because the metadata image and the wire structs carry
// []int32, and a distinct type would force a copy of every replica list at
// each call.
package replication
