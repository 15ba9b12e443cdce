package storage

import (
	"fmt"
	"time"
)

// Sync returns once every byte of the offsets below upTo is fsynced (upTo is
// capped at the log end). Group commit: one caller at a time leads an fsync
// that covers everything appended before it started; callers that arrive
// meanwhile wait and are covered by the next one, led by one of them.
// Rolled segments not yet synced are synced first, then the directory if
// files were created in it. The log lock is not held during fsync.
func (l *Log) Sync(upTo Offset) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := l.usableLocked(); err != nil {
			return err
		}
		upTo = min(upTo, l.mu.logEndOffset)
		if l.mu.durableOffset >= upTo {
			return nil
		}
		if !l.mu.syncing {
			l.leadSyncLocked()
			continue
		}
		l.mu.syncDone.Wait()
	}
}

// leadSyncLocked runs one group fsync. It releases l.mu during the I/O and
// holds it again on return.
func (l *Log) leadSyncLocked() {
	l.mu.syncing = true
	target, generation := l.mu.logEndOffset, l.mu.generation
	rolled := l.mu.unsynced
	l.mu.unsynced = nil
	// Segments deleted meanwhile (truncation, retention) get no index
	// files: they would only be left behind as strays. Nor do segments
	// below the recovery point (a cleanly closed active segment rolled
	// before any append to it): their files are current, and only files
	// of segments Open would scan may be rewritten in place.
	indexes := make([]indexSnapshot, 0, len(rolled))
	var txns []txnSnapshot
	for _, s := range rolled {
		if !s.deleted && s.baseOffset >= l.mu.recoveryPoint {
			indexes = append(indexes, s.snapshotIndexLocked())
			txns = append(txns, txnSnapshot{base: s.baseOffset, txns: s.txns})
		}
	}
	active := l.activeLocked()
	active.acquire()
	dirty := l.dirtyTxnsLocked(active)
	txns = append(txns, dirty...)
	dirDirty := l.mu.dirDirty
	l.mu.dirDirty = false
	l.mu.Unlock()

	var started time.Time
	if l.flushObserver != nil {
		started = l.now()
	}
	err := l.syncFiles(rolled, indexes, txns, active, dirDirty)
	if err == nil && l.flushObserver != nil {
		l.flushObserver.Observe(l.now().Sub(started).Seconds())
	}
	if err == nil && (len(rolled) > 0 || len(dirty) > 0) {
		// Every segment before active is now durable with its indexes,
		// but those still waiting for their .txnindex, unless a
		// truncation since changed them: then the truncation set the
		// recovery point itself.
		advance := func(c *checkpoint) {
			if l.mu.generation == generation {
				c.recoveryPoint = max(c.recoveryPoint, min(active.baseOffset, l.txnDirtyFloorLocked()))
			}
		}
		l.mu.Lock()
		l.txnWrittenLocked(dirty)
		l.mu.Unlock()
		// A failed checkpoint write stops the log (writeCheckpoint);
		// the synced data stays synced, and waiters find it failed.
		_ = l.writeCheckpoint(advance)
	}
	for _, s := range rolled {
		s.release()
	}
	active.release()

	l.mu.Lock()
	l.mu.syncing = false
	if err != nil {
		l.failLocked(fmt.Errorf("fsync: %w", err))
	}
	if err == nil && generation == l.mu.generation && target > l.mu.durableOffset {
		l.mu.durableOffset = target
		l.mu.lastFlush = l.now()
	}
	l.mu.syncDone.Broadcast()
}

// syncFiles fsyncs each rolled segment's log and writes the index files of
// those still in the log and the .txnindex files in txns, then fsyncs the
// active log and, when files were created or removed, the directory.
func (l *Log) syncFiles(rolled []*segment, indexes []indexSnapshot, txns []txnSnapshot, active *segment, dirDirty bool) error {
	for _, s := range rolled {
		if err := s.syncLog(); err != nil {
			return err
		}
	}
	for _, x := range indexes {
		if err := writeIndexFiles(l.fs, l.dir, x, ""); err != nil {
			return err
		}
	}
	changed, err := l.writeTxnIndexes(txns)
	if err != nil {
		return err
	}
	dirDirty = dirDirty || changed
	if err := active.log.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", active.log.Name(), err)
	}
	if dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("sync dir %s: %w", l.dir, err)
		}
	}
	return nil
}

// NeedsSyncPerAppend reports whether every append must be fsynced before it
// is acknowledged (flush.messages <= 1).
func (l *Log) NeedsSyncPerAppend() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.cfg.FlushMessages <= 1
}

// FlushIfDue fsyncs when flush.messages offsets are waiting or flush.ms has
// passed since the last fsync, for topics that relax per-append syncing.
// A broker-wide ticker calls it.
func (l *Log) FlushIfDue(now time.Time) error {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	waiting := int64(l.mu.logEndOffset - l.mu.durableOffset)
	cfg := l.mu.cfg
	due := waiting > 0 && (waiting >= cfg.FlushMessages ||
		(cfg.FlushInterval > 0 && now.Sub(l.mu.lastFlush) >= cfg.FlushInterval))
	end := l.mu.logEndOffset
	l.mu.Unlock()
	if !due {
		return nil
	}
	return l.Sync(end)
}
