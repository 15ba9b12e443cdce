package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/vfs"
)

const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	txnIndexSuffix  = ".txnindex"
	// offsetDigits is the width of a segment file name: Kafka's 20 digits.
	offsetDigits = 20
)

// segmentName is the file name stem of the segment starting at base.
func segmentName(base Offset) string {
	return fmt.Sprintf("%0*d", offsetDigits, int64(base))
}

// parseSegmentName returns the base offset of a file named like a segment's
// log and whether the name is one.
func parseSegmentName(name string) (Offset, bool) {
	stem, ok := strings.CutSuffix(name, logSuffix)
	if !ok || len(stem) != offsetDigits {
		return 0, false
	}
	v, err := strconv.ParseInt(stem, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	return Offset(v), true
}

// segment is Kafka's LogSegment: one .log file of whole batches, its two
// sparse indexes and its aborted transactions. Only the .log is held open;
// the indexes live in memory and their files are written whole (see
// indexfile.go and txnindex.go).
//
// Ownership: the Log holds one reference; each FileSlice and each fsync in
// flight holds another. The file is closed when the last one is released,
// so a reader keeps a segment readable after retention unlinked its files.
type segment struct {
	baseOffset Offset
	dir        string
	log        vfs.File
	index      offsetIndex
	timeIndex  timeIndex
	// createdAt is when the segment was created or opened, the start of its
	// segment.ms age.
	createdAt time.Time
	refs      atomic.Int32

	// Guarded by Log.mu.
	size                 int64
	nextOffset           Offset
	maxTimestamp         int64
	offsetOfMaxTimestamp Offset
	deleted              bool
	// txns are the aborted transactions whose markers lie in the segment,
	// by LastOffset (txnindex.go); txnMinFirst is their least FirstOffset.
	// txnDirty says the segment waits in Log.mu.txnDirty for its
	// .txnindex to be written; txnVersion counts changes to txns, so that
	// a Sync knows whether what it wrote is still current.
	txns        []AbortedTxn
	txnMinFirst Offset
	txnDirty    bool
	txnVersion  uint64

	// bytesSinceIndexEntry is touched by the appender only (Log.appendMu).
	bytesSinceIndexEntry int64
	// firstTimestamp caches the first batch's max timestamp for segment.ms
	// (appender only); firstTimestampLoaded says whether it was read.
	firstTimestamp       int64
	firstTimestampLoaded bool
}

// firstBatchTimestamp is the max timestamp of the segment's first batch,
// -1 when it has none or cannot be read (appender only). It is read from
// the file once, as Kafka's loadFirstBatchTimestamp.
func (s *segment) firstBatchTimestamp() int64 {
	if !s.firstTimestampLoaded {
		s.firstTimestamp = -1
		var buf [recordbatch.HeaderSize]byte
		if n, _ := s.log.ReadAt(buf[:], 0); n == len(buf) {
			if h, err := recordbatch.ParseHeader(buf[:]); err == nil {
				s.firstTimestamp = h.MaxTimestamp
			}
		}
		s.firstTimestampLoaded = true
	}
	return s.firstTimestamp
}

func (s *segment) path(suffix string) string {
	return filepath.Join(s.dir, segmentName(s.baseOffset)+suffix)
}

// openSegment opens (creating if needed) the .log file of a segment; with
// truncate it starts empty, for a brand new segment. Index files of the same
// base left on disk are stale until the segment is rolled: nothing trusts
// them before the recovery point passes the segment, which happens only
// after they were rewritten (see indexfile.go).
func openSegment(fs vfs.FS, dir string, base Offset, truncate bool, now time.Time) (*segment, error) {
	s := &segment{baseOffset: base, dir: dir, createdAt: now, nextOffset: base,
		maxTimestamp: -1, offsetOfMaxTimestamp: -1}
	flag := os.O_CREATE | os.O_RDWR | os.O_APPEND
	if truncate {
		flag |= os.O_TRUNC
	}
	f, err := fs.OpenFile(s.path(logSuffix), flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open segment file: %w", err)
	}
	s.log = f
	s.index = offsetIndex{baseOffset: base}
	s.timeIndex = timeIndex{baseOffset: base}
	s.refs.Store(1)
	return s, nil
}

// acquire takes a reference; the caller holds Log.mu or another reference.
func (s *segment) acquire() { s.refs.Add(1) }

// release drops a reference and closes the files with the last one.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		s.closeFiles()
	}
}

func (s *segment) closeFiles() error { return s.log.Close() }

// removeFiles unlinks the segment's files; open handles stay readable.
func (s *segment) removeFiles(fs vfs.FS) error {
	var errs []error
	for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix} {
		if err := fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncLog fsyncs the .log file.
func (s *segment) syncLog() error {
	if err := s.log.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.log.Name(), err)
	}
	return nil
}

// readHeader reads the batch header at pos of a log of logSize bytes and
// checks what can be checked without the body: magic 2, a length that
// holds the header and fits in the file, a non-negative last offset delta.
func readHeader(f vfs.File, pos, logSize int64, buf *[recordbatch.HeaderSize]byte) (recordbatch.Header, error) {
	if logSize-pos < recordbatch.HeaderSize {
		return recordbatch.Header{}, corruptf(f.Name(), pos, "torn batch header: %d bytes left", logSize-pos)
	}
	if _, err := f.ReadAt(buf[:], pos); err != nil && !errors.Is(err, io.EOF) {
		return recordbatch.Header{}, fmt.Errorf("read batch header in %s at %d: %w", f.Name(), pos, err)
	}
	h, err := recordbatch.ParseHeader(buf[:])
	if err != nil {
		return recordbatch.Header{}, corruptf(f.Name(), pos, "%v", err)
	}
	switch {
	case h.Magic != 2:
		return h, corruptf(f.Name(), pos, "magic %d", h.Magic)
	case int64(h.BatchLength) < recordbatch.HeaderSize-recordbatch.LengthFieldEnd:
		return h, corruptf(f.Name(), pos, "batch length %d shorter than a header", h.BatchLength)
	case h.TotalSize() > logSize-pos:
		return h, corruptf(f.Name(), pos, "torn batch: %d bytes claimed, %d left", h.TotalSize(), logSize-pos)
	case h.LastOffsetDelta < 0:
		return h, corruptf(f.Name(), pos, "negative last offset delta %d", h.LastOffsetDelta)
	case h.BaseOffset < 0:
		return h, corruptf(f.Name(), pos, "negative base offset %d", h.BaseOffset)
	}
	return h, nil
}

// readBatch reads the whole batch described by h at pos.
func readBatch(f vfs.File, pos int64, h recordbatch.Header) ([]byte, error) {
	b := make([]byte, h.TotalSize())
	n, err := f.ReadAt(b, pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read batch in %s at %d: %w", f.Name(), pos, err)
	}
	if n < len(b) {
		return nil, corruptf(f.Name(), pos, "batch cut short: %d of %d bytes", n, len(b))
	}
	return b, nil
}
