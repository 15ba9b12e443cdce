package recordbatch

import "fmt"

// A record's body holds at least attributes, timestampDelta, offsetDelta, key
// length, value length and header count: one byte each at their smallest.
// A record on the wire adds at least one byte of length in front.
const (
	minRecordBodyBytes = 6
	minRecordBytes     = 1 + minRecordBodyBytes
	minHeaderBytes     = 2
)

// recordIter walks the records of a batch's (uncompressed or decompressed)
// payload. It reads each record's fields in place: keys and values alias the
// payload. In strict mode (produce) offset deltas must be 0..count-1; outside
// it (stored batches, which compaction may have thinned) they must only
// increase and stay at or below lastOffsetDelta.
type recordIter struct {
	data            []byte
	pos             int
	index           int32
	count           int32
	strict          bool
	lastOffsetDelta int32
	prevOffsetDelta int32
}

func (it *recordIter) more() bool { return it.pos < len(it.data) }

// finish reports a batch whose payload ended before recordCount records.
func (it *recordIter) finish() error {
	if it.index != it.count {
		return fmt.Errorf("%w: %d records present, recordCount %d", ErrInvalidRecord, it.index, it.count)
	}
	return nil
}

// next decodes the record at the current position into rec. Headers are only
// materialised (and allocated) when withHeaders is set; otherwise they are
// checked and skipped, so validation does not allocate.
func (it *recordIter) next(rec *Record, withHeaders bool) error {
	if it.index >= it.count {
		return fmt.Errorf("%w: more than recordCount %d records in the batch", ErrInvalidRecord, it.count)
	}
	length, n := readVarint(it.data[it.pos:])
	if n == 0 {
		return it.corrupt("length varint")
	}
	if length < minRecordBodyBytes || int64(length) > int64(len(it.data)-it.pos-n) {
		return it.corrupt(fmt.Sprintf("length %d with %d bytes left", length, len(it.data)-it.pos-n))
	}
	body := it.data[it.pos+n : it.pos+n+int(length)]
	if err := it.decodeBody(body, rec, withHeaders); err != nil {
		return err
	}
	if err := it.checkOffsetDelta(rec.OffsetDelta); err != nil {
		return err
	}
	it.pos += n + int(length)
	it.index++
	return nil
}

func (it *recordIter) checkOffsetDelta(delta int32) error {
	if it.strict {
		if delta != it.index {
			return fmt.Errorf("%w: record %d has offset delta %d", ErrInvalidRecord, it.index, delta)
		}
		return nil
	}
	if delta < 0 || delta > it.lastOffsetDelta || (it.index > 0 && delta <= it.prevOffsetDelta) {
		return fmt.Errorf("%w: record %d has offset delta %d after %d (last %d)", ErrInvalidRecord, it.index, delta, it.prevOffsetDelta, it.lastOffsetDelta)
	}
	it.prevOffsetDelta = delta
	return nil
}

func (it *recordIter) decodeBody(body []byte, rec *Record, withHeaders bool) error {
	rec.Attributes = int8(body[0])
	pos := 1
	ts, n := readVarlong(body[pos:])
	if n == 0 {
		return it.corrupt("timestamp delta")
	}
	rec.TimestampDelta = ts
	pos += n
	off, n := readVarint(body[pos:])
	if n == 0 {
		return it.corrupt("offset delta")
	}
	rec.OffsetDelta = off
	pos += n
	var ok bool
	if rec.Key, pos, ok = readNullableBytes(body, pos); !ok {
		return it.corrupt("key")
	}
	if rec.Value, pos, ok = readNullableBytes(body, pos); !ok {
		return it.corrupt("value")
	}
	pos, err := it.decodeHeaders(body, pos, rec, withHeaders)
	if err != nil {
		return err
	}
	if pos != len(body) {
		return it.corrupt(fmt.Sprintf("%d bytes past its fields", len(body)-pos))
	}
	return nil
}

func (it *recordIter) decodeHeaders(body []byte, pos int, rec *Record, withHeaders bool) (int, error) {
	count, n := readVarint(body[pos:])
	if n == 0 {
		return 0, it.corrupt("header count")
	}
	pos += n
	// The count is checked against the bytes left before anything is
	// allocated from it.
	if count < 0 || int64(count) > int64(len(body)-pos)/minHeaderBytes {
		return 0, it.corrupt(fmt.Sprintf("header count %d", count))
	}
	rec.Headers = nil
	if withHeaders && count > 0 {
		rec.Headers = make([]RecordHeader, 0, count)
	}
	for i := int32(0); i < count; i++ {
		key, next, ok := readNullableBytes(body, pos)
		if !ok || key == nil {
			return 0, it.corrupt(fmt.Sprintf("header %d key", i))
		}
		value, next, ok := readNullableBytes(body, next)
		if !ok {
			return 0, it.corrupt(fmt.Sprintf("header %d value", i))
		}
		pos = next
		if withHeaders {
			rec.Headers = append(rec.Headers, RecordHeader{Key: string(key), Value: value})
		}
	}
	return pos, nil
}

func (it *recordIter) corrupt(what string) error {
	return fmt.Errorf("%w: record %d: bad %s", ErrCorruptMessage, it.index, what)
}

// readNullableBytes reads a varint length (-1 for null) and that many bytes
// from b at pos. An empty non-null field comes back as a non-nil empty slice.
func readNullableBytes(b []byte, pos int) (field []byte, next int, ok bool) {
	length, n := readVarint(b[pos:])
	if n == 0 || length < -1 {
		return nil, 0, false
	}
	pos += n
	if length == -1 {
		return nil, pos, true
	}
	if int64(length) > int64(len(b)-pos) {
		return nil, 0, false
	}
	end := pos + int(length)
	return b[pos:end:end], end, true
}
