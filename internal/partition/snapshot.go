package partition

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/storage"
)

// This file holds the producer state snapshots of the partition directory
// (format in package producerstate): the state after every batch below an
// offset, so that opening the partition, or truncating it, replays only
// the batches after the newest usable one instead of the whole log.
//
// Written: at Close, at the log end, once the log has synced everything;
// and when an append is the first batch of a new segment, at that
// segment's base (Kafka snapshots at each roll), with the state before
// that batch. A roll snapshot may describe batches not yet fsynced. That
// is safe because a snapshot is trusted only while the log still holds
// every batch below it unchanged, and the only ways to lose or replace
// batches are truncations, each of which first deletes, durably, every
// snapshot above the new log end: TruncateTo and TruncateFullyAndStartAt
// here, and crash recovery, whose deletion New makes before anything can
// be appended (Kafka's truncateAndReload deletes them the same way).
//
// Deleted: above the log end (truncation, recovery; durably); below the
// log start (retention, DeleteRecords), when found; the oldest beyond
// maxSnapshots; and a corrupt one when read. Those deletions are not
// fsynced: a snapshot that comes back after a crash describes batches the
// log held, and is ignored or used as before.

// maxSnapshots bounds the snapshot files of a partition. Opening needs the
// newest at or below where the log's recovery began (the log end after a
// clean close, else usually the active segment's base); a follower's
// truncation rarely goes back more than a segment or two. Older ones only
// cost disk and a longer directory listing.
const maxSnapshots = 8

// errSnapshotInsideBatch is a snapshot whose offset falls inside a batch
// of the log: it cannot describe this log, which is rebuilt without it.
var errSnapshotInsideBatch = errors.New("partition: snapshot offset inside a batch")

// rebuildStats says what the latest rebuild of the producer state did.
type rebuildStats struct {
	snapshot int64          // offset of the snapshot restored, or -1
	from     storage.Offset // where the replay began
	batches  int            // batches replayed
}

func (p *Partition) logger() *slog.Logger {
	return slog.Default().With("topic", p.Topic, "partition", p.Index)
}

// takeSnapshotLocked writes the current state as the snapshot at offset
// (appendMu held): every batch below offset, and none after, must have
// been noted. Nothing is written when a snapshot at offset exists or the
// state is that of an empty log at its start. A failure is logged and
// nothing else: a snapshot only saves time at the next open.
func (p *Partition) takeSnapshotLocked(offset storage.Offset) {
	if slices.Contains(p.snapshots, int64(offset)) {
		return
	}
	if offset <= p.log.LogStartOffset() && p.producers.Len() == 0 && p.txns.empty() {
		return
	}
	data := p.producers.EncodeSnapshot(producerstate.Snapshot{
		Offset: int64(offset), Txns: p.txns.snapshot(), Epochs: p.epochsBelow(offset)})
	if err := producerstate.WriteSnapshotFile(p.log.FS(), p.log.Dir(), int64(offset), data); err != nil {
		p.logger().Warn("producer state snapshot not written", "offset", offset, "err", err)
		return
	}
	i, _ := slices.BinarySearch(p.snapshots, int64(offset))
	p.snapshots = slices.Insert(p.snapshots, i, int64(offset))
	p.pruneSnapshotsLocked()
}

// snapshotAtRollLocked takes a snapshot when the batch just appended
// (and not noted yet) is the first of a new segment (appendMu held).
func (p *Partition) snapshotAtRollLocked(info storage.AppendInfo) {
	if info.SegmentBaseOffset == info.BaseOffset {
		p.takeSnapshotLocked(info.BaseOffset)
	}
}

// epochsBelow lists the leader epochs that start below offset.
func (p *Partition) epochsBelow(offset storage.Offset) []producerstate.EpochStart {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []producerstate.EpochStart
	for _, e := range p.mu.epochs {
		if e.start < offset {
			out = append(out, producerstate.EpochStart{Epoch: e.epoch, StartOffset: int64(e.start)})
		}
	}
	return out
}

