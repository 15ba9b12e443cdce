package storage

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// FileSlice is a range of whole batches in one segment file, returned by
// Read. It holds a reference on its segment so that it stays readable even
// if retention deletes the segment; Release drops it. The zero FileSlice
// (Size 0) is an empty read and needs no Release.
type FileSlice struct {
	// Pos and Size locate the bytes in the segment's .log file.
	Pos, Size int64
	// BaseOffset is the first batch's base offset; NextOffset follows the
	// last batch.
	BaseOffset, NextOffset Offset
	file                   vfs.File
	ref                    *sliceRef
}

type sliceRef struct {
	seg      *segment
	released atomic.Bool
}

// File is the segment file the slice lies in, for a sendfile path. It is
// valid until Release.
func (s FileSlice) File() vfs.File { return s.file }

// ReadAll appends the slice's bytes to dst.
func (s FileSlice) ReadAll(dst []byte) ([]byte, error) {
	if s.Size == 0 {
		return dst, nil
	}
	n := len(dst)
	dst = append(dst, make([]byte, s.Size)...)
	read, err := s.file.ReadAt(dst[n:], s.Pos)
	if err != nil && !(errors.Is(err, io.EOF) && int64(read) == s.Size) {
		return dst[:n], fmt.Errorf("read %s at %d: %w", s.file.Name(), s.Pos, err)
	}
	return dst, nil
}

// WriteTo copies the slice's bytes to w.
func (s FileSlice) WriteTo(w io.Writer) (int64, error) {
	if s.Size == 0 {
		return 0, nil
	}
	return io.Copy(w, io.NewSectionReader(s.file, s.Pos, s.Size))
}

// Release drops the slice's segment reference. It is safe to call more
// than once; the slice must not be read afterwards.
func (s FileSlice) Release() {
	if s.ref != nil && s.ref.released.CompareAndSwap(false, true) {
		s.ref.seg.release()
	}
}

// Read returns whole batches from one segment, starting with the batch that
// holds from, ending before the first batch with an offset at or past
// maxOffset (such as the high watermark), and stopping at about maxBytes,
// but with at least one whole batch when the first is larger (KIP-74).
// The slice is empty when from is maxOffset or the log end.
// ErrOffsetOutOfRange is returned for from below the log start or past the
// log end.
func (l *Log) Read(from Offset, maxBytes int64, maxOffset Offset) (FileSlice, error) {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return FileSlice{}, ErrClosed
	}
	if from < l.mu.logStartOffset || from > l.mu.logEndOffset {
		err := fmt.Errorf("read from offset %d, log holds [%d, %d): %w",
			from, l.mu.logStartOffset, l.mu.logEndOffset, ErrOffsetOutOfRange)
		l.mu.Unlock()
		return FileSlice{}, err
	}
	maxOffset = min(maxOffset, l.mu.logEndOffset)
	if from >= maxOffset {
		l.mu.Unlock()
		return FileSlice{BaseOffset: from, NextOffset: from}, nil
	}
	s := l.segmentForLocked(from)
	pos, size, next := s.index.lookup(from), s.size, s.nextOffset
	s.acquire()
	l.mu.Unlock()

	slice, err := readRange(s, pos, size, next, from, maxBytes, maxOffset)
	if err != nil || slice.Size == 0 {
		s.release()
		return FileSlice{BaseOffset: from, NextOffset: from}, err
	}
	slice.file, slice.ref = s.log, &sliceRef{seg: s}
	return slice, nil
}

// segmentForLocked returns the segment holding from, which is within
// [log start, log end).
func (l *Log) segmentForLocked(from Offset) *segment {
	segs := l.mu.segments
	i := sort.Search(len(segs), func(i int) bool { return segs[i].baseOffset > from }) - 1
	i = max(i, 0)
	for i < len(segs)-1 && from >= segs[i].nextOffset {
		i++
	}
	return segs[i]
}

// readRange walks batch headers from pos to find the range Read returns.
// next is the segment's next offset when it was size bytes long.
func readRange(s *segment, pos, size int64, next, from Offset, maxBytes int64, maxOffset Offset) (FileSlice, error) {
	var hbuf [recordbatch.HeaderSize]byte
	for pos < size {
		h, err := readHeader(s.log, pos, size, &hbuf)
		if err != nil {
			return FileSlice{}, err
		}
		if Offset(h.NextOffset()) > from {
			break
		}
		pos += h.TotalSize()
	}
	if pos < size && maxOffset >= next && size-pos <= maxBytes {
		// A consumer at the tail: the rest of the segment fits, so it is
		// returned without reading every header.
		h, err := readHeader(s.log, pos, size, &hbuf)
		if err != nil {
			return FileSlice{}, err
		}
		return FileSlice{Pos: pos, Size: size - pos, BaseOffset: Offset(h.BaseOffset), NextOffset: next}, nil
	}
	slice := FileSlice{Pos: pos, BaseOffset: -1}
	for end := pos; end < size; {
		h, err := readHeader(s.log, end, size, &hbuf)
		if err != nil {
			return FileSlice{}, err
		}
		if Offset(h.LastOffset()) >= maxOffset || (slice.Size > 0 && slice.Size+h.TotalSize() > maxBytes) {
			break
		}
		if slice.BaseOffset < 0 {
			slice.BaseOffset = Offset(h.BaseOffset)
		}
		slice.Size += h.TotalSize()
		slice.NextOffset = Offset(h.NextOffset())
		end += h.TotalSize()
		if slice.Size >= maxBytes {
			break
		}
	}
	return slice, nil
}

// segmentRef is a segment and the byte range to scan in it, with a
// reference held.
type segmentRef struct {
	seg      *segment
	pos      int64
	size     int64
	maxTs    int64
	maxTsOff Offset
}

func releaseAll(refs []segmentRef) {
	for _, r := range refs {
		r.seg.release()
	}
}

// ScanBatches calls fn with the header of every batch from the one holding
// from to the log end, in order, for rebuilding state such as producer ids.
// It stops at fn's first error and returns it.
func (l *Log) ScanBatches(from Offset, fn func(h recordbatch.Header) error) error {
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if from < l.mu.logStartOffset || from > l.mu.logEndOffset {
		err := fmt.Errorf("scan from offset %d, log holds [%d, %d): %w",
			from, l.mu.logStartOffset, l.mu.logEndOffset, ErrOffsetOutOfRange)
		l.mu.Unlock()
		return err
	}
	var refs []segmentRef
	for _, s := range l.mu.segments {
		if s.nextOffset > from {
			s.acquire()
			refs = append(refs, segmentRef{seg: s, pos: s.index.lookup(from), size: s.size})
		}
	}
	l.mu.Unlock()
	defer releaseAll(refs)

	var hbuf [recordbatch.HeaderSize]byte
	for _, r := range refs {
		for pos := r.pos; pos < r.size; {
			h, err := readHeader(r.seg.log, pos, r.size, &hbuf)
			if err != nil {
				return err
			}
			pos += h.TotalSize()
			if Offset(h.NextOffset()) <= from {
				continue
			}
			if err := fn(h); err != nil {
				return err
			}
		}
	}
	return nil
}
