// Package producerstate keeps, per partition, what the broker knows about
// each idempotent and transactional producer: its epoch, the sequence
// numbers and offsets of its last few batches, and its open transaction. It
// is the counterpart of Kafka's ProducerStateManager and ProducerAppendInfo.
//
// Model: the produce path calls Check with a validated batch header before
// appending. Check answers with one of: append it, it is a retry of a batch
// already in the log (answer with the original offsets, append nothing), or
// refuse it with a Kafka error. After the append the partition calls Update
// with the offset the batch received. Rebuilding after a restart is the same
// Update calls replayed over the log, so the state is a cache of the log.
//
// The rules, as in Kafka 4 (ProducerAppendInfo.checkProducerEpoch and
// checkSequence, UnifiedLog's duplicate check, KIP-360):
//
//   - a batch without a producer id is not tracked;
//   - a batch whose epoch, first and last sequence equal one of the last
//     maxBatchesPerProducer batches of that producer is a duplicate;
//   - an epoch older than the producer's is INVALID_PRODUCER_EPOCH;
//   - a newer epoch must start at sequence 0, else
//     OUT_OF_ORDER_SEQUENCE_NUMBER; the new epoch forgets the old batches;
//   - the same epoch must continue at last sequence + 1, wrapping from
//     MaxInt32 to 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
//   - a producer the partition has no state for (new, or expired) is accepted
//     at any sequence: since KIP-360 Kafka no longer answers
//     UNKNOWN_PRODUCER_ID here, because that made clients reset their
//     sequences and re-send, which reintroduced duplicates;
//   - a non-transactional batch while the producer has a transaction open in
//     the partition is INVALID_TXN_STATE.
//
// Concurrency: a Manager is not safe for concurrent use. The partition that
// owns it calls it under the lock that also orders its appends, so a Check
// and the Update that follows it see no other batch in between.
package producerstate
