package storage

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
)

// load reads the checkpoint and the segments, recovers what needs it and
// makes the recovery point the active segment's base, or leaves it where it
// is when the active segment was trusted (a clean shutdown; the first append
// lowers it). A log closed cleanly is opened without writing or fsyncing
// anything: with thousands of partitions, that is most of the start-up.
func (l *Log) load() error {
	cp, found, err := readCheckpoint(l.fs, l.dir)
	if errors.Is(err, ErrCorruption) {
		l.logger.Warn("ignoring damaged log checkpoint; scanning every segment", "dir", l.dir, "err", err)
	} else if err != nil {
		return err
	}
	absent := !found && err == nil
	if !found {
		cp = checkpoint{}
	}
	// No checkpoint file means the same as a zero one, so a new log's
	// first checkpoint waits until there is something to record.
	l.mu.onDisk, l.mu.onDiskKnown = cp, found || absent
	l.mu.logStartOffset, l.mu.recoveryPoint = cp.logStartOffset, cp.recoveryPoint
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", l.dir, err)
	}
	swapped, changed, err := l.completeSwaps(names)
	if err != nil {
		return err
	}
	if changed {
		if names, err = l.fs.ReadDir(l.dir); err != nil {
			return fmt.Errorf("list %s: %w", l.dir, err)
		}
	}
	bases, err := l.listSegments(names)
	if err != nil {
		return err
	}
	l.mu.txnRebuildFrom = math.MaxInt64
	scanned, err := l.loadSegments(bases, cp.recoveryPoint, swapped)
	if err != nil {
		return err
	}
	created, err := l.settleOffsets(cp.logStartOffset)
	if err != nil {
		return err
	}
	txnFloor := l.settleTxnRebuildLocked()
	if err := l.persistScanned(scanned, cp.recoveryPoint); err != nil {
		return err
	}
	// Segments removed by recovery must stay removed before anything is
	// appended after them. A segment created empty needs no fsync yet:
	// the first Sync makes its directory entry durable with its data.
	if l.mu.dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("sync dir: %w", err)
		}
	}
	l.mu.dirDirty = created
	l.mu.durableOffset = l.mu.logEndOffset
	active := l.activeLocked()
	recoveryPoint := max(min(cp.recoveryPoint, l.mu.logEndOffset), active.baseOffset)
	if slices.Contains(scanned, active) {
		recoveryPoint = active.baseOffset
	}
	// Segments whose aborted transactions are to be added again stay
	// scanned by a later Open until their .txnindex is written.
	recoveryPoint = min(recoveryPoint, txnFloor)
	return l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = recoveryPoint })
}

// persistScanned makes the segments that Open scanned durable: every one
// but the active segment gets its log fsynced and its index files written,
// so the recovery point may pass it; the active segment's log is fsynced
// when it holds offsets past the old recovery point, which no fsync may
// have covered. Its index files are written when it is rolled or closed.
func (l *Log) persistScanned(scanned []*segment, recoveryPoint Offset) error {
	active := l.activeLocked()
	for _, s := range scanned {
		switch {
		case s.deleted:
		case s != active:
			if err := s.syncLog(); err != nil {
				return err
			}
			if err := writeIndexFiles(l.fs, l.dir, s.snapshotIndexLocked(), ""); err != nil {
				return err
			}
		case s.size > 0 && s.nextOffset > recoveryPoint:
			if err := s.syncLog(); err != nil {
				return err
			}
		}
	}
	return nil
}

