package storage

import (
	"fmt"
	"time"
)

// retentionInput is what the retention decision needs about one rolled
// segment.
type retentionInput struct {
	sizeBytes  int64
	nextOffset Offset
	// largestTimestamp is the segment's max timestamp, or its file's
	// modification time when no batch carries one (Kafka's rule).
	largestTimestamp time.Time
}

// segmentsToDelete is the retention decision, a pure function: how many
// leading rolled segments to delete. A segment goes when it is older than
// retention.ms by its largest timestamp, when the log without it is still
// at least retention.bytes, or when it lies wholly below the log start.
// Deletion stops at the first segment to keep, so the log stays contiguous.
func segmentsToDelete(rolled []retentionInput, totalBytes int64, cfg Config, now time.Time, logStart Offset) int {
	excess := totalBytes - cfg.RetentionBytes
	for i, s := range rolled {
		expired := cfg.RetentionDuration >= 0 && now.Sub(s.largestTimestamp) > cfg.RetentionDuration
		oversize := cfg.RetentionBytes >= 0 && excess >= s.sizeBytes
		below := s.nextOffset <= logStart
		if !expired && !oversize && !below {
			return i
		}
		excess -= s.sizeBytes
	}
	return len(rolled)
}

// ApplyRetention enforces retention.ms and retention.bytes: it deletes
// whole segments from the oldest and advances the log start offset. The
// active segment is first rolled if it is non-empty and older than
// segment.ms, so that time retention can reach its data (as Kafka's
// retention pass does); an active segment is never deleted.
func (l *Log) ApplyRetention(now time.Time) (deleted int, err error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	cfg, active, end := l.mu.cfg, l.activeLocked(), l.mu.logEndOffset
	roll := active.size > 0 && now.Sub(active.createdAt) >= cfg.SegmentDuration
	l.mu.Unlock()
	if roll {
		if _, err := l.roll(now, end); err != nil {
			return 0, fmt.Errorf("retention: %w", err)
		}
	}

	l.mu.Lock()
	segs := append([]*segment(nil), l.mu.segments...)
	logStart := l.mu.logStartOffset
	inputs := make([]retentionInput, len(segs)-1)
	var total int64
	for i, s := range segs {
		total += s.size
		if i < len(inputs) {
			inputs[i] = retentionInput{sizeBytes: s.size, nextOffset: s.nextOffset}
			if s.maxTimestamp >= 0 {
				inputs[i].largestTimestamp = time.UnixMilli(s.maxTimestamp)
			}
		}
	}
	l.mu.Unlock()
	for i := range inputs {
		if segs[i].maxTimestamp < 0 {
			info, err := l.fs.Stat(segs[i].path(logSuffix))
			if err != nil {
				return 0, fmt.Errorf("retention: %w", err)
			}
			inputs[i].largestTimestamp = info.ModTime
		}
	}
	n := segmentsToDelete(inputs, total, cfg, now, logStart)
	if n == 0 {
		return 0, nil
	}
	if err := l.deletePrefix(segs[:n], segs[n].baseOffset); err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	return n, nil
}

// DeleteRecordsBefore advances the log start offset to offset, durably,
// and deletes the segments wholly below it (DeleteRecords). An offset past
// the log end is ErrOffsetOutOfRange; one at or below the log start changes
// nothing.
func (l *Log) DeleteRecordsBefore(offset Offset) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	if offset > l.mu.logEndOffset {
		err := fmt.Errorf("delete records before %d, log end is %d: %w", offset, l.mu.logEndOffset, ErrOffsetOutOfRange)
		l.mu.Unlock()
		return err
	}
	if offset <= l.mu.logStartOffset {
		l.mu.Unlock()
		return nil
	}
	var below []*segment
	for _, s := range l.mu.segments[:len(l.mu.segments)-1] {
		if s.nextOffset > offset {
			break
		}
		below = append(below, s)
	}
	l.mu.Unlock()
	if err := l.deletePrefix(below, offset); err != nil {
		return fmt.Errorf("delete records before %d: %w", offset, err)
	}
	return nil
}

// deletePrefix advances the log start to at least newStart (checkpoint
// first, so a crash cannot bring deleted records back) and then deletes the
// given leading segments (appendMu held).
func (l *Log) deletePrefix(prefix []*segment, newStart Offset) error {
	if err := l.writeCheckpoint(func(c *checkpoint) { c.logStartOffset = max(c.logStartOffset, newStart) }); err != nil {
		return err
	}
	if len(prefix) == 0 {
		return nil
	}
	l.mu.Lock()
	l.mu.segments = l.mu.segments[len(prefix):]
	for _, s := range prefix {
		s.deleted = true
	}
	l.mu.Unlock()
	return l.removeSegments(prefix)
}

// removeSegments unlinks the files of segments already taken out of the
// list, makes that durable and drops the log's references. Readers holding
// references keep their open files.
func (l *Log) removeSegments(segs []*segment) error {
	var firstErr error
	for _, s := range segs {
		if err := s.removeFiles(l.fs); err != nil && firstErr == nil {
			firstErr = err
		}
		s.release()
	}
	if firstErr != nil {
		return firstErr
	}
	return l.fs.SyncDir(l.dir)
}
