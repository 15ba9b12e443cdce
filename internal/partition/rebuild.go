package partition

import (
	"errors"
	"fmt"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// rebuildLocked rebuilds the producer state and the transactions from
// what the log holds (appendMu held): the newest usable snapshot, then the
// batches after it, or every batch from the log start when no snapshot
// serves. It indexes the aborted transactions whose markers are at or past
// indexFrom (those the log's transaction index lacks), so it restores no
// snapshot above indexFrom. withEpochs (p.mu held too) rebuilds the leader
// epoch history as well. Snapshots above the log end are deleted first,
// durably: the log lost the batches they describe.
func (p *Partition) rebuildLocked(indexFrom storage.Offset, withEpochs bool) error {
	start, end := p.log.LogStartOffset(), p.log.LogEndOffset()
	if err := p.dropSnapshotsAboveLocked(end); err != nil {
		return err
	}
	if from, ok := p.restoreSnapshotLocked(start, min(end, indexFrom), withEpochs); ok {
		err := p.replayLocked(from, indexFrom, withEpochs, int64(from))
		if !errors.Is(err, errSnapshotInsideBatch) {
			return err
		}
		// Nothing was noted yet: the first batch read is the bad one.
		p.logger().Warn("producer state snapshot does not fit the log; scanning it all", "offset", from)
		p.forgetSnapshotLocked(from)
	}
	p.producers = producerstate.NewManager(maxBatchesPerProducer)
	p.txns.reset()
	if withEpochs {
		p.mu.epochs = nil
	}
	return p.replayLocked(start, indexFrom, withEpochs, -1)
}

// replayLocked notes every batch from from on (appendMu held, and p.mu
// with withEpochs, which notes their epochs too). snapshot is the offset
// of the snapshot restored (from), or -1.
func (p *Partition) replayLocked(from, indexFrom storage.Offset, withEpochs bool, snapshot int64) error {
	p.rebuilt = rebuildStats{snapshot: snapshot, from: from}
	return p.log.ScanBatches(from, func(h recordbatch.Header) error {
		if snapshot >= 0 && storage.Offset(h.BaseOffset) < from {
			return errSnapshotInsideBatch
		}
		p.rebuilt.batches++
		if withEpochs {
			p.noteEpochLocked(h.PartitionLeaderEpoch, storage.Offset(h.BaseOffset))
		}
		return p.noteBatchLocked(h, h.BaseOffset, h.MaxTimestamp, indexFrom, func() ([]byte, error) { return p.readBatch(h) })
	})
}

// readBatch reads the stored batch h heads.
func (p *Partition) readBatch(h recordbatch.Header) ([]byte, error) {
	slice, err := p.log.Read(storage.Offset(h.BaseOffset), h.TotalSize(), storage.Offset(h.NextOffset()))
	if err != nil {
		return nil, err
	}
	defer slice.Release()
	b, err := slice.ReadAll(make([]byte, 0, slice.Size))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < h.TotalSize() {
		return nil, fmt.Errorf("batch at %d of %s-%d: read %d of %d bytes", h.BaseOffset, p.Topic, p.Index, len(b), h.TotalSize())
	}
	return b[:h.TotalSize()], nil
}
