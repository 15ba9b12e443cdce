package storage

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// The Log's side of the transaction index (txnindex.go).
//
// An entry is added to the segment holding its marker. In the active
// segment it is persisted with the segment's other index files, when the
// segment is rolled (by the Sync that covers it) or the log closed. In an
// earlier segment (the owner adding back what Open dropped, or a roll that
// came between the marker's append and the add) it makes the segment
// "txn dirty": the recovery point is first lowered below the segment, so
// that its file may be rewritten in place, and the next Sync writes the
// file and only then lets the recovery point pass it again.

// AddAbortedTxn records an aborted transaction whose abort marker
// (t.LastOffset) was appended: it belongs to the segment holding that
// offset, normally the active one (a roll between the marker's append and
// this call, or the owner adding back entries after TxnIndexRebuildFrom,
// puts it in an earlier one). It fails with ErrInvalidTxn when LastOffset
// is outside the log or not above the last entry's LastOffset, FirstOffset
// is negative or above LastOffset, or the segment would hold more entries
// than it can hold marker batches. Safe to call concurrently with reads;
// called by the single appender.
func (l *Log) AddAbortedTxn(t AbortedTxn) error {
	l.appendMu.Lock()
	defer l.appendMu.Unlock()
	l.mu.Lock()
	s, err := l.txnSegmentLocked(t)
	rolled := false
	if err == nil {
		s.addTxn(t)
		if rolled = s != l.activeLocked(); rolled {
			l.markTxnDirtyLocked(s)
		}
	}
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("add aborted transaction %+v: %w", t, err)
	}
	// A segment below the recovery point is one Open trusted: its
	// .txnindex must not be rewritten in place until that changes.
	if !rolled {
		return l.lowerRecoveryPoint(s)
	}
	// A Sync may be writing a checkpoint it computed before s waited for
	// its file, with a recovery point past s that it adopts only after the
	// write: lowering it must queue behind that write (checkpointMu) rather
	// than read the recovery point held in memory, or the old file would be
	// trusted after a crash. No I/O when the point is already at or below s.
	if err := l.writeCheckpoint(func(c *checkpoint) { c.recoveryPoint = min(c.recoveryPoint, s.baseOffset) }); err != nil {
		return fmt.Errorf("lower recovery point to %d: %w", s.baseOffset, err)
	}
	return nil
}

// txnSegmentLocked checks t against the log and returns the segment its
// marker lies in.
func (l *Log) txnSegmentLocked(t AbortedTxn) (*segment, error) {
	if err := l.usableLocked(); err != nil {
		return nil, err
	}
	if p := t.problem(); p != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidTxn, p)
	}
	first, end := l.mu.segments[0].baseOffset, l.mu.logEndOffset
	if t.LastOffset < first || t.LastOffset >= end {
		return nil, fmt.Errorf("%w: last offset %d outside the log [%d, %d)", ErrInvalidTxn, t.LastOffset, first, end)
	}
	if last, ok := l.lastTxnLocked(); ok && t.LastOffset <= last {
		return nil, fmt.Errorf("%w: last offset %d not above the previous entry's %d", ErrInvalidTxn, t.LastOffset, last)
	}
	// Each entry has its own marker batch, so the file never passes the
	// bound Open reads it with (readTxnIndexFile).
	s := l.segmentForLocked(t.LastOffset)
	if int64(len(s.txns)) > s.size/recordbatch.HeaderSize {
		return nil, fmt.Errorf("%w: more entries than batches in segment %d", ErrInvalidTxn, s.baseOffset)
	}
	return s, nil
}

// lastTxnLocked returns the LastOffset of the log's last entry.
func (l *Log) lastTxnLocked() (Offset, bool) {
	for i := len(l.mu.segments) - 1; i >= 0; i-- {
		if txns := l.mu.segments[i].txns; len(txns) > 0 {
			return txns[len(txns)-1].LastOffset, true
		}
	}
	return 0, false
}

// AbortedTxns returns the aborted transactions that overlap [from, upTo):
// LastOffset >= from and FirstOffset < upTo, ordered by LastOffset. It
// reads the in-memory entries of the segments from the one holding from,
// skipping those whose entries all start at or after upTo: no file I/O,
// and no allocation but the result's. (Kafka stops at the first entry whose
// last stable offset reaches upTo; that relies on the caller's last stable
// offsets, which this does not check, so it is not done here.)
func (l *Log) AbortedTxns(from, upTo Offset) []AbortedTxn {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []AbortedTxn
	segs := l.mu.segments
	i := sort.Search(len(segs), func(i int) bool { return segs[i].nextOffset > from })
	for _, s := range segs[i:] {
		if len(s.txns) == 0 || s.txnMinFirst >= upTo {
			continue
		}
		txns := s.txns
		j := sort.Search(len(txns), func(j int) bool { return txns[j].LastOffset >= from })
		for _, t := range txns[j:] {
			if t.FirstOffset < upTo {
				out = append(out, t)
			}
		}
	}
	return out
}