// listSegments returns the base offsets of the .log files among names,
// sorted, and removes a temp checkpoint left by a crash.
func (l *Log) listSegments(names []string) ([]Offset, error) {
	var bases []Offset
	for _, name := range names {
		if name == checkpointTmpName {
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, fmt.Errorf("remove stale checkpoint: %w", err)
			}
			continue
		}
		if base, ok := parseSegmentName(name); ok {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// loadSegments opens the segments in order. Those below the recovery point
// are loaded after a sanity check; the others, and any that fails it, are
// scanned, as are segments a compaction swap was just completed for
// (their indexes are rebuilt). Aborted transactions are loaded from the
// trusted segments only (txnindex.go). At the first truncated segment, or a
// segment that does not continue its predecessor's offsets, the rest are
// removed.
func (l *Log) loadSegments(bases []Offset, recoveryPoint Offset, swapped map[Offset]bool) (scanned []*segment, err error) {
	now := l.now()
	interval := l.mu.cfg.IndexIntervalBytes
	for i, base := range bases {
		if n := len(l.mu.segments); n > 0 && base != l.mu.segments[n-1].nextOffset {
			l.logger.Warn("segment does not continue the log; removing it and later ones", "dir", l.dir,
				"base_offset", base, "expected", l.mu.segments[n-1].nextOffset)
			return scanned, l.removeSegmentFiles(bases[i:])
		}
		s, err := openSegment(l.fs, l.dir, base, false, now)
		if err != nil {
			return scanned, err
		}
		l.mu.segments = append(l.mu.segments, s)
		trusted := base < recoveryPoint && !swapped[base]
		if trusted {
			if err := s.load(l.fs); err != nil {
				if !errors.Is(err, ErrCorruption) {
					return scanned, err
				}
				l.logger.Warn("rebuilding segment indexes", "dir", l.dir, "base_offset", base, "err", err)
				trusted = false
			}
		}
		if trusted {
			l.loadTxnIndex(s)
			continue
		}
		scanned = append(scanned, s)
		l.mu.txnRebuildFrom = min(l.mu.txnRebuildFrom, base)
		cut, err := s.recover(interval)
		if err != nil {
			return scanned, err
		}
		if cut != nil {
			l.logger.Warn("truncated log at first bad batch", "dir", l.dir, "base_offset", base, "err", cut)
			// The cut is made durable before anything trusts the
			// bytes that will be appended after it.
			if err := s.syncLog(); err != nil {
				return scanned, err
			}
			return scanned, l.removeSegmentFiles(bases[i+1:])
		}
	}
	return scanned, nil
}

func (l *Log) removeSegmentFiles(bases []Offset) error {
	l.mu.dirDirty = l.mu.dirDirty || len(bases) > 0
	for _, base := range bases {
		s := &segment{baseOffset: base, dir: l.dir}
		if err := s.removeFiles(l.fs); err != nil {
			return err
		}
	}
	return nil
}

// settleOffsets sets the log start and end offsets after loading, drops
// segments wholly below the log start and makes sure an active segment
// exists. A log start past the end (its data was lost) empties the log and
// restarts it there, as Kafka's truncateFullyAndStartAt. It reports
// whether it created the active segment.
func (l *Log) settleOffsets(logStart Offset) (created bool, err error) {
	segs := l.mu.segments
	for len(segs) > 1 && segs[0].nextOffset <= logStart {
		if err := l.dropLoaded(segs[0]); err != nil {
			return false, err
		}
		segs = segs[1:]
	}
	if len(segs) == 1 && segs[0].nextOffset < logStart {
		if err := l.dropLoaded(segs[0]); err != nil {
			return false, err
		}
		segs = nil
	}
	if len(segs) == 0 {
		s, err := openSegment(l.fs, l.dir, logStart, true, l.now())
		if err != nil {
			return false, err
		}
		segs = []*segment{s}
		created = true
	}
	l.mu.segments = segs
	l.mu.logStartOffset = max(logStart, segs[0].baseOffset)
	l.mu.logEndOffset = segs[len(segs)-1].nextOffset
	l.mu.recoveryPoint = min(l.mu.recoveryPoint, l.mu.logEndOffset)
	return created, nil
}

func (l *Log) dropLoaded(s *segment) error {
	s.deleted = true
	l.mu.dirDirty = true
	err := s.removeFiles(l.fs)
	s.release()
	return err
}
