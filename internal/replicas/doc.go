// Package replicas is the replica manager (Kafka's ReplicaManager): every
// partition replica this broker hosts, and everything about it that is not
// the encoding of a request. Package broker's handlers decode a request,
// call the Manager, and encode the answer.
//
// Ownership. The Manager owns, for the partitions the metadata image
// assigns to this broker:
//
//   - their logs (partition.Partition over storage.Log): creating, opening
//     and recovering them when the image assigns them, closing and deleting
//     them when it takes them away (apply.go), and the files of a partition
//     directory: partition.metadata (the topic id) and the
//     leader-epoch-checkpoint (epochs.go), as well as the data directory's
//     replication-offset-checkpoint of high watermarks (hwcheckpoint.go);
//   - their roles (roles.go): a partition led here has a leader role around
//     a replication.LeaderState (ISR, pending ISR change, followers'
//     positions, the high watermark); a partition followed is fetched from
//     its leader by the replication.Fetcher;
//   - the ISR changes on their way to the controller (isrchanges.go), the
//     low watermark DeleteRecords waits for (lowwatermark.go) and the
//     replication throttles (throttle.go);
//   - the acknowledgement of writes (writes.go): a Write is taken only
//     through the leader role of the image's leader epoch, and waits for
//     the fsync and, with acks=all, for the ISR;
//   - the background work on logs (maintenance.go, manager.go): retention,
//     relaxed flushes and the log cleaner;
//   - the log directory's health (logdir.go): a failed write, fsync or
//     checkpoint takes every replica here offline (KAFKA_STORAGE_ERROR,
//     no leader or follower roles) until a restart, and LogDirFailed tells
//     the node, which reports it to the controller (Kafka's KIP-112).
//
// Concurrency. The Manager's methods are safe for concurrent use. Start
// opens the replicas of the current image and starts the fetcher, whose
// goroutines live until Close. Later images are applied off the metadata
// FSM goroutine (images.go): the subscription only records the latest and
// signals Run's apply loop, so a slow disk holds up this broker's replicas,
// never the quorum's Raft apply. Run runs that loop and the background
// loops (retention, flushes, cleaner, ISR checks, ISR changes, the high
// watermark checkpoint) until its context ends. Locks: mu guards
// the partition map, roles the leader roles' map, a role's mu its leader
// state, and the ISR change queue its own mu; each is taken alone, never
// while holding another of them, and held only for in-memory work, except
// that a role's mu may be held while reading its partition's log ends
// (storage's and partition's locks come after it). The log directory's
// failure is recorded under a sync.Once and a closed channel, never a
// lock, because a storage.Log reports it from under its own locks. The
// fetcher's locks are its own (replication's package doc).
package replicas
