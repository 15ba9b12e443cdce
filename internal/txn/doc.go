// Package txn is the transaction coordinator: Kafka's transactional ids,
// their state in the internal compacted topic __transaction_state, and the
// markers that end transactions in the partitions they wrote to. It serves
// InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// DescribeTransactions and ListTransactions with Kafka 4's semantics for
// transaction versions 1 and 2 (KIP-890).
//
// Model. A transactional id belongs to one partition of __transaction_state,
// chosen as Kafka does (kafkahash.PartitionFor); the broker leading that
// partition is the id's coordinator, and the partition's leader epoch is the
// coordinator epoch stamped on its markers. Per id the coordinator keeps the
// producer id, epoch, previous epoch, timeout, state, the partitions of the
// ongoing transaction and its start and last update times. Every change is
// one record in the partition (key: the id; value: the whole new metadata,
// encoded as Kafka writes it with kmsg's TxnMetadataKey and
// TxnMetadataValue, value version 1), so the topic is readable by Kafka's
// tools and compaction keeps the latest value per id. State in memory is a
// cache of that log: it is rebuilt on election by reading the partition
// (latest value per key wins, a tombstone deletes, a corrupt record is
// logged and skipped), and a change is applied only once its record is
// durable. A write that fails leaves the state as it was and answers as
// Kafka maps log errors (NOT_ENOUGH_REPLICAS: COORDINATOR_NOT_AVAILABLE;
// NOT_LEADER_FOR_PARTITION: NOT_COORDINATOR).
//
// States, as Kafka names them:
//
//	Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit | PrepareAbort
//	PrepareCommit --markers written--> CompleteCommit
//	PrepareAbort  --markers written--> CompleteAbort
//	Empty, Complete* --InitProducerId--> Empty (next epoch, or a new producer id)
//	Ongoing --InitProducerId or timeout--> PrepareAbort at epoch+1 (fences the producer)
//	Empty, Complete* --idle for transactional.id.expiration.ms--> removed (tombstone)
//
// Transaction version 2 (KIP-890 part 2) changes three of them. EndTxn
// (v5) writes PrepareCommit or PrepareAbort at epoch+1, which its markers
// carry and its response returns; at an exhausted epoch the prepare also
// names the next producer id, which the id moves to (epoch 0) when it
// completes. An abort needs no transaction (Empty, Complete* --EndTxn
// abort--> PrepareAbort at epoch+1, with no markers). A fence at version 2
// aborts at epoch+2. Each id is treated by the version its client speaks,
// which its request versions tell (EndTxn v5, AddPartitionsToTxn v4+ from
// the partition leaders that add partitions for such clients), and is
// recorded as ClientTransactionVersion; aborts the coordinator starts
// itself follow the cluster's level, Config.TransactionVersion. A client of
// version 1 keeps version 1's rules on a cluster at 2.
//
// PrepareEpochFence exists in Kafka's memory only: a fence writes
// PrepareAbort at the bumped epoch, here too; should a log hold it, loading
// finishes it as that abort. Dead is never written (a tombstone is).
// While a change of an id is being written, a second request for it gets
// CONCURRENT_TRANSACTIONS. After PrepareCommit or PrepareAbort is durable,
// EndTxn is answered and a marker job writes the markers through the
// MarkerWriter, retrying with backoff until each partition has its marker
// (a partition whose topic was deleted is dropped), then writes
// CompleteCommit or CompleteAbort. On election the coordinator does the same
// for every transaction the previous one left prepared. The pure rules (the
// decide* functions and the transitions in state.go) take a state and a time
// and return the next state or an error code; everything else carries them
// out.
//
// Concurrency. All state sits behind Coordinator.mu, held only for work in
// memory: never across a Log append or wait, a marker write or a producer
// id allocation. Handle runs on the caller's goroutine: under the lock it
// decides and marks the id's pending transition, then appends and waits
// without it, then applies under it again. Run owns every other goroutine:
// it loads elected partitions, runs marker jobs (at most maxMarkerWrites at
// once, queued by due time), and every abort-timed-out and expiration
// interval starts a pass that writes its changes one batch per partition.
// Elect and Resign only update the partition set under the lock and wake
// Run, so they never block. Each partition has a context that ends when it
// is resigned or re-elected or Run returns; its load and marker jobs run
// under it, so the next coordinator finishes what this one leaves. Run
// returns once all its goroutines have. A Log is bound to one leader epoch
// and refuses appends after it, so a write prepared before a resignation
// cannot reach a newer leader's log.
package txn
