package recordbatch

import (
	"fmt"
	"math"
)

// Record is one decoded record of a batch. Nil Key or Value means null.
// Key, Value and header values alias the batch (uncompressed) or the
// decompressed payload: copy them to keep them past the buffer's life.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key            []byte
	Value          []byte
	Headers        []RecordHeader
}

// RecordHeader is one record header. Kafka header keys are never null;
// values may be.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Records fully decodes a batch, decompressing it when needed with the
// payload capped at maxDecompressedBytes. It is for the paths off the
// produce hot path: ListOffsets by timestamp, compaction, tools and tests.
//
// It accepts what may lie in a log as well as what a producer sends: control
// batches, empty batches, and offset deltas with gaps (left by compaction)
// as long as they increase and end at or below lastOffsetDelta.
func Records(batch []byte, maxDecompressedBytes int64) ([]Record, error) {
	h, err := checkStructure(batch, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	return decodeRecords(h, batch, maxDecompressedBytes)
}

func decodeRecords(h Header, batch []byte, maxDecompressedBytes int64) ([]Record, error) {
	if h.RecordCount < 0 {
		return nil, fmt.Errorf("%w: record count %d", ErrCorruptMessage, h.RecordCount)
	}
	data := batch[HeaderSize:]
	if c := h.Codec(); c != CodecNone {
		var err error
		if data, err = Decompress(c, data, maxDecompressedBytes); err != nil {
			return nil, err
		}
	}
	// The claimed count only sizes the slice once checked against the bytes
	// that could hold that many records.
	capacity := min(int64(h.RecordCount), int64(len(data))/minRecordBytes)
	records := make([]Record, 0, capacity)
	it := recordIter{data: data, count: h.RecordCount, lastOffsetDelta: h.LastOffsetDelta}
	for it.more() {
		var rec Record
		if err := it.next(&rec, true); err != nil {
			return nil, err
		}
		records = append(records, rec)
	}
	if err := it.finish(); err != nil {
		return nil, err
	}
	return records, nil
}

// recordTimestamp is a record's timestamp: the broker's append time for a
// LogAppendTime batch, the producer's otherwise.
func recordTimestamp(h Header, rec *Record) int64 {
	if h.LogAppendTime() {
		return h.MaxTimestamp
	}
	return h.BaseTimestamp + rec.TimestampDelta
}

// FirstOffsetAtOrAfter finds the first record whose timestamp is at or after
// ts, as ListOffsets by timestamp does, and returns its offset and timestamp.
// found is false when every record is older. The batch's max timestamp
// settles that case without decompressing.
func FirstOffsetAtOrAfter(batch []byte, ts int64, maxDecompressedBytes int64) (offset, timestamp int64, found bool, err error) {
	h, err := checkStructure(batch, math.MaxInt64)
	if err != nil {
		return 0, 0, false, err
	}
	if h.MaxTimestamp < ts {
		return 0, 0, false, nil
	}
	records, err := decodeRecords(h, batch, maxDecompressedBytes)
	if err != nil {
		return 0, 0, false, err
	}
	for i := range records {
		if t := recordTimestamp(h, &records[i]); t >= ts {
			return h.BaseOffset + int64(records[i].OffsetDelta), t, true, nil
		}
	}
	return 0, 0, false, nil
}

// MaxTimestampOffset returns the offset and timestamp of the first record
// carrying the batch's max timestamp (ListOffsets with MAX_TIMESTAMP). As in
// Kafka, the header's maxTimestamp is the one looked for; should no record
// carry it (a producer wrote a wrong header) the largest record timestamp is
// used instead. An empty batch gives ErrInvalidRecord.
func MaxTimestampOffset(batch []byte, maxDecompressedBytes int64) (offset, timestamp int64, err error) {
	h, err := checkStructure(batch, math.MaxInt64)
	if err != nil {
		return 0, 0, err
	}
	records, err := decodeRecords(h, batch, maxDecompressedBytes)
	if err != nil {
		return 0, 0, err
	}
	if len(records) == 0 {
		return 0, 0, fmt.Errorf("%w: no records in the batch", ErrInvalidRecord)
	}
	best := 0
	for i := range records {
		t := recordTimestamp(h, &records[i])
		if t == h.MaxTimestamp {
			return h.BaseOffset + int64(records[i].OffsetDelta), t, nil
		}
		if t > recordTimestamp(h, &records[best]) {
			best = i
		}
	}
	return h.BaseOffset + int64(records[best].OffsetDelta), recordTimestamp(h, &records[best]), nil
}
