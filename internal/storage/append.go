package storage

import (
	"fmt"
	"math"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// AppendInfo describes where an appended batch went.
type AppendInfo struct {
	BaseOffset   Offset
	LastOffset   Offset
	MaxTimestamp int64
	// SegmentBaseOffset and Position locate the batch on disk.
	SegmentBaseOffset Offset
	Position          int64
	SizeBytes         int64
}

// checkAppendBatch checks that b is one whole v2 batch. The caller validated
// the contents; this only guards the log's own invariants.
func checkAppendBatch(b []byte) (recordbatch.Header, error) {
	h, err := recordbatch.ParseHeader(b)
	if err != nil {
		return h, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	switch {
	case h.Magic != 2:
		return h, fmt.Errorf("%w: magic %d", ErrInvalidBatch, h.Magic)
	case h.TotalSize() != int64(len(b)):
		return h, fmt.Errorf("%w: batch length says %d bytes, have %d", ErrInvalidBatch, h.TotalSize(), len(b))
	case h.LastOffsetDelta < 0:
		return h, fmt.Errorf("%w: negative last offset delta", ErrInvalidBatch)
	case int64(len(b)) > maxSegmentBytes:
		return h, fmt.Errorf("%w: %d bytes", ErrInvalidBatch, len(b))
	}
	return h, nil
}

// Append assigns the next offsets to batch by writing its base offset and
// partition leader epoch in place (both outside the CRC), rolls the active
// segment when it is full or old, and writes the batch. It does not fsync:
// call Sync before acknowledging when NeedsSyncPerAppend.
func (l *Log) Append(batch []byte, leaderEpoch int32) (AppendInfo, error) {
	h, err := checkAppendBatch(batch)
	if err != nil {
		return AppendInfo{}, err
	}
	return l.append(batch, h, leaderEpoch, -1)
}

// AppendReplicated writes a batch copied from a leader with the offsets and
// leader epoch the leader gave it. Its base offset may lie past the log
// end: a leader's compacted log has gaps where whole batches were removed,
// and its followers keep them, as Kafka's do. A batch starting below the
// log end is refused.
func (l *Log) AppendReplicated(batch []byte) (AppendInfo, error) {
	h, err := checkAppendBatch(batch)
	if err != nil {
		return AppendInfo{}, err
	}
	if h.BaseOffset < 0 {
		return AppendInfo{}, fmt.Errorf("%w: negative base offset %d", ErrInvalidBatch, h.BaseOffset)
	}
	return l.append(batch, h, h.PartitionLeaderEpoch, Offset(h.BaseOffset))
}

// append writes batch at the log end, or at at when at >= 0.
func (l *Log) append(batch []byte, h recordbatch.Header, leaderEpoch int32, at Offset) (AppendInfo, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	now := l.now()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return AppendInfo{}, err
	}
	cfg, active, offset := l.mu.cfg, l.activeLocked(), l.mu.logEndOffset
	l.mu.Unlock()
	if at >= 0 {
		if at < offset {
			return AppendInfo{}, fmt.Errorf("%w: batch at %d below log end %d", ErrInvalidBatch, at, offset)
		}
		offset = at
	}

	last := offset + Offset(h.LastOffsetDelta)
	if shouldRoll(active, cfg, int64(len(batch)), last, h.MaxTimestamp, now) {
		var err error
		if active, err = l.roll(now, offset); err != nil {
			return AppendInfo{}, err
		}
	}
	if last-active.baseOffset > math.MaxInt32 {
		// Only a replicated batch far past an empty segment's base.
		return AppendInfo{}, fmt.Errorf("%w: offset %d too far from segment base %d", ErrInvalidBatch, last, active.baseOffset)
	}
	if err := l.lowerRecoveryPoint(active); err != nil {
		return AppendInfo{}, err
	}
	recordbatch.SetBaseOffset(batch, int64(offset))
	recordbatch.SetPartitionLeaderEpoch(batch, leaderEpoch)
	h.BaseOffset, h.PartitionLeaderEpoch = int64(offset), leaderEpoch

	// The appender is the only writer of active's size and indexes, so it
	// reads them without the lock.
	pos := active.size
	if _, err := active.log.Write(batch); err != nil {
		return AppendInfo{}, l.fail(fmt.Errorf("append to %s: %w", active.log.Name(), err))
	}
	u := active.planIndex(pos, h, cfg.IndexIntervalBytes)
	l.mu.Lock()
	active.applyLocked(h, u)
	l.mu.logEndOffset = Offset(h.NextOffset())
	l.mu.Unlock()
	return AppendInfo{
		BaseOffset:        offset,
		LastOffset:        Offset(h.LastOffset()),
		MaxTimestamp:      h.MaxTimestamp,
		SegmentBaseOffset: active.baseOffset,
		Position:          pos,
		SizeBytes:         int64(len(batch)),
	}, nil
}

// shouldRoll reports whether the next batch goes to a new segment: the
// active one is non-empty and would pass segment.bytes, spans segment.ms,
// has a full index, or cannot hold lastOffset as a 32-bit relative offset.
//
// segment.ms is measured as Kafka does (LogSegment.shouldRoll): from the
// segment's first batch timestamp to the incoming batch's max timestamp
// when the first batch has one, else from the segment's creation to now.
// Record time, not arrival time, is what time retention later reads.
func shouldRoll(s *segment, cfg Config, batchBytes int64, lastOffset Offset, batchMaxTimestamp int64, now time.Time) bool {
	if s.size == 0 {
		return false
	}
	waited := now.Sub(s.createdAt)
	if first := s.firstBatchTimestamp(); first >= 0 {
		waited = time.Duration(batchMaxTimestamp-first) * time.Millisecond
	}
	return s.size+batchBytes > cfg.SegmentBytes ||
		waited >= cfg.SegmentDuration ||
		int64(s.index.count()+1)*offsetIndexEntryBytes > cfg.SegmentIndexBytes ||
		int64(len(s.timeIndex.entries)+1)*timeIndexEntryBytes > cfg.SegmentIndexBytes ||
		lastOffset-s.baseOffset > math.MaxInt32
}

// writeFinalTimeEntry makes the time index's last entry the segment's
// largest timestamp (appender only).
func (l *Log) writeFinalTimeEntry(s *segment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if te := s.finalTimeEntry(); te != nil {
		s.timeIndex.entries = append(s.timeIndex.entries, *te)
	}
}

// lowerRecoveryPoint moves the recovery point back to the active segment's
// base before the first append to it (appendMu held). It is past that base
// only after Open trusted a cleanly closed active segment; from the first
// append on, the segment's tail is not fsynced and its index file is stale,
// so a crash must have it scanned. AddAbortedTxn lowers it the same way
// below the segment it adds to.
func (l *Log) lowerRecoveryPoint(active *segment) error {
	l.mu.Lock()
	above := l.mu.recoveryPoint > active.baseOffset
	l.mu.Unlock()
	if !above {
		return nil
	}
	if err := l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = min(c.recoveryPoint, active.baseOffset) }); err != nil {
		return fmt.Errorf("lower recovery point to %d: %w", active.baseOffset, err)
	}
	return nil
}

// roll closes the active segment for appends and starts a new one at base,
// the log end or a replicated batch's base offset past it (appendMu
// held). An active segment already starting there is kept instead.
func (l *Log) roll(now time.Time, base Offset) (*segment, error) {
	l.mu.Lock()
	old := l.activeLocked()
	l.mu.Unlock()
	if old.baseOffset == base {
		return old, nil
	}
	l.writeFinalTimeEntry(old)
	s, err := openSegment(l.fs, l.dir, base, true, now)
	if err != nil {
		return nil, fmt.Errorf("roll segment: %w", err)
	}
	old.acquire()
	l.mu.Lock()
	l.mu.segments = append(l.mu.segments, s)
	l.mu.unsynced = append(l.mu.unsynced, old)
	l.mu.dirDirty = true
	l.mu.Unlock()
	return s, nil
}
