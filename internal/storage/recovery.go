package storage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

// crcChunkBytes bounds the buffer used to checksum a batch during recovery,
// so a batch of any size is checked in constant memory.
const crcChunkBytes = 64 << 10

// crcCoveredFrom is where the CRC-32C of a v2 batch starts.
const crcCoveredFrom = 21

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// indexUpdate is what one appended batch adds to the indexes.
type indexUpdate struct {
	offsetEntry    *offsetEntry
	timeEntry      *timeEntry
	maxTimestamp   int64
	offsetOfMaxTs  Offset
	batchSizeBytes int64
}

// planIndex decides the index entries for a batch at pos, as Kafka does: an
// offset entry once more than index.interval.bytes were appended since the
// last one, and with it a time entry if the largest timestamp grew. It
// updates bytesSinceIndexEntry and is called by the appender only.
func (s *segment) planIndex(pos int64, h recordbatch.Header, intervalBytes int64) indexUpdate {
	u := indexUpdate{maxTimestamp: s.maxTimestamp, offsetOfMaxTs: s.offsetOfMaxTimestamp, batchSizeBytes: h.TotalSize()}
	if h.MaxTimestamp > u.maxTimestamp {
		u.maxTimestamp, u.offsetOfMaxTs = h.MaxTimestamp, Offset(h.BaseOffset)
	}
	if s.bytesSinceIndexEntry > intervalBytes {
		u.offsetEntry = &offsetEntry{offset: Offset(h.BaseOffset), position: pos}
		if u.maxTimestamp > s.timeIndex.last().timestamp {
			u.timeEntry = &timeEntry{timestamp: u.maxTimestamp, offset: u.offsetOfMaxTs}
		}
		s.bytesSinceIndexEntry = 0
	}
	s.bytesSinceIndexEntry += h.TotalSize()
	return u
}

// applyLocked records an appended batch in memory. Log.mu is held, or the
// segment is not yet shared.
func (s *segment) applyLocked(h recordbatch.Header, u indexUpdate) {
	s.size += u.batchSizeBytes
	s.nextOffset = Offset(h.NextOffset())
	s.maxTimestamp, s.offsetOfMaxTimestamp = u.maxTimestamp, u.offsetOfMaxTs
	if u.offsetEntry != nil {
		s.index.add(*u.offsetEntry)
	}
	if u.timeEntry != nil {
		s.timeIndex.entries = append(s.timeIndex.entries, *u.timeEntry)
	}
}

// finalTimeEntry is the entry that makes the time index's last entry the
// segment's largest timestamp (written at roll and close), or nil.
func (s *segment) finalTimeEntry() *timeEntry {
	if s.maxTimestamp > s.timeIndex.last().timestamp {
		return &timeEntry{timestamp: s.maxTimestamp, offset: s.offsetOfMaxTimestamp}
	}
	return nil
}

func (s *segment) resetState() {
	s.size, s.nextOffset = 0, s.baseOffset
	s.maxTimestamp, s.offsetOfMaxTimestamp = -1, -1
	s.index.slots, s.timeIndex.entries = nil, nil
	s.setTxns(nil)
	s.bytesSinceIndexEntry = 0
}

// recover scans the whole log checking every batch (header, CRC-32C,
// continuing offsets), truncates the file at the first bad or torn batch,
// and rebuilds both indexes in memory (the caller writes their files when
// the segment is not active). It returns the corruption that caused a
// truncation, or nil when the file was whole.
func (s *segment) recover(intervalBytes int64) (truncation *CorruptionError, err error) {
	s.resetState()
	logSize, err := s.log.Size()
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", s.log.Name(), err)
	}
	var hbuf [recordbatch.HeaderSize]byte
	// Sized by the file: Open scans every empty active segment, and a
	// broker opens thousands of them.
	chunk := make([]byte, min(crcChunkBytes, logSize))
	pos := int64(0)
	for pos < logSize {
		h, err := s.checkBatch(pos, logSize, &hbuf, chunk)
		var cerr *CorruptionError
		if errors.As(err, &cerr) {
			truncation = cerr
			break
		}
		if err != nil {
			return nil, err
		}
		s.applyLocked(h, s.planIndex(pos, h, intervalBytes))
		pos += h.TotalSize()
	}
	if pos < logSize {
		if err := s.log.Truncate(pos); err != nil {
			return nil, fmt.Errorf("truncate %s to %d: %w", s.log.Name(), pos, err)
		}
	}
	return truncation, nil
}

