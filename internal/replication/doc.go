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
//     HW pass a replica that may still be in the ISR. A proposal stays in
//     flight until its fate is known: the controller's answer, a newer
//     partition epoch through the metadata image, or a refusal proving it
//     was never applied (INELIGIBLE_REPLICA); an answer that proves nothing
//     (a timeout) sends it again, and a stale one (INVALID_UPDATE_VERSION)
//     waits for the image (ISRChangeOutcome);
//   - whether an acks=all produce may be answered (AckReady).
//
// Who may lead. The controller elects leaders only from the ISR it holds,
// so no acknowledged record is lost as long as every member of that ISR
// holds every record below the leader's HW (acks=all answers only once the
// HW passed the records). These are all the ways the controller adds a
// member to the ISR or hands leadership to one, and why none reaches a
// replica that lacks an acknowledged record:
//
//   - AlterPartition from the partition's leader is the only way a replica
//     joins the ISR of a partition holding records. The leader proposes a
//     follower once its LEO reached the HW and the start of the leader's
//     epoch (followerInSync) and, from that moment until the outcome is
//     known, counts it in the HW, so when the controller commits it the
//     follower holds everything below the HW. The controller checks the
//     proposal against its own state at the leader and partition epochs it
//     was made from, refuses fenced or unregistered members and a member
//     whose fetch came from an earlier process of the broker (KIP-903 broker
//     epochs), and decides only once it has applied every entry committed
//     before its term (metadata's controller activation), so it never
//     accepts a proposal against a state it has not seen.
//   - A topic or partition created starts with all its replicas in the ISR,
//     an empty log: there is nothing to lack.
//   - A reassignment adds replicas to the replica set, never to the ISR
//     (they join by AlterPartition); completing or cancelling one only
//     removes members.
//   - Fencing a broker (controlled shutdown, missed heartbeats, a new
//     process registering) removes it from every ISR and moves leadership
//     to the first live ISR member in assignment order (metadata's
//     ElectLeader). With
//     no live member the partition goes offline keeping its last leader in
//     the ISR, and that replica leads again when it returns.
//   - A preferred election (auto.leader.rebalance.enable, ElectLeaders
//     PREFERRED) moves leadership to the first replica only when it is live
//     and in the ISR (metadata's ShouldElectPreferred); completing a reassignment
//     moves it to the first member of the remaining ISR.
//   - An unclean election (unclean.leader.election.enable, ElectLeaders
//     UNCLEAN) is the one exception, by the operator's choice: a live
//     replica outside the ISR leads when no ISR member is live, and records
//     it lacks are lost.
//
// The leader, in turn, never lets the HW pass an ISR member the controller
// may hold: it counts the maximal ISR as above; it drops a proposal only
// when its fate is known, and applies the image's state only when its
// partition epoch is newer than the one held (every image re-applies every
// partition); and records are acknowledged only through the leader state of
// the image's leader epoch, never as a write to a single-replica partition
// while a leadership is being taken up or given up (the broker's
// writeRole). In fsync mode a follower's fetch offset counts records only
// once they are fsynced on it; with flush.messages relaxed, as Kafka's
// default, the guarantee holds while fewer than min.insync.replicas
// replicas lose power at once.
//
// A follower that starts fetching, or learns that its log diverged from the
// leader's, truncates by the KIP-101/KIP-279 rule (TruncationOffset) using
// OffsetForLeaderEpoch, so that a log whose tail was written under a stale
// epoch never keeps it.
//
// The controller's side (electing leaders, placing replicas) lives with the
// controller, in package metadata.
//
// Pure cores, thin driver. LeaderState and TruncationOffset have no goroutines, clock or I/O: time comes in as an
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
