package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
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
	// flushObserver is Options.FlushObserver.
	flushObserver FlushObserver

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

		// txnDirty are the segments whose .txnindex is older than their
		// entries (txnlog.go).
		txnDirty []*segment
		// txnRebuildFrom is where Open stopped loading .txnindex entries.
		txnRebuildFrom Offset
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
	l := &Log{fs: opts.FS, dir: opts.Dir, now: opts.Now, logger: opts.Logger, onFailure: opts.OnFailure,
		flushObserver: opts.FlushObserver}
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

// FS is the file system the log is on, and Dir its directory: the
// partition keeps its own files beside the segments (producer state
// snapshots), through the same FS so that tests can crash them too.
func (l *Log) FS() vfs.FS { return l.fs }

// Dir is the log's directory, as given to Open.
func (l *Log) Dir() string { return l.dir }

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

// SegmentCount is the number of segments on disk, the active one
// included (Kafka's NumLogSegments).
func (l *Log) SegmentCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.mu.segments)
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
	if err := l.syncTxnIndexes(); err != nil {
		return err
	}
	// The active segment's index files are written unless it is empty
	// (the next Open scans it anyway) or Open trusted it and nothing was
	// appended since (the files on disk are current).
	l.mu.Lock()
	stale := active.size > 0 && l.mu.recoveryPoint <= active.baseOffset
	x, txns := active.snapshotIndexLocked(), txnSnapshot{base: active.baseOffset, txns: active.txns}
	l.mu.Unlock()
	if stale {
		if err := l.writeActiveIndexFiles(x, txns); err != nil {
			return l.fail(err)
		}
	}
	return l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = min(end, l.txnDirtyFloorLocked()) })
}

// writeActiveIndexFiles writes the index files of the active segment at
// Close; a .txnindex created or removed is made durable before the
// checkpoint trusts it.
func (l *Log) writeActiveIndexFiles(x indexSnapshot, txns txnSnapshot) error {
	if err := writeIndexFiles(l.fs, l.dir, x, ""); err != nil {
		return err
	}
	changed, err := l.writeTxnIndexes([]txnSnapshot{txns})
	if err != nil || !changed {
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("sync dir %s: %w", l.dir, err)
	}
	return nil
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
