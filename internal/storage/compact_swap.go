package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fjordhq/fjord/internal/vfs"
)

// Swapping cleaned segments in, Kafka's replaceSegments.
//
// A cleaned segment replacing the segments [a, b) is written under the
// name of a (its base offset) with a suffix that keeps it out of the log:
//
//  1. write a.log.cleaned, then a.index.cleaned and a.timeindex.cleaned
//     whole from memory, and a.txnindex.cleaned when the old segments hold
//     aborted transactions whose markers the pass kept (their entries,
//     offsets unchanged, collected under appendMu at the swap so that none
//     added meanwhile is missed; see compact_marker.go); fsync all.
//  2. rename the indexes to .swap, then the log to a.log.swap; fsync the
//     directory. a.log.swap existing is the commit point.
//  3. remove the files of every old segment in [a, b).
//  4. rename a.txnindex.swap to its final name and fsync the directory,
//     then the other .swap files; fsync the directory. The .txnindex goes
//     first because a missing one reads as "no aborted transactions", not
//     as damage: once a.log has its name, a.txnindex must have its own.
//
// Open first removes every .cleaned file and every index .swap file (a
// crash before the commit point: the old segments are whole). For each
// a.log.swap it finds the swap's offset range by walking its headers (it
// was fsynced before the rename), removes any segment file inside that
// range, renames the swap to a.log, and has the segment scanned, which
// rebuilds its indexes and leaves its aborted transactions to be added
// again (TxnIndexRebuildFrom). So a crash at any step leaves either the old
// or the new segments, never both and never neither.

const (
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"
)

var segmentSuffixes = []string{logSuffix, indexSuffix, timeIndexSuffix}

// openCleanedSegment creates the .log.cleaned file of a new segment at
// base; its index files are written whole once it is complete.
func openCleanedSegment(fs vfs.FS, dir string, base Offset, now time.Time) (*segment, error) {
	s := &segment{baseOffset: base, dir: dir, createdAt: now, nextOffset: base,
		maxTimestamp: -1, offsetOfMaxTimestamp: -1}
	f, err := fs.OpenFile(s.path(logSuffix)+cleanedSuffix, os.O_CREATE|os.O_TRUNC|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		removeCleanedFiles(fs, dir, base)
		return nil, fmt.Errorf("create cleaned segment: %w", err)
	}
	s.log = f
	s.index = offsetIndex{baseOffset: base}
	s.timeIndex = timeIndex{baseOffset: base}
	s.refs.Store(1)
	return s, nil
}

// removeCleanedFiles removes the .cleaned and .swap files of the segment
// at base, best effort: Open removes any left over.
func removeCleanedFiles(fs vfs.FS, dir string, base Offset) {
	stem := filepath.Join(dir, segmentName(base))
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		fs.Remove(stem + suffix + cleanedSuffix)
		fs.Remove(stem + suffix + swapSuffix)
	}
}

// swapIn replaces the segments of group g by out, on disk and in memory,
// under appendMu. out's transaction index is the old segments' entries
// that keep says stay (those whose abort markers the pass kept). It reports
// false, changing nothing, when the log changed since r was taken: the
// segments were truncated, deleted or grew into the active position, or
// the log closed.
func (l *Log) swapIn(r *cleanableRange, g segmentGroup, out *segment, keep func(AbortedTxn) bool) (bool, error) {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	old := r.segs[g.from:g.to]
	l.mu.Lock()
	at := l.groupPositionLocked(r, g)
	if at >= 0 {
		out.setTxns(concatTxns(old, keep))
	}
	l.mu.Unlock()
	if at < 0 {
		return false, nil
	}
	if len(out.txns) > 0 {
		if _, err := writeTxnIndexFile(l.fs, l.dir, out.baseOffset, out.txns, cleanedSuffix); err != nil {
			return false, err
		}
	}
	if err := l.commitSwap(out); err != nil {
		return false, err
	}
	if err := l.finishSwap(old, out); err != nil {
		// Past the commit point: reopening completes the swap.
		out.closeFiles()
		return true, l.fail(err)
	}
	l.mu.Lock()
	segs := make([]*segment, 0, len(l.mu.segments)-len(old)+1)
	segs = append(segs, l.mu.segments[:at]...)
	segs = append(segs, out)
	segs = append(segs, l.mu.segments[at+len(old):]...)
	l.mu.segments = segs
	for _, s := range old {
		s.deleted = true
	}
	l.mu.Unlock()
	for _, s := range old {
		s.release()
	}
	return true, nil
}

// groupPositionLocked returns where the group's segments sit in the
// segment list, unchanged since r was taken, not active and not waiting
// for their .txnindex (a Sync may be writing it), or -1.
func (l *Log) groupPositionLocked(r *cleanableRange, g segmentGroup) int {
	if l.usableLocked() != nil || l.mu.generation != r.generation {
		return -1
	}
	segs := l.mu.segments
	for at, s := range segs {
		if s != r.segs[g.from] {
			continue
		}
		if at+(g.to-g.from) >= len(segs) {
			return -1
		}
		for k := g.from; k < g.to; k++ {
			cur := segs[at+k-g.from]
			if cur != r.segs[k] || cur.deleted || cur.size != r.sizes[k] || cur.txnDirty {
				return -1
			}
		}
		return at
	}
	return -1
}

