// Package storage is the durable partition log: Kafka's UnifiedLog,
// LogSegment, OffsetIndex, TimeIndex and TransactionIndex, on top of
// vfs.FS.
//
// # On-disk format
//
// One directory per partition replica:
//
//	00000000000000000000.log        record batches exactly as appended
//	00000000000000000000.index      sparse offset index
//	00000000000000000000.timeindex  sparse time index
//	00000000000000000000.txnindex   aborted transactions, if it has any
//	00000000000000012345.log        next segment: name = its base offset, 20 digits
//	...
//	log-checkpoint                  log start offset and recovery point
//	00000000000000012345.snapshot   producer state, the partition's (see
//	                                package producerstate); ignored here
//
// A .log file is a sequence of whole v2 record batches (see package
// recordbatch for the header), offsets increasing from one batch to the
// next (contiguous, except where compaction removed whole batches; see
// compact.go); the file name is the segment's base offset, at or below its
// first batch's. Compaction's .cleaned and .swap files are described in
// compact_swap.go.
//
// A .index file holds 8-byte entries, one at most every
// index.interval.bytes of log:
//
//	0  4  relative offset  (batch base offset - segment base offset), uint32 BE
//	4  4  position         (byte position of that batch in the .log), uint32 BE
//
// A .timeindex file holds 12-byte entries, one with an offset index entry
// when the largest timestamp seen grew, and one more when the segment is
// rolled or the log closed, so that its last entry is the segment's
// largest timestamp:
//
//	0  8  timestamp        (largest batch max timestamp so far), int64 BE
//	8  4  relative offset  (base offset of the batch holding it), uint32 BE
//
// A .txnindex file holds 34-byte entries (Kafka's AbortedTxn), one per
// transaction aborted by a marker in the segment, in the order of the
// markers:
//
//	0   2  version (0), int16 BE
//	2   8  producer id, int64 BE
//	10  8  first offset of the transaction (maybe in an earlier segment)
//	18  8  last offset: the abort marker's, inside this segment
//	26  8  last stable offset when the transaction was aborted
//
// Unlike the other two it cannot be rebuilt from the log alone (first
// offsets and last stable offsets are producer state), so a missing file
// means "none", not damage: it is written, or removed, wherever the other
// index files are written, with the directory fsynced before anything
// trusts it. Open loads it only for segments it trusts; from the first
// segment it scans or whose file is damaged on, it drops the entries and
// reports where (TxnIndexRebuildFrom) so that the owner of producer state
// adds them again, and the recovery point stays below those segments until
// a Sync has written their files (txnindex.go, txnlog.go).
//
// The checkpoint is 24 bytes, replaced atomically (write a temp file,
// fsync, rename, fsync the directory):
//
//	0   4  version (1)
//	4   8  log start offset
//	12  8  recovery point
//	20  4  CRC-32C of bytes 0..19
//
// The indexes are kept in memory in full (the sparse ones bounded by
// segment.index.bytes, aborted transactions by the markers in the log) and
// searched there; their files are only persistence, written whole when
// a segment is rolled (by the Sync that covers it), when the log is closed
// and when Open rebuilt them, never held open (indexfile.go). A segment
// keeps one file descriptor, its .log, so that a broker with ten thousand
// partitions stays far below the process's open file limit. The active
// segment's index files are absent or stale until it is rolled or closed.
//
// # Durability and recovery
//
// Append writes but does not fsync. Sync fsyncs, sharing one fsync among
// all callers that arrive while it runs (group commit); rolled segments
// (with their index files) and new directory entries are made durable by
// the next Sync. Every segment below the recovery point was fully fsynced
// (log and index files): the point is advanced to the active segment's base
// after a Sync that covered rolled segments (but never past a segment whose
// .txnindex is still to be written), set to the log end by Close,
// and set back to the active segment's base by Open, or, when Open trusted
// a cleanly closed active segment, by the first append to it. Opening a
// cleanly closed log writes and fsyncs nothing.
//
// Open trusts segments below the recovery point after a sanity check of
// their indexes against the log (rebuilding them when they disagree). From
// the recovery point on, every batch is checked (length fits, magic 2,
// CRC-32C, offsets continue); the file is truncated at the first bad or torn
// batch, later segments are removed, indexes are rebuilt (a missing index
// file counts as a disagreement) and the result is fsynced. Nothing that a
// successful Sync covered is lost.
//
// After a failed write or fsync the log stops (ErrLogFailed): what the page
// cache holds is then unknown, and only reopening (recovery) can tell.
//
// # Concurrency
//
// A Log is safe for concurrent use. Locks, in the order they are taken:
//
//   - appendMu serializes the writers: Append, roll, TruncateTo, retention
//     and DeleteRecordsBefore. The broker appends to a partition from one
//     goroutine at a time anyway.
//   - checkpointMu serializes checkpoint writes so none goes back in time.
//   - mu guards the segment list, offsets, in-memory indexes and sync
//     state. It is never held during file I/O on the hot path, and never
//     during fsync, so appends continue while a group commit runs.
//
// Readers (Read, FindBatchByTimestamp, ScanBatches) take mu only to find
// positions and take a segment reference, then read without it. A segment
// deleted by retention stays readable until its last reference is
// released; FileSlice.Release drops a reader's reference.
package storage
