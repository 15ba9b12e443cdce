// Package checker checks a history of Kafka client operations against the
// guarantees fjord is held to (docs: RELIABILITY.md §3), in the style of
// Jepsen's kafka "queue" checker. It is pure: it does no networking and
// keeps no clock of its own, so a history recorded by a fault test can be
// checked, stored and replayed offline.
//
// # Model
//
// A history is a sequence of operations in real-time order. Sends and polls
// are recorded twice: an invoke, then a completion (ok, fail or info) that
// carries the invoke's id. Assign and revoke are single events that change
// which partitions a consumer session reads and from where. Every operation
// names a process (a logical client thread) and a client session (one Kafka
// client: one producer id, or one consumer position per partition).
//
//   - A send of a value to a partition is ok with the offset the broker
//     acknowledged, fail only when the error proves nothing was appended, and
//     info when the outcome is unknown (timeouts, disconnects, a closed
//     client). An invoke without a completion counts as info.
//   - A poll completes ok with the records it returned, in order. Polls of
//     one session do not overlap.
//   - A consumer group member is a session whose assign, revoke, lost and
//     commit events name its group; its polls are the group's. Lost (the
//     member's session expired) counts as a revoke. A commit is an invoke
//     carrying the offsets (the next offset to read, per partition), then
//     ok, fail (the coordinator refused it) or info. A reset is an
//     explicit change of a group's committed offsets.
//   - A transactional producer session begins a transaction (txn-begin, a
//     single event naming it), sends values inside it (sends carrying its
//     name, completed as any send: ok means appended, not committed), then
//     invokes a commit (txn-commit) or an abort (txn-abort), completed ok,
//     fail (it surely did not take effect: the client never sent it) or
//     info (unknown). A transaction's fate follows: committed when a commit
//     was acknowledged; unknown when a commit was invoked that did not
//     fail (an abort after it changes nothing: the commit may have been
//     written first); aborted when no such commit was invoked but an abort
//     was, or every commit failed; open when neither was invoked.
//   - A poll of a read_committed consumer is marked so; it may skip the
//     values of transactions that did not commit.
//   - The final read is, per partition, what a fresh consumer read from the
//     earliest offset to the high watermark after every fault was healed.
//     The final read_committed read is the same with isolation
//     read_committed, taken once no transaction is open (so that the last
//     stable offset is the high watermark). Check takes the first,
//     CheckReads both.
//
// The history's order is the real-time order: an operation recorded before
// another was recorded before it happened. Op.Time is a monotonic timestamp
// kept for people reading a report; the rules use the order only.
//
// # Rules
//
// log[p][o] is the set of values seen at offset o of partition p by ok sends,
// polls and the final reads; writer[v] is the send of value v.
//
//  1. inconsistent-offsets: |log[p][o]| > 1.
//  2. duplicate: a value at two or more (partition, offset) positions;
//     misrouted: a value at a partition other than the one it was sent to;
//     unknown-value: a value read that no send wrote.
//  3. lost-write: an ok send (p, o, v) whose final read of p does not hold v
//     at o. lost-write-in-run applies the rule during the run, and is stated
//     precisely so that it needs no assumption about where consumers start:
//     an ok send S = (p, o, v) is lost in-run when no poll ever returned v,
//     while some poll Q of a session X returned an offset M > o of p, where
//     S completed before Q was invoked and X's position on p when Q was
//     invoked was known and at or below o (its assignment's start offset, or
//     one past the last offset of p it returned since its last assign).
//     Because S was acknowledged with acks=all before Q began, o was
//     committed when Q ran; because X stood at or below o and went past it,
//     X must have returned o, which holds v. Under these conditions a
//     lost-write-in-run always comes with the poll-skip or
//     inconsistent-offsets that explains it; it is reported on its own
//     because it names the acknowledged write that went missing.
//  4. aborted-read: a value of a failed send in any poll or the final read.
//  5. read-then-lost: a polled (p, o, v) missing from the final read of p:
//     a read above the high watermark or from a zombie leader.
//  6. nonmonotonic-poll: in one session, since its last assign or revoke of
//     p, an offset of p at or below one it already returned; poll-skip: the
//     next offset it returns for p jumps over an offset where log[p] holds a
//     value (for a read_committed poll, a value it must show: see rule 10).
//     Positions restart on assign, revoke and lost (a client reset
//     after data loss is recorded as an assign), so a group member given a
//     partition back re-reads from its group's committed offset freely.
//  7. nonmonotonic-send: within one producer session and partition, ok
//     sends' offsets do not increase in the order the sends were invoked (an
//     idempotent producer keeps order even with several requests in flight).
//  8. realtime-order: send A completed ok before send B to the same
//     partition was invoked, yet offset(B) <= offset(A).
//  9. group-skip: for an ok commit of offset c on p by group g, a value of
//     the final read of p at an offset in [start, c) that no poll of a
//     member of g (any of its sessions) returned before the commit was
//     invoked; start is 0, where the group begins, or the offset of the
//     last reset. Not applied without a final read.
//     committed-offsets-backwards: an ok commit of g on p stores an offset
//     below one an ok commit of g on p stored before it was invoked, with
//     no reset in between. Commits that overlap in time are not compared,
//     since the order the coordinator applied them in is unknown.
//  10. Transactions. A read_committed read must show a value when the
//     value was sent outside a transaction, or its transaction committed:
//     its fate is committed, or unknown while the final read_committed read
//     holds a value of it. Without a final read_committed read, an
//     unknown-outcome transaction's values need not be shown. The rules
//     apply to every read_committed poll and to the final read_committed
//     read, each value reported once per anomaly:
//     aborted-read: a read_committed read returns a value of a transaction
//     whose fate is aborted, or (a poll) of an unknown-outcome transaction
//     of which the final read_committed read holds no value: it was
//     aborted, after the poll saw it.
//     precommitted-read: a read_committed poll completed before its
//     transaction's commit was invoked returns a value of it, or a read
//     returns a value of an open transaction (one still open when the
//     history ends, whose values the last stable offset must hold back).
//     torn-transaction: the final read_committed read holds some but not
//     all values of a committed or unknown-outcome transaction. A
//     transaction's values are its ok sends and the info sends a final
//     read holds; all or none must be there.
//     lost-commit: a transaction whose commit was acknowledged has a value
//     missing from the final read_committed read.
//     In the run, atomic visibility is rule 6: a read_committed session
//     that returns one value of a committed transaction and moves past
//     another is a poll-skip (and, with its conditions, a
//     lost-write-in-run, which for a read_committed poll only counts values
//     it must show). The final read_committed read must hold every value
//     of the final read sent outside a transaction (else poll-skip) and
//     nothing the final read lacks (else read-then-lost). Duplicates,
//     inconsistent offsets and misrouted values in read_committed reads are
//     rules 1 and 2, which take every read. A read_committed group's
//     group-skip only counts values it must show. Write cycles between
//     transactions (G0: t1 before t2 in one partition, t2 before t1 in
//     another) are allowed, as in Kafka's model, and not looked for; a
//     read-write cycle (G1c) needs transactions that read, which the
//     history does not model.
//  11. Liveness is reported apart from the violations: Unseen counts ok
//     sends whose value no poll returned, leaving out the values of
//     transactions not known to have committed.
//
// # Cost
//
// Check runs in O(n log n) for n records in the history, with maps keyed by
// value and by (partition, offset); histories of 10^5 operations check in
// well under a second.
//
// # Concurrency
//
// Check is a pure function. Recorder is safe for concurrent use: producer
// callbacks and consumer goroutines append to it at once, under one mutex
// whose critical section only appends.
package checker