// TxnIndexRebuildFrom is the offset from which this Open did not load
// .txnindex entries (segments it recovered by scanning, and any segment
// whose .txnindex was unreadable or corrupt): the owner of producer state
// re-adds aborted transactions whose LastOffset is at or after it by
// replaying the log from there, before the log's next Sync or Close, which
// write those segments' .txnindex files from what was added. It is the log
// end when every segment's index was loaded. It is kept within the log
// start and end as they move.
func (l *Log) TxnIndexRebuildFrom() Offset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(min(l.mu.txnRebuildFrom, l.mu.logEndOffset), l.mu.logStartOffset)
}

// loadTxnIndex loads the .txnindex of a segment Open trusts. A file it
// cannot read or trust is left on disk (a later Open may read it again)
// and its entries are left to the owner to add back.
func (l *Log) loadTxnIndex(s *segment) {
	if err := s.loadTxnIndex(l.fs); err != nil {
		l.logger.Warn("not loading transaction index; its entries are to be added again", "dir", l.dir,
			"base_offset", s.baseOffset, "err", err)
		l.mu.txnRebuildFrom = min(l.mu.txnRebuildFrom, s.baseOffset)
	}
}

// settleTxnRebuildLocked runs at the end of Open: every segment from
// txnRebuildFrom on keeps no entries, so that the owner adds them back in
// order, and the earlier of them wait for their .txnindex to be written.
// It returns the highest recovery point that keeps them untrusted until
// then, or MaxInt64.
func (l *Log) settleTxnRebuildLocked() Offset {
	from := l.mu.txnRebuildFrom
	if from >= l.mu.logEndOffset {
		l.mu.txnRebuildFrom = l.mu.logEndOffset
		return math.MaxInt64
	}
	active := l.activeLocked()
	for _, s := range l.mu.segments {
		if s.baseOffset < from {
			continue
		}
		s.setTxns(nil)
		if s != active {
			l.markTxnDirtyLocked(s)
		}
	}
	return max(from, l.mu.segments[0].baseOffset)
}

func (l *Log) markTxnDirtyLocked(s *segment) {
	if !s.txnDirty {
		s.txnDirty = true
		l.mu.txnDirty = append(l.mu.txnDirty, s)
	}
}

// txnDirtyFloorLocked is the lowest base of a segment waiting for its
// .txnindex, or MaxInt64: the recovery point may not pass it.
func (l *Log) txnDirtyFloorLocked() Offset {
	floor := Offset(math.MaxInt64)
	for _, s := range l.mu.txnDirty {
		if !s.deleted {
			floor = min(floor, s.baseOffset)
		}
	}
	return floor
}

// dirtyTxnsLocked returns the .txnindex files a Sync is to write: those of
// the waiting segments, but not of one below the recovery point (an
// AddAbortedTxn is lowering it: until then its file is trusted and not
// rewritten in place). Deleted segments and the active one (written when
// rolled) stop waiting. The others wait until the write is done
// (txnWrittenLocked), which keeps compaction off them meanwhile.
func (l *Log) dirtyTxnsLocked(active *segment) []txnSnapshot {
	var out []txnSnapshot
	for _, s := range l.mu.txnDirty {
		switch {
		case s.deleted || s == active:
			s.txnDirty = false
		case s.baseOffset >= l.mu.recoveryPoint:
			out = append(out, txnSnapshot{base: s.baseOffset, txns: s.txns, seg: s, version: s.txnVersion})
		}
	}
	l.dropWrittenTxnsLocked()
	return out
}

// txnWrittenLocked ends the wait of the segments whose entries a Sync
// wrote, unless entries were added since.
func (l *Log) txnWrittenLocked(snaps []txnSnapshot) {
	for _, x := range snaps {
		if x.seg != nil && x.seg.txnVersion == x.version {
			x.seg.txnDirty = false
		}
	}
	l.dropWrittenTxnsLocked()
}

func (l *Log) dropWrittenTxnsLocked() {
	l.mu.txnDirty = slices.DeleteFunc(l.mu.txnDirty, func(s *segment) bool { return !s.txnDirty })
}

// syncTxnIndexes leads one more sync when segments wait for their
// .txnindex, so that Close leaves none behind (appendMu held, so none is
// added meanwhile).
func (l *Log) syncTxnIndexes() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.mu.syncing {
		l.mu.syncDone.Wait()
	}
	if err := l.usableLocked(); err != nil || len(l.mu.txnDirty) == 0 {
		return err
	}
	l.leadSyncLocked()
	return l.usableLocked()
}

// writeTxnIndexes writes the .txnindex files of snaps and reports whether
// the directory needs an fsync before they are trusted.
func (l *Log) writeTxnIndexes(snaps []txnSnapshot) (dirChanged bool, err error) {
	for _, x := range snaps {
		changed, err := writeTxnIndexFile(l.fs, l.dir, x.base, x.txns, "")
		if err != nil {
			return false, err
		}
		dirChanged = dirChanged || changed
	}
	return dirChanged, nil
}