// pruneSnapshotsLocked deletes, without fsync, the snapshots below the log
// start and the oldest beyond maxSnapshots (appendMu held).
func (p *Partition) pruneSnapshotsLocked() {
	start := int64(p.log.LogStartOffset())
	n := 0
	for n < len(p.snapshots) && (p.snapshots[n] < start || len(p.snapshots)-n > maxSnapshots) {
		n++
	}
	if n == 0 {
		return
	}
	if err := producerstate.RemoveSnapshotFiles(p.log.FS(), p.log.Dir(), p.snapshots[:n], false); err != nil {
		p.logger().Warn("old producer state snapshots not removed", "err", err)
		return
	}
	p.snapshots = slices.Delete(p.snapshots, 0, n)
}

// dropSnapshotsAboveLocked deletes, durably, every snapshot above offset
// (appendMu held): they describe batches the log is about to lose or has
// lost.
func (p *Partition) dropSnapshotsAboveLocked(offset storage.Offset) error {
	i, _ := slices.BinarySearch(p.snapshots, int64(offset)+1)
	if i == len(p.snapshots) {
		return nil
	}
	if err := producerstate.RemoveSnapshotFiles(p.log.FS(), p.log.Dir(), p.snapshots[i:], true); err != nil {
		return fmt.Errorf("removing producer state snapshots above %d: %w", offset, err)
	}
	p.snapshots = p.snapshots[:i]
	return nil
}

// restoreSnapshotLocked restores the newest snapshot in [start, limit]
// that reads back whole (appendMu held, and p.mu when withEpochs, which
// restores the epoch history too). Unreadable ones are skipped, and
// corrupt ones deleted. It returns the offset restored.
func (p *Partition) restoreSnapshotLocked(start, limit storage.Offset, withEpochs bool) (storage.Offset, bool) {
	for i := len(p.snapshots) - 1; i >= 0; i-- {
		offset := storage.Offset(p.snapshots[i])
		if offset > limit {
			continue
		}
		if offset < start {
			break
		}
		m, s, err := p.readSnapshot(offset)
		if err != nil {
			p.logger().Warn("skipping producer state snapshot", "offset", offset, "err", err)
			if errors.Is(err, producerstate.ErrCorruptSnapshot) {
				p.forgetSnapshotLocked(offset)
			}
			continue
		}
		p.producers = m
		p.txns.restore(s.Txns)
		if withEpochs {
			p.mu.epochs = p.mu.epochs[:0]
			for _, e := range s.Epochs {
				p.mu.epochs = append(p.mu.epochs, epochStart{epoch: e.Epoch, start: storage.Offset(e.StartOffset)})
			}
		}
		return offset, true
	}
	return 0, false
}

func (p *Partition) readSnapshot(offset storage.Offset) (*producerstate.Manager, producerstate.Snapshot, error) {
	b, err := producerstate.ReadSnapshotFile(p.log.FS(), p.log.Dir(), int64(offset))
	if err != nil {
		return nil, producerstate.Snapshot{}, err
	}
	m, s, err := producerstate.DecodeSnapshot(b, maxBatchesPerProducer)
	if err == nil && s.Offset != int64(offset) {
		err = fmt.Errorf("%w: holds offset %d", producerstate.ErrCorruptSnapshot, s.Offset)
	}
	return m, s, err
}

// forgetSnapshotLocked deletes one snapshot that is not to be used.
func (p *Partition) forgetSnapshotLocked(offset storage.Offset) {
	if err := producerstate.RemoveSnapshotFiles(p.log.FS(), p.log.Dir(), []int64{int64(offset)}, false); err != nil {
		p.logger().Warn("producer state snapshot not removed", "offset", offset, "err", err)
		return
	}
	p.snapshots = slices.DeleteFunc(p.snapshots, func(o int64) bool { return o == int64(offset) })
}
