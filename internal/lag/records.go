package lag

import (
	"errors"
	"fmt"
	"time"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// maxDecompressedBytes bounds the payload of one batch decompressed to find
// a record's timestamp: the offsets topic's loader uses the same bound.
const maxDecompressedBytes = 64 << 20

// FirstRecordTime scans record batches (as a Fetch returns them, the last
// possibly cut short) for the first data record at or after offset and
// below end, skipping control batches and compaction's gaps. It returns the
// record's timestamp (the batch's for LogAppendTime topics) and found, or,
// when the bytes hold no such record, the offset to read from next (next ==
// end when the log has none).
func FirstRecordTime(batches []byte, offset, end int64) (ts time.Time, found bool, next int64, err error) {
	next = offset
	for len(batches) >= recordbatch.HeaderSize {
		h, err := recordbatch.ParseHeader(batches)
		if err != nil {
			return time.Time{}, false, next, fmt.Errorf("parse batch header: %w", err)
		}
		size := h.TotalSize()
		if size < recordbatch.HeaderSize || size > int64(len(batches)) {
			break // cut short at the end of the response
		}
		batch := batches[:size]
		batches = batches[size:]
		if h.NextOffset() <= offset || h.Control() {
			next = max(next, h.NextOffset())
			continue
		}
		if h.BaseOffset >= end {
			return time.Time{}, false, end, nil
		}
		ts, ok, err := recordTime(h, batch, offset, end)
		if err != nil || ok {
			return ts, ok, next, err
		}
		next = max(next, h.NextOffset())
	}
	return time.Time{}, false, min(next, end), nil
}

// recordTime finds the first record of a data batch at or after offset and
// below end.
func recordTime(h recordbatch.Header, batch []byte, offset, end int64) (time.Time, bool, error) {
	records, err := recordbatch.Records(batch, maxDecompressedBytes)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("decode batch at offset %d: %w", h.BaseOffset, err)
	}
	for _, r := range records {
		at := h.BaseOffset + int64(r.OffsetDelta)
		if at < offset {
			continue
		}
		if at >= end {
			return time.Time{}, false, nil
		}
		if h.LogAppendTime() {
			return time.UnixMilli(h.MaxTimestamp), true, nil
		}
		return time.UnixMilli(h.BaseTimestamp + r.TimestampDelta), true, nil
	}
	return time.Time{}, false, nil
}

// ErrNoProgress is returned by a source whose reads at an offset return
// nothing although the offset is below the end.
var ErrNoProgress = errors.New("read made no progress")
