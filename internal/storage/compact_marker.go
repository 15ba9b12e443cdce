package storage

import (
	"github.com/fjordhq/fjord/internal/recordbatch"
)

// Transaction markers and compaction, as Kafka's cleaner (LogCleaner's
// CleanedTransactionMetadata and cleanInto's batch retention).
//
// A marker is needed while a data batch of its transaction is still in the
// log: a reader of that batch, or the producer state rebuilt by reading the
// log again, must learn how the transaction ended. A pass reads batches in
// offset order, so by the time it reaches a marker it knows whether it
// wrote any data batch of the marker's transaction (those of the
// producer since its previous marker: a producer has at most one
// transaction open in a partition). A data batch counts whether it kept
// records or was written empty (the last data batch of its producer, the
// last of its cleaned segment, the first of a leader epoch). A commit
// marker whose records were all superseded, and an abort marker once its
// aborted records are gone (the same pass that removes them, unless one of
// its batches is kept empty), are no longer needed.
//
// A marker no longer needed goes in two phases, as a tombstone does
// (KIP-534): the first pass that finds it so rewrites it with a delete
// horizon of now + delete.retention.ms, and a pass after the horizon drops
// it. So a consumer that read the transaction's data before it was
// compacted away still finds the marker if it reads on within
// delete.retention.ms.
//
// Some markers stay whatever their transaction: the last batch of its
// producer in the range cleaned (it holds the producer epoch a marker may
// have bumped, and its coordinator epoch, which fence zombies after a
// restart; Kafka keeps it for the same reason), the last batch of its
// cleaned segment and the first of a leader epoch (for the reasons a data
// batch is kept empty there; a control batch cannot be emptied, since the
// producer state rebuild reads its record). They are not given a horizon
// meanwhile; the two phases start in the first pass where none of these
// holds any more. Control records of types other than commit and abort,
// and control batches that do not decode, are kept unchanged, as Kafka
// does.
//
// So a reopened log that rebuilds its producer state by replaying the
// batches never sees a transaction open whose marker went: no data batch
// of that transaction is left to open it, and the marker is not its
// producer's last batch, so the producer's epoch and sequence come from
// later batches. (A producer state snapshot taken inside such a
// transaction, at a segment roll, still holds it open; a replay from that
// snapshot ends it at the producer's next marker, which exists: the
// producer's last data batch is kept and lies after the marker.)
//
// An abort marker's transaction index entry goes with the marker, in the
// pass that drops it: every entry keeps its marker, so a read_committed
// consumer that starts skipping the producer's batches at the entry's
// first offset always meets the marker that ends the skipping. (Kafka
// drops the entry earlier, as soon as the aborted data is gone; an entry
// whose data is gone skips nothing, so keeping it until the marker goes is
// as true, and keeps the index describing exactly the markers of the
// segment.)

// markerTracker follows, through one pass, which producers have a data
// batch of their current transaction written to the cleaned log, and which
// abort markers the pass dropped.
type markerTracker struct {
	withData map[int64]struct{}
	// all is set when withData passed maxTrackedProducers, or a swap was
	// given up: every marker after that is kept, which is safe and only
	// compacts less.
	all bool
	// droppedAborts are the offsets of the abort markers dropped, whose
	// transaction index entries go too (compact_swap.go).
	droppedAborts map[Offset]struct{}
}

func newMarkerTracker() *markerTracker {
	return &markerTracker{withData: map[int64]struct{}{}, droppedAborts: map[Offset]struct{}{}}
}

// dataWritten notes that a transactional data batch of producerID was
// written to the cleaned log.
func (t *markerTracker) dataWritten(producerID int64) {
	if t.all {
		return
	}
	if _, known := t.withData[producerID]; !known && len(t.withData) >= maxTrackedProducers {
		t.keepAll()
		return
	}
	t.withData[producerID] = struct{}{}
}

// keepAll makes every later marker of the pass count as needed.
func (t *markerTracker) keepAll() { t.all, t.withData = true, nil }

// ended notes the marker of producerID's transaction and reports whether
// a data batch of that transaction was written, or may have been.
func (t *markerTracker) ended(producerID int64) bool {
	if t.all {
		return true
	}
	_, written := t.withData[producerID]
	delete(t.withData, producerID)
	return written
}

// keepsEntry reports whether the transaction index entry a stays: this
// pass did not drop its abort marker.
func (t *markerTracker) keepsEntry(a AbortedTxn) bool {
	_, dropped := t.droppedAborts[a.LastOffset]
	return !dropped
}

// filterMarker is filter for a control batch; structural says the batch
// ends its cleaned segment or starts a leader epoch.
func (f *batchFilter) filterMarker(h recordbatch.Header, raw []byte, structural bool) filtered {
	keep := filtered{batch: raw}
	m, ok, err := recordbatch.ParseMarker(raw)
	if err != nil {
		f.logger.Warn("compaction keeps a control batch it cannot decode", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
		return keep
	}
	if !ok {
		return keep
	}
	if f.markers.ended(h.ProducerID) || structural || f.producers.isLastBatch(h) {
		return keep
	}
	horizonMs, hasHorizon := h.DeleteHorizon()
	if !hasHorizon {
		horizonMs = f.nowMs + f.retentionMs
		b, err := withHorizon(h, raw, horizonMs)
		if err != nil {
			f.logger.Warn("compaction keeps a marker it cannot rebuild", "dir", f.dir, "base_offset", h.BaseOffset, "err", err)
			return keep
		}
		f.horizon = min(f.horizon, horizonMs)
		return filtered{batch: b, markerMarked: true}
	}
	if f.nowMs < horizonMs {
		f.horizon = min(f.horizon, horizonMs)
		return keep
	}
	if !m.Commit {
		f.markers.droppedAborts[Offset(h.BaseOffset)] = struct{}{}
	}
	return filtered{recordsRemoved: 1, markerRemoved: true}
}

// withHorizon rebuilds the batch raw with a delete horizon at horizonMs,
// its records keeping their timestamps.
func withHorizon(h recordbatch.Header, raw []byte, horizonMs int64) ([]byte, error) {
	records, err := recordbatch.Records(raw, maxDecompressedBatchBytes)
	if err != nil {
		return nil, err
	}
	nh := h.WithDeleteHorizon(horizonMs)
	recordbatch.RebaseTimestamps(records, h.BaseTimestamp, nh.BaseTimestamp)
	return recordbatch.Rebuild(nh, records, recordbatch.SnappyXerial(raw))
}
