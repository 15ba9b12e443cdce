package storage

import (
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
