package storage

import (
	"fmt"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// TruncateTo removes every batch holding an offset at or past offset, as a
// follower does before fetching from a new leader. A batch that straddles
// offset goes entirely, so the log end may end up below offset. An offset
// below the log start empties the log and restarts it at offset. The result
// is fsynced before TruncateTo returns.
func (l *Log) TruncateTo(offset Offset) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	if offset >= l.mu.logEndOffset {
		l.mu.Unlock()
		return nil
	}
	if offset < l.mu.logStartOffset {
		l.mu.Unlock()
		return l.truncateFully(offset)
	}
	segs := l.mu.segments
	keep := 1
	for keep < len(segs) && segs[keep].baseOffset < offset {
		keep++
	}
	last := segs[keep-1]
	pos := last.index.lookup(offset)
	size := last.size
	l.mu.Unlock()

	cut, err := truncatePosition(last, pos, size, offset)
	if err != nil {
		return err
	}
	if err := l.truncateSegment(last, cut); err != nil {
		return l.fail(err)
	}
	l.mu.Lock()
	dropped := l.mu.segments[keep:]
	l.mu.segments = l.mu.segments[:keep]
	for _, s := range dropped {
		s.deleted = true
	}
	l.mu.logEndOffset = last.nextOffset
	l.mu.durableOffset = min(l.mu.durableOffset, last.nextOffset)
	l.mu.generation++
	l.mu.Unlock()
	if err := l.removeSegments(dropped); err != nil {
		return l.fail(err)
	}
	if err := l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = min(c.recoveryPoint, last.baseOffset) }); err != nil {
		return l.fail(err)
	}
	return l.syncAfterTruncation(last)
}

// truncatePosition is the position of the first batch holding an offset at
// or past offset, or size.
func truncatePosition(s *segment, pos, size int64, offset Offset) (int64, error) {
	var hbuf [recordbatch.HeaderSize]byte
	for pos < size {
		h, err := readHeader(s.log, pos, size, &hbuf)
		if err != nil {
			return 0, err
		}
		if Offset(h.LastOffset()) >= offset {
			break
		}
		pos += h.TotalSize()
	}
	return pos, nil
}

// truncateSegment cuts the log file at pos and rebuilds the segment's
// state and indexes by scanning what is left, and drops the aborted
// transactions whose markers went; the segment is active from now on, so
// its index files are written when it is rolled or closed. The scan runs
// on a copy so readers never see a half-built state.
func (l *Log) truncateSegment(s *segment, pos int64) error {
	if err := s.log.Truncate(pos); err != nil {
		return fmt.Errorf("truncate %s: %w", s.log.Name(), err)
	}
	l.mu.Lock()
	interval := l.mu.cfg.IndexIntervalBytes
	l.mu.Unlock()
	scratch := &segment{baseOffset: s.baseOffset, dir: s.dir, log: s.log,
		index:     offsetIndex{baseOffset: s.baseOffset},
		timeIndex: timeIndex{baseOffset: s.baseOffset}}
	if _, err := scratch.recover(interval); err != nil {
		return err
	}
	l.mu.Lock()
	s.size, s.nextOffset = scratch.size, scratch.nextOffset
	s.maxTimestamp, s.offsetOfMaxTimestamp = scratch.maxTimestamp, scratch.offsetOfMaxTimestamp
	s.index.slots, s.timeIndex.entries = scratch.index.slots, scratch.timeIndex.entries
	s.setTxns(txnsBelow(s.txns, scratch.nextOffset))
	s.bytesSinceIndexEntry = scratch.bytesSinceIndexEntry
	l.mu.Unlock()
	return nil
}

// syncAfterTruncation makes the truncation of s, now the active segment,
// durable. Its .txnindex, if any, describes the segment before the
// truncation: nothing trusts it while the segment is at or above the
// recovery point (the caller's checkpoint put it there), and it is removed
// so that no stale file outlives that.
func (l *Log) syncAfterTruncation(s *segment) error {
	if err := s.syncLog(); err != nil {
		return l.fail(err)
	}
	if _, err := writeTxnIndexFile(l.fs, l.dir, s.baseOffset, nil, ""); err != nil {
		return l.fail(err)
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return l.fail(fmt.Errorf("sync dir %s: %w", l.dir, err))
	}
	return nil
}

// TruncateFullyAndStartAt empties the log and restarts it at offset, which
// may lie past the log end: a follower whose log ends below its leader's
// log start can only catch up from there, as Kafka's
// truncateFullyAndStartAt. The result is fsynced before it returns.
func (l *Log) TruncateFullyAndStartAt(offset Offset) error {
	if offset < 0 {
		return fmt.Errorf("storage: restarting the log at negative offset %d", offset)
	}
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	err := l.usableLocked()
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.truncateFully(offset)
}

// truncateFully empties the log and restarts it at offset (appendMu held).
func (l *Log) truncateFully(offset Offset) error {
	if err := l.writeCheckpoint(func(c *checkpoint) { c.logStartOffset, c.recoveryPoint = offset, offset }); err != nil {
		return l.fail(err)
	}
	s, err := openSegment(l.fs, l.dir, offset, true, l.now())
	if err != nil {
		return l.fail(err)
	}
	l.mu.Lock()
	old := l.mu.segments
	for _, o := range old {
		o.deleted = true
	}
	l.mu.segments = []*segment{s}
	l.mu.logStartOffset, l.mu.logEndOffset, l.mu.durableOffset = offset, offset, offset
	l.mu.generation++
	l.mu.dirDirty = true
	l.mu.Unlock()
	var keep []*segment
	for _, o := range old {
		if o.baseOffset == offset {
			// Same file names as the new segment: already truncated by
			// opening it; only drop the reference.
			o.release()
			continue
		}
		keep = append(keep, o)
	}
	if err := l.removeSegments(keep); err != nil {
		return l.fail(err)
	}
	return l.syncAfterTruncation(s)
}
