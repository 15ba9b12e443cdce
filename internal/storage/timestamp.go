package storage

import (
	"errors"
	"io/fs"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// FindBatchByTimestamp returns the first batch whose max timestamp is at
// least ts, at or above the log start offset: the time index narrows the
// search to a segment and a position, then batch headers are scanned. The
// caller finds the exact record inside the batch (ListOffsets).
func (l *Log) FindBatchByTimestamp(ts int64) (batch []byte, found bool, err error) {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return nil, false, ErrClosed
	}
	logStart := l.mu.logStartOffset
	var refs []segmentRef
	for _, s := range l.mu.segments {
		if s.maxTimestamp < ts || s.nextOffset <= logStart {
			continue
		}
		pos := int64(0)
		if off, ok := s.timeIndex.lastBelow(ts); ok {
			pos = s.index.lookup(off)
		}
		pos = max(pos, s.index.lookup(logStart))
		s.acquire()
		refs = append(refs, segmentRef{seg: s, pos: pos, size: s.size})
	}
	l.mu.Unlock()
	defer releaseAll(refs)

	var hbuf [recordbatch.HeaderSize]byte
	for _, r := range refs {
		for pos := r.pos; pos < r.size; {
			h, err := readHeader(r.seg.log, pos, r.size, &hbuf)
			if err != nil {
				return nil, false, err
			}
			if Offset(h.NextOffset()) > logStart && h.MaxTimestamp >= ts {
				b, err := readBatch(r.seg.log, pos, h)
				return b, err == nil, err
			}
			pos += h.TotalSize()
		}
	}
	return nil, false, nil
}

// MaxTimestampBatch returns the first batch holding the largest timestamp in
// the log (ListOffsets with MAX_TIMESTAMP, KIP-734). A log whose batches
// carry no timestamp (-1) has none.
func (l *Log) MaxTimestampBatch() (batch []byte, found bool, err error) {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return nil, false, ErrClosed
	}
	logStart := l.mu.logStartOffset
	var refs []segmentRef
	for _, s := range l.mu.segments {
		if s.nextOffset <= logStart || s.offsetOfMaxTimestamp < 0 {
			continue
		}
		s.acquire()
		refs = append(refs, segmentRef{seg: s, pos: s.index.lookup(logStart), size: s.size,
			maxTs: s.maxTimestamp, maxTsOff: s.offsetOfMaxTimestamp})
	}
	l.mu.Unlock()
	defer releaseAll(refs)

	var hbuf [recordbatch.HeaderSize]byte
	// Only the first segment can straddle the log start; its recorded
	// maximum may lie below it, so recompute it from the log start on.
	if len(refs) > 0 && refs[0].maxTsOff < logStart {
		r := &refs[0]
		r.maxTs, r.maxTsOff = -1, -1
		for pos := r.pos; pos < r.size; {
			h, err := readHeader(r.seg.log, pos, r.size, &hbuf)
			if err != nil {
				return nil, false, err
			}
			if Offset(h.NextOffset()) > logStart && h.MaxTimestamp > r.maxTs {
				r.maxTs, r.maxTsOff = h.MaxTimestamp, Offset(h.BaseOffset)
			}
			pos += h.TotalSize()
		}
	}
	best := -1
	for i, r := range refs {
		if r.maxTsOff >= 0 && (best < 0 || r.maxTs > refs[best].maxTs) {
			best = i
		}
	}
	if best < 0 {
		return nil, false, nil
	}
	r := refs[best]
	l.mu.Lock()
	pos := r.seg.index.lookup(r.maxTsOff)
	l.mu.Unlock()
	for pos < r.size {
		h, err := readHeader(r.seg.log, pos, r.size, &hbuf)
		if err != nil {
			return nil, false, err
		}
		if Offset(h.NextOffset()) > r.maxTsOff {
			b, err := readBatch(r.seg.log, pos, h)
			return b, err == nil, err
		}
		pos += h.TotalSize()
	}
	return nil, false, nil
}

// SegmentStart is where one segment's readable records begin and how old
// its newest record is: what ListOffsets v0 lists (Kafka's
// legacyFetchOffsetsBefore).
type SegmentStart struct {
	// Offset is the segment's base offset, or the log start offset when
	// that lies inside the segment.
	Offset Offset
	// LargestTimestamp is the segment's largest record timestamp in
	// milliseconds, or its file's modification time when no batch carries
	// one: the age retention.ms measures too.
	LargestTimestamp int64
	// SizeBytes is the size of the segment's .log file.
	SizeBytes int64
}

// SegmentStarts lists the segments, oldest first, leaving out rolled
// segments wholly below the log start offset (they hold nothing readable
// and retention removes them). The active segment is always listed.
func (l *Log) SegmentStarts() ([]SegmentStart, error) {
	l.mu.Lock()
	if err := l.usableLocked(); err != nil {
		l.mu.Unlock()
		return nil, err
	}
	logStart := l.mu.logStartOffset
	last := len(l.mu.segments) - 1
	starts := make([]SegmentStart, 0, len(l.mu.segments))
	type undated struct {
		index int
		seg   *segment
	}
	var stat []undated
	for i, s := range l.mu.segments {
		if s.nextOffset <= logStart && i < last {
			continue
		}
		if s.maxTimestamp < 0 {
			stat = append(stat, undated{index: len(starts), seg: s})
		}
		starts = append(starts, SegmentStart{Offset: max(s.baseOffset, logStart), LargestTimestamp: s.maxTimestamp, SizeBytes: s.size})
	}
	l.mu.Unlock()
	// The files of segments without record timestamps are read outside the
	// lock, as retention reads them.
	for _, u := range stat {
		info, err := l.fs.Stat(u.seg.path(logSuffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by retention meanwhile: its start stays, dated -1
		}
		if err != nil {
			return nil, err
		}
		starts[u.index].LargestTimestamp = info.ModTime.UnixMilli()
	}
	return starts, nil
}
