package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/fjordhq/fjord/internal/vfs"
)

// Offset is a record offset in a partition.
type Offset int64

// Log is one partition replica's log: Kafka's UnifiedLog.
type Log struct {
	fs     vfs.FS
	dir    string
	now    func() time.Time
	logger *slog.Logger
	// onFailure is Options.OnFailure.
	onFailure func(err error)

	appendMu     sync.Mutex
	checkpointMu sync.Mutex
	compaction   compactionState

	mu struct {
		sync.Mutex
		cfg Config
		// segments is sorted by base offset; the last one is active.
		segments []*segment
		// unsynced are rolled segments not yet fsynced; each holds a
		// reference.
		unsynced       []*segment
		dirDirty       bool
		logStartOffset Offset
		logEndOffset   Offset
		durableOffset  Offset
		recoveryPoint  Offset
		// onDisk is the checkpoint file's content when onDiskKnown, so
		// that an unchanged checkpoint is not rewritten.
		onDisk      checkpoint
		onDiskKnown bool
		// generation counts truncations, so that an fsync that started
		// before one does not declare the new bytes durable.
		generation uint64
		syncing    bool
		syncDone   *sync.Cond
		lastFlush  time.Time
		failed     error
		closed     bool
	}
}

// Open opens the log in opts.Dir, creating it if needed, and recovers it
// after a crash (see the package doc).
func Open(opts Options) (*Log, error) {
	if opts.Config == (Config{}) {
		opts.Config = DefaultConfig()
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("open log %s: %w", opts.Dir, err)
	}
	l := &Log{fs: opts.FS, dir: opts.Dir, now: opts.Now, logger: opts.Logger, onFailure: opts.OnFailure}
	if l.fs == nil {
		l.fs = vfs.Default()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.mu.cfg = opts.Config
	l.mu.syncDone = sync.NewCond(&l.mu.Mutex)
	l.mu.lastFlush = l.now()
	if err := l.fs.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	if err := l.load(); err != nil {
		for _, s := range l.mu.segments {
			s.release()
		}
		return nil, fmt.Errorf("open log %s: %w", l.dir, err)
	}
	return l, nil
}

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
	scanned, err := l.loadSegments(bases, cp.recoveryPoint, swapped)
	if err != nil {
		return err
	}
	created, err := l.settleOffsets(cp.logStartOffset)
	if err != nil {
		return err
	}
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
// (their indexes are rebuilt). At the first truncated segment, or a segment
// that does not continue its predecessor's offsets, the rest are removed.
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
			continue
		}
		scanned = append(scanned, s)
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

// writeCheckpoint applies change to the current checkpoint values, writes
// them durably and then adopts them in memory. It writes nothing when the
// file is known to hold those values already.
func (l *Log) writeCheckpoint(change func(c *checkpoint)) error {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	l.mu.Lock()
	c := checkpoint{logStartOffset: l.mu.logStartOffset, recoveryPoint: l.mu.recoveryPoint}
	change(&c)
	unchanged := l.mu.onDiskKnown && l.mu.onDisk == c
	// A failed write may or may not have replaced the file.
	l.mu.onDiskKnown = unchanged
	l.mu.Unlock()
	if !unchanged {
		if err := writeCheckpoint(l.fs, l.dir, c); err != nil {
			// The disk refused a small write: it is failing, and the
			// log stops as after any other failed write.
			return l.fail(err)
		}
	}
	l.mu.Lock()
	l.mu.logStartOffset, l.mu.recoveryPoint = c.logStartOffset, c.recoveryPoint
	l.mu.onDisk, l.mu.onDiskKnown = c, true
	l.mu.Unlock()
	return nil
}

func (l *Log) activeLocked() *segment { return l.mu.segments[len(l.mu.segments)-1] }

// usableLocked reports why the log cannot be used, if it cannot.
func (l *Log) usableLocked() error {
	if l.mu.closed {
		return ErrClosed
	}
	return l.mu.failed
}

// fail stops the log after an I/O error whose effect on disk is unknown.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failLocked(err)
	return l.mu.failed
}

// failLocked stops the log, if it was not stopped yet, and wakes the
// waiters of a sync, which find it failed.
func (l *Log) failLocked(err error) {
	if l.mu.failed == nil {
		l.mu.failed = fmt.Errorf("%w: %w", ErrLogFailed, err)
		l.logger.Error("log stopped after I/O error", "dir", l.dir, "err", err)
		if l.onFailure != nil {
			l.onFailure(l.mu.failed)
		}
	}
	l.mu.syncDone.Broadcast()
}

// LogStartOffset is the first offset readable.
func (l *Log) LogStartOffset() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.logStartOffset
}

// LogEndOffset is the offset the next append receives.
func (l *Log) LogEndOffset() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.logEndOffset
}

// DurableOffset is the end of the fsynced data: every offset below it
// survives a power loss.
func (l *Log) DurableOffset() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.durableOffset
}

// Size is the number of bytes in all segments' .log files.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var total int64
	for _, s := range l.mu.segments {
		total += s.size
	}
	return total
}

// Config returns the current configuration.
func (l *Log) Config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.cfg
}

// SetConfig replaces the configuration for later appends and retention
// passes. An invalid configuration is refused and logged, keeping the old.
func (l *Log) SetConfig(cfg Config) {
	if err := cfg.Validate(); err != nil {
		l.logger.Error("refusing invalid log config", "dir", l.dir, "err", err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.cfg = cfg
}

// Close makes everything durable, writes a checkpoint whose recovery point
// is the log end (so the next Open scans nothing) and releases the files.
// Slices still held stay readable until released.
func (l *Log) Close() error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	failed := l.mu.failed
	l.mu.Unlock()
	var err error
	if failed == nil {
		err = l.closeCleanly()
	}
	l.mu.Lock()
	l.mu.closed = true
	l.mu.syncDone.Broadcast()
	for l.mu.syncing {
		l.mu.syncDone.Wait()
	}
	segs, unsynced := l.mu.segments, l.mu.unsynced
	l.mu.unsynced = nil
	l.mu.Unlock()
	for _, s := range unsynced {
		s.release()
	}
	for _, s := range segs {
		s.release()
	}
	return err
}

func (l *Log) closeCleanly() error {
	l.mu.Lock()
	active, end := l.activeLocked(), l.mu.logEndOffset
	l.mu.Unlock()
	l.writeFinalTimeEntry(active)
	if err := l.Sync(end); err != nil {
		return err
	}
	// The active segment's index files are written unless it is empty
	// (the next Open scans it anyway) or Open trusted it and nothing was
	// appended since (the files on disk are current).
	l.mu.Lock()
	stale := active.size > 0 && l.mu.recoveryPoint <= active.baseOffset
	x := active.snapshotIndexLocked()
	l.mu.Unlock()
	if stale {
		if err := writeIndexFiles(l.fs, l.dir, x, ""); err != nil {
			return l.fail(err)
		}
	}
	return l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = end })
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	if err := l.Close(); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrLogFailed) {
		return err
	}
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	if err := l.fs.SyncDir(filepath.Dir(l.dir)); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	return nil
}
