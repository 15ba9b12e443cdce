package partition

import (
	"errors"
	"fmt"
	"math"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// This file holds the replica's follower side: appending the leader's
// batches as they are and truncating a diverged tail, and the epoch
// history replication reads and extends.

// ErrNotContiguous is returned when fetched batches do not continue the
// local log: a gap (the leader's log was compacted across the fetch
// position, which storage cannot yet write), a batch straddling the log end,
// or a leader epoch going backwards. The fetcher truncates and retries.
var ErrNotContiguous = errors.New("partition: fetched batches do not continue the log")

// FollowerAppendResult says what AppendAsFollower wrote.
type FollowerAppendResult struct {
	Batches      int
	LogEndOffset storage.Offset
}

// AppendAsFollower appends batches fetched from the leader, keeping the
// base offsets and leader epochs the leader gave them. records is a Fetch
// response's records field: whole batches, possibly followed by a partial
// one (ignored, as Kafka's follower does; the next fetch gets it whole).
// Batches already in the log are skipped. Every batch's CRC and structure
// are checked before anything is written, so a corrupt response changes
// nothing. When the topic syncs every append, the batches are fsynced before
// AppendAsFollower returns: the follower's next fetch offset tells the
// leader they are stored, and the leader counts them toward the high
// watermark.
func (p *Partition) AppendAsFollower(records []byte, nowMs int64) (FollowerAppendResult, error) {
	batches, headers, err := p.splitFetched(records)
	if err != nil {
		return FollowerAppendResult{}, err
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	res := FollowerAppendResult{LogEndOffset: p.log.LogEndOffset()}
	for i, batch := range batches {
		h := headers[i]
		if err := p.checkContiguous(h, res.LogEndOffset); err != nil {
			return res, err
		}
		if storage.Offset(h.LastOffset()) < res.LogEndOffset {
			continue
		}
		info, err := p.log.AppendReplicated(batch)
		if err != nil {
			return res, fmt.Errorf("appending fetched batch at %d to %s-%d: %w", h.BaseOffset, p.Topic, p.Index, err)
		}
		p.snapshotAtRollLocked(info)
		p.mu.Lock()
		p.noteEpochLocked(h.PartitionLeaderEpoch, info.BaseOffset)
		p.mu.Unlock()
		if err := p.noteBatchLocked(h, h.BaseOffset, nowMs, 0, func() ([]byte, error) { return batch, nil }); err != nil {
			return res, err
		}
		res.Batches++
		res.LogEndOffset = storage.Offset(h.NextOffset())
	}
	if res.Batches > 0 && p.log.NeedsSyncPerAppend() {
		if err := p.log.Sync(res.LogEndOffset); err != nil {
			return res, fmt.Errorf("syncing fetched batches of %s-%d: %w", p.Topic, p.Index, err)
		}
	}
	return res, nil
}

// splitFetched cuts records into whole validated batches.
func (p *Partition) splitFetched(records []byte) ([][]byte, []recordbatch.Header, error) {
	maxBytes := p.Config().MaxMessageBytes
	if maxBytes < recordbatch.DefaultMaxBatchBytes {
		// The topic's limit may have been lowered after the leader
		// accepted larger batches; they must still replicate.
		maxBytes = 0
	}
	var batches [][]byte
	var headers []recordbatch.Header
	for rest := records; len(rest) >= recordbatch.HeaderSize; {
		h, err := recordbatch.ParseHeader(rest)
		if err != nil {
			return nil, nil, err
		}
		size := h.TotalSize()
		if size < recordbatch.HeaderSize {
			return nil, nil, fmt.Errorf("fetched batch at %d: length %d: %w", h.BaseOffset, h.BatchLength, recordbatch.ErrCorruptMessage)
		}
		if size > int64(len(rest)) {
			break
		}
		batch := rest[:size:size]
		if _, err := recordbatch.ValidateStored(batch, maxBytes); err != nil {
			return nil, nil, fmt.Errorf("fetched batch at %d for %s-%d: %w", h.BaseOffset, p.Topic, p.Index, err)
		}
		batches, headers = append(batches, batch), append(headers, h)
		rest = rest[size:]
	}
	return batches, headers, nil
}

// checkContiguous refuses a batch that would straddle the log end or lower
// the leader epoch (appendMu held). A batch past the log end is taken: the
// leader's compaction removed the batches between, and the follower keeps
// the same gap, as Kafka's followers do.
func (p *Partition) checkContiguous(h recordbatch.Header, logEnd storage.Offset) error {
	base, last := storage.Offset(h.BaseOffset), storage.Offset(h.LastOffset())
	switch {
	case base < logEnd && last >= logEnd:
		return fmt.Errorf("%w: batch %d..%d straddles log end %d of %s-%d", ErrNotContiguous, base, last, logEnd, p.Topic, p.Index)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.mu.epochs); n > 0 && last >= logEnd && h.PartitionLeaderEpoch < p.mu.epochs[n-1].epoch {
		return fmt.Errorf("%w: batch at %d has epoch %d below %d in %s-%d", ErrNotContiguous, base, h.PartitionLeaderEpoch, p.mu.epochs[n-1].epoch, p.Topic, p.Index)
	}
	return nil
}

// TruncateTo removes every record at or past offset (a follower dropping a
// tail that diverged from its leader), with the epochs that start there,
// the producer state of those batches and the snapshots above the new end.
// The log may end below offset when a batch straddles it.
func (p *Partition) TruncateTo(offset storage.Offset) error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	// Snapshots go first: one that outlived the truncation would describe
	// batches the leader's replace. Below the log start the log restarts
	// empty, as TruncateFullyAndStartAt, and keeps none.
	above := offset
	if offset < p.log.LogStartOffset() {
		above = -1
	}
	if err := p.dropSnapshotsAboveLocked(above); err != nil {
		return fmt.Errorf("truncating %s-%d to %d: %w", p.Topic, p.Index, offset, err)
	}
	if err := p.log.TruncateTo(offset); err != nil {
		return fmt.Errorf("truncating %s-%d to %d: %w", p.Topic, p.Index, offset, err)
	}
	end := p.log.LogEndOffset()
	// A truncated marker reopens its transaction, so the state is
	// rebuilt from what the log still holds (from the newest snapshot
	// left) rather than patched. The log's transaction index dropped what
	// was truncated and keeps the rest, so nothing is indexed again.
	if err := p.rebuildLocked(math.MaxInt64, false); err != nil {
		return fmt.Errorf("rebuilding producer state of %s-%d after truncation: %w", p.Topic, p.Index, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.mu.epochs)
	for n > 0 && p.mu.epochs[n-1].start >= end {
		n--
	}
	p.mu.epochs = p.mu.epochs[:n]
	return nil
}

// TruncateFullyAndStartAt empties the replica and restarts it at offset,
// the leader's log start when this replica fell behind it (retention or
// DeleteRecords removed what it still lacked): the epochs and producer
// state of the old log go with it, and its snapshots first: one at offset
// would describe this replica's batches below it, not the leader's.
func (p *Partition) TruncateFullyAndStartAt(offset storage.Offset) error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.dropSnapshotsAboveLocked(-1); err != nil {
		return fmt.Errorf("restarting %s-%d at %d: %w", p.Topic, p.Index, offset, err)
	}
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return fmt.Errorf("restarting %s-%d at %d: %w", p.Topic, p.Index, offset, err)
	}
	p.producers = producerstate.NewManager(maxBatchesPerProducer)
	p.txns.reset()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.epochs = nil
	return nil
}
