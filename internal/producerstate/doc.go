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
// # Snapshots
//
// A snapshot is the state after every batch below an offset, so that a
// partition opening its log replays only the batches from that offset on
// instead of the whole log (Kafka's ProducerStateManager writes them for
// the same reason). The file, in the partition directory, is named after
// the offset with 20 digits, as segments are:
//
//	00000000000000012345.snapshot
//
// The layout is fjord's own (Kafka's ProducerSnapshot keeps only each
// producer's last batch; this keeps the whole duplicate window, so a retry
// of any of the last five batches is still recognised after a restart).
// Integers are big-endian; counts are uint32:
//
//	0   2  version (1)
//	2   4  CRC-32C of every byte from 6 to the end
//	6   8  offset: the state is that after every batch below it; equals
//	       the file name's
//	14  4  producer count P, then P entries ordered by producer id:
//	       0   8  producer id
//	       8   2  producer epoch
//	       10  4  coordinator epoch of its last marker (-1 for none)
//	       14  8  max timestamp of its latest batch
//	       22  8  broker time of its latest append, ms (expiry reads it)
//	       30  8  first offset of its open transaction, or -1
//	       38  1  batch count B, at most the window (5)
//	       39  B x 24, oldest first: first sequence int32, last sequence
//	              int32, first offset int64, last offset int64
//	..  4  transaction count T, then T x 24 ordered by first offset: the
//	       transactions holding back the last stable offset, open or ended
//	       by a marker not yet known to be below the high watermark:
//	       producer id, first offset, marker offset (-1 while open)
//	..  4  epoch count E, then E x 12, oldest first: the leader epochs
//	       whose first batch lies below the offset: epoch int32, start
//	       offset int64
//
// The transactions and epochs are the partition's (internal/partition):
// they too are state rebuilt by reading every batch, and a snapshot that
// lacked them would not spare that scan. Nothing follows the last entry.
// DecodeSnapshot accepts exactly what EncodeSnapshot writes (every offset
// below the snapshot's, producers, transactions and epochs in order), so a
// snapshot it accepts re-encodes to the same bytes.
//
// Concurrency: a Manager is not safe for concurrent use. The partition that
// owns it calls it under the lock that also orders its appends, so a Check
// and the Update that follows it see no other batch in between.
package producerstate
