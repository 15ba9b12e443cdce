package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
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
	l := &Log{fs: opts.FS, dir: opts.Dir, now: opts.Now, logger: opts.Logger}
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
// writes a checkpoint whose recovery point is the active segment's base.
func (l *Log) load() error {
	cp, found, err := readCheckpoint(l.fs, l.dir)
	if errors.Is(err, ErrCorruption) {
		l.logger.Warn("ignoring damaged log checkpoint; scanning every segment", "dir", l.dir, "err", err)
	} else if err != nil {
		return err
	}
	if !found {
		cp = checkpoint{}
	}
	swapped, err := l.completeSwaps()
	if err != nil {
		return err
	}
	bases, err := l.listSegments()
	if err != nil {
		return err
	}
	scanned, err := l.loadSegments(bases, cp.recoveryPoint, swapped)
	if err != nil {
		return err
	}
	if err := l.settleOffsets(cp.logStartOffset); err != nil {
		return err
	}
	for _, s := range scanned {
		if !s.deleted {
			if err := s.syncFiles(); err != nil {
				return err
			}
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	l.mu.dirDirty = false
	l.mu.durableOffset = l.mu.logEndOffset
	return l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = l.activeLocked().baseOffset })
}

// listSegments returns the base offsets of the .log files, sorted, and
// removes a temp checkpoint left by a crash.
func (l *Log) listSegments() ([]Offset, error) {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.dir, err)
	}
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
		s, err := openSegmentFiles(l.fs, l.dir, base, false, now)
		if err != nil {
			return scanned, err
		}
		l.mu.segments = append(l.mu.segments, s)
		trusted := base < recoveryPoint && !swapped[base]
		if trusted {
			if err := s.load(); err != nil {
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
			return scanned, l.removeSegmentFiles(bases[i+1:])
		}
	}
	return scanned, nil
}

func (l *Log) removeSegmentFiles(bases []Offset) error {
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
// restarts it there, as Kafka's truncateFullyAndStartAt.
func (l *Log) settleOffsets(logStart Offset) error {
	segs := l.mu.segments
	for len(segs) > 1 && segs[0].nextOffset <= logStart {
		if err := l.dropLoaded(segs[0]); err != nil {
			return err
		}
		segs = segs[1:]
	}
	if len(segs) == 1 && segs[0].nextOffset < logStart {
		if err := l.dropLoaded(segs[0]); err != nil {
			return err
		}
		segs = nil
	}
	if len(segs) == 0 {
		s, err := openSegmentFiles(l.fs, l.dir, logStart, true, l.now())
		if err != nil {
			return err
		}
		segs = []*segment{s}
	}
	l.mu.segments = segs
	l.mu.logStartOffset = max(logStart, segs[0].baseOffset)
	l.mu.logEndOffset = segs[len(segs)-1].nextOffset
	l.mu.recoveryPoint = min(l.mu.recoveryPoint, l.mu.logEndOffset)
	return nil
}

func (l *Log) dropLoaded(s *segment) error {
	s.deleted = true
	err := s.removeFiles(l.fs)
	s.release()
	return err
}

// writeCheckpoint applies change to the current checkpoint values, writes
// them durably and then adopts them in memory.
func (l *Log) writeCheckpoint(change func(c *checkpoint)) error {
	l.checkpointMu.Lock()
	defer l.checkpointMu.Unlock()
	l.mu.Lock()
	c := checkpoint{logStartOffset: l.mu.logStartOffset, recoveryPoint: l.mu.recoveryPoint}
	change(&c)
	l.mu.Unlock()
	if err := writeCheckpoint(l.fs, l.dir, c); err != nil {
		return err
	}
	l.mu.Lock()
	l.mu.logStartOffset, l.mu.recoveryPoint = c.logStartOffset, c.recoveryPoint
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
	if l.mu.failed == nil {
		l.mu.failed = fmt.Errorf("%w: %w", ErrLogFailed, err)
		l.logger.Error("log stopped after I/O error", "dir", l.dir, "err", err)
	}
	l.mu.syncDone.Broadcast()
	return l.mu.failed
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
	if err := l.writeFinalTimeEntry(active); err != nil {
		return err
	}
	if err := l.Sync(end); err != nil {
		return err
	}
	if err := active.syncFiles(); err != nil {
		return l.fail(err)
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