// concatTxns returns the entries of segs that keep accepts, in order, in
// a new slice (Log.mu held).
func concatTxns(segs []*segment, keep func(AbortedTxn) bool) []AbortedTxn {
	var txns []AbortedTxn
	for _, s := range segs {
		for _, t := range s.txns {
			if keep(t) {
				txns = append(txns, t)
			}
		}
	}
	return txns
}

// commitSwap runs step 2: out's files are fsynced already; they are
// renamed to .swap, the log last, and the directory fsynced.
func (l *Log) commitSwap(out *segment) error {
	suffixes := []string{indexSuffix, timeIndexSuffix, logSuffix}
	if len(out.txns) > 0 {
		suffixes = append([]string{txnIndexSuffix}, suffixes...)
	}
	for _, suffix := range suffixes {
		p := out.path(suffix)
		if err := l.fs.Rename(p+cleanedSuffix, p+swapSuffix); err != nil {
			return fmt.Errorf("swap in %s: %w", p, err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		// Whether the rename of the log reached the disk is unknown: stop
		// the log so that reopening decides.
		return l.fail(fmt.Errorf("swap in %s: sync dir: %w", out.path(logSuffix), err))
	}
	return nil
}

// finishSwap runs steps 3 and 4.
func (l *Log) finishSwap(old []*segment, out *segment) error {
	for _, s := range old {
		if err := s.removeFiles(l.fs); err != nil {
			return fmt.Errorf("swap in: remove old segment: %w", err)
		}
	}
	if len(out.txns) > 0 {
		p := out.path(txnIndexSuffix)
		if err := l.fs.Rename(p+swapSuffix, p); err != nil {
			return fmt.Errorf("swap in %s: %w", p, err)
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("swap in: sync dir %s: %w", l.dir, err)
		}
	}
	for _, suffix := range segmentSuffixes {
		p := out.path(suffix)
		if err := l.fs.Rename(p+swapSuffix, p); err != nil {
			return fmt.Errorf("swap in %s: %w", p, err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("swap in: sync dir %s: %w", l.dir, err)
	}
	return nil
}

// completeSwaps is Open's part of the protocol (see above), given the
// names in the log directory. It returns the base offsets of the segments
// it swapped in, which must be scanned, and whether it changed the
// directory.
func (l *Log) completeSwaps(names []string) (swapped map[Offset]bool, changed bool, err error) {
	var swaps []string
	for _, name := range names {
		switch {
		case strings.HasSuffix(name, logSuffix+swapSuffix):
			swaps = append(swaps, name)
		case strings.HasSuffix(name, cleanedSuffix), strings.HasSuffix(name, swapSuffix):
			if err := l.fs.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, false, fmt.Errorf("remove unfinished compaction file: %w", err)
			}
			changed = true
		}
	}
	swapped = map[Offset]bool{}
	for _, name := range swaps {
		base, err := l.completeSwap(name, names)
		if err != nil {
			return nil, false, err
		}
		swapped[base] = true
		changed = true
	}
	if changed {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return nil, false, fmt.Errorf("sync dir %s: %w", l.dir, err)
		}
	}
	return swapped, changed, nil
}

// completeSwap finishes the swap of one .log.swap file.
func (l *Log) completeSwap(name string, names []string) (Offset, error) {
	base, ok := parseSegmentName(strings.TrimSuffix(name, swapSuffix))
	if !ok {
		return 0, fmt.Errorf("unexpected compaction file %s in %s", name, l.dir)
	}
	path := filepath.Join(l.dir, name)
	next, err := swapEnd(l, path, base)
	if err != nil {
		return 0, err
	}
	l.logger.Warn("completing a compaction swap interrupted by a crash", "dir", l.dir, "base_offset", base, "next_offset", next)
	for _, other := range names {
		ob, ok := parseSegmentName(other)
		if !ok || ob < base || ob >= next {
			continue
		}
		s := &segment{baseOffset: ob, dir: l.dir}
		if err := s.removeFiles(l.fs); err != nil {
			return 0, err
		}
	}
	final := strings.TrimSuffix(path, swapSuffix)
	if err := l.fs.Rename(path, final); err != nil {
		return 0, fmt.Errorf("complete swap of %s: %w", final, err)
	}
	return base, nil
}

// swapEnd walks the headers of a swap file to find the offset after it.
func swapEnd(l *Log, path string, base Offset) (Offset, error) {
	f, err := l.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", path, err)
	}
	s := &segment{baseOffset: base, dir: l.dir, log: f}
	next, _, _, err := s.walkTail(0, size, -1)
	if err != nil {
		// The swap was fsynced before it got its name; damage here is not
		// a torn write, and the old segments may be gone: refuse to guess.
		return 0, fmt.Errorf("compaction swap file %s: %w", path, err)
	}
	if next == base {
		return 0, errors.Join(fmt.Errorf("compaction swap file %s is empty", path), ErrCorruption)
	}
	return next, nil
}