// checkBatch validates the batch at pos fully, for recovery.
func (s *segment) checkBatch(pos, logSize int64, hbuf *[recordbatch.HeaderSize]byte, chunk []byte) (recordbatch.Header, error) {
	h, err := readHeader(s.log, pos, logSize, hbuf)
	if err != nil {
		return h, err
	}
	name := s.log.Name()
	if pos == 0 && Offset(h.BaseOffset) < s.baseOffset {
		return h, corruptf(name, pos, "base offset %d below segment base %d", h.BaseOffset, s.baseOffset)
	}
	// Offsets increase from batch to batch; compaction may leave a gap
	// where it removed whole batches, so the next base offset may be
	// past the previous batch's end.
	if pos > 0 && Offset(h.BaseOffset) < s.nextOffset {
		return h, corruptf(name, pos, "base offset %d, expected at least %d", h.BaseOffset, s.nextOffset)
	}
	if Offset(h.LastOffset())-s.baseOffset > math.MaxInt32 {
		return h, corruptf(name, pos, "offset %d too far from segment base %d", h.LastOffset(), s.baseOffset)
	}
	crc := uint32(0)
	end := pos + h.TotalSize()
	for at := pos + crcCoveredFrom; at < end; {
		n := min(int64(len(chunk)), end-at)
		read, err := s.log.ReadAt(chunk[:n], at)
		if err != nil && !(errors.Is(err, io.EOF) && int64(read) == n) {
			return h, fmt.Errorf("read %s at %d: %w", name, at, err)
		}
		crc = crc32.Update(crc, castagnoli, chunk[:n])
		at += n
	}
	if crc != h.CRC {
		return h, corruptf(name, pos, "CRC %08x, batch says %08x", crc, h.CRC)
	}
	return h, nil
}

// load opens a segment below the recovery point, which was fully fsynced
// before: it trusts the batches' CRCs but checks that the indexes agree with
// the log (sorted, inside the file, the last offset entry at a batch start)
// and walks the headers after the last offset entry to find the segment's
// end. Any disagreement is returned as a CorruptionError; the caller then
// recovers the segment.
func (s *segment) load(fs vfs.FS) error {
	s.resetState()
	logSize, err := s.log.Size()
	if err != nil {
		return fmt.Errorf("size of %s: %w", s.log.Name(), err)
	}
	b, err := readIndexFile(fs, s.path(indexSuffix), offsetIndexEntryBytes, logSize)
	if err != nil {
		return err
	}
	offsets, err := decodeOffsetIndex(s.path(indexSuffix), b, s.baseOffset, logSize)
	if err != nil {
		return err
	}
	if err := s.checkIndexEntries(offsets, logSize); err != nil {
		return err
	}
	pos, expect := int64(0), Offset(-1)
	if n := len(offsets); n > 0 {
		pos, expect = offsets[n-1].position, offsets[n-1].offset
	}
	next, tailMax, tailMaxOffset, err := s.walkTail(pos, logSize, expect)
	if err != nil {
		return err
	}
	b, err = readIndexFile(fs, s.path(timeIndexSuffix), timeIndexEntryBytes, logSize)
	if err != nil {
		return err
	}
	times, err := decodeTimeIndex(s.path(timeIndexSuffix), b, s.baseOffset, next)
	if err != nil {
		return err
	}
	s.index.setEntries(offsets)
	s.timeIndex.entries = times
	s.size, s.nextOffset = logSize, next
	last := s.timeIndex.last()
	s.maxTimestamp, s.offsetOfMaxTimestamp = last.timestamp, last.offset
	if tailMax > s.maxTimestamp {
		s.maxTimestamp, s.offsetOfMaxTimestamp = tailMax, tailMaxOffset
	}
	s.bytesSinceIndexEntry = logSize - pos
	return nil
}

// maxIndexChecks bounds the headers read to check an offset index at Open:
// all entries of a small index, an even sample of a large one, so opening a
// log of many large segments stays fast.
const maxIndexChecks = 1024

// checkIndexEntries checks that sampled entries point at a batch starting at
// their offset.
func (s *segment) checkIndexEntries(entries []offsetEntry, logSize int64) error {
	step := max(1, len(entries)/maxIndexChecks)
	var hbuf [recordbatch.HeaderSize]byte
	for i := 0; i < len(entries); i += step {
		e := entries[i]
		h, err := readHeader(s.log, e.position, logSize, &hbuf)
		if err != nil {
			return err
		}
		if Offset(h.BaseOffset) != e.offset {
			return corruptf(s.path(indexSuffix), int64(i*offsetIndexEntryBytes),
				"entry for offset %d points at batch %d", e.offset, h.BaseOffset)
		}
	}
	return nil
}

// walkTail reads the batch headers from pos to the end of the log. The
// first must start at expect (when not -1, an index entry's offset); later
// ones must start at or past the previous batch's end (compaction leaves
// gaps where it removed whole batches).
func (s *segment) walkTail(pos, logSize int64, expect Offset) (next Offset, maxTs int64, maxTsOffset Offset, err error) {
	var hbuf [recordbatch.HeaderSize]byte
	next, maxTs, maxTsOffset = s.baseOffset, -1, -1
	first := true
	for pos < logSize {
		h, err := readHeader(s.log, pos, logSize, &hbuf)
		if err != nil {
			return 0, 0, 0, err
		}
		base := Offset(h.BaseOffset)
		if (first && expect >= 0 && base != expect) || base < next {
			return 0, 0, 0, corruptf(s.log.Name(), pos, "base offset %d, expected %d", base, max(expect, next))
		}
		if h.MaxTimestamp > maxTs {
			maxTs, maxTsOffset = h.MaxTimestamp, base
		}
		next = Offset(h.NextOffset())
		first = false
		pos += h.TotalSize()
	}
	return next, maxTs, maxTsOffset, nil
}
