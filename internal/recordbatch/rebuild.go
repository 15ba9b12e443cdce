package recordbatch

import (
	"encoding/binary"
	"fmt"
)

// attrDeleteHorizon is attribute bit 6 (KIP-534): the batch's baseTimestamp
// holds the delete horizon, the time after which the cleaner may drop its
// tombstones, instead of the first record's timestamp.
const attrDeleteHorizon = 0x40

// DeleteHorizon returns the batch's delete horizon in Unix milliseconds and
// whether it has one (attribute bit 6 set by a compaction).
func (h Header) DeleteHorizon() (ms int64, ok bool) {
	if h.Attributes&attrDeleteHorizon == 0 {
		return 0, false
	}
	return h.BaseTimestamp, true
}

// WithDeleteHorizon returns h marked with a delete horizon at ms. The
// caller rebases record timestamp deltas on the new baseTimestamp (see
// RebaseTimestamps), so every record keeps its timestamp.
func (h Header) WithDeleteHorizon(ms int64) Header {
	h.Attributes |= attrDeleteHorizon
	h.BaseTimestamp = ms
	return h
}

// RebaseTimestamps rewrites the records' timestamp deltas so that each
// record keeps its timestamp when the batch's baseTimestamp moves from
// oldBase to newBase. Deltas are varlongs, so they may go negative.
func RebaseTimestamps(records []Record, oldBase, newBase int64) {
	for i := range records {
		records[i].TimestampDelta = oldBase + records[i].TimestampDelta - newBase
	}
}

// SnappyXerial reports whether a snappy batch's payload is xerial-framed
// (written by the Java client), so a rebuilt batch can keep its framing.
func SnappyXerial(batch []byte) bool {
	if len(batch) < HeaderSize+len(xerialMagic) {
		return false
	}
	return [8]byte(batch[HeaderSize:HeaderSize+len(xerialMagic)]) == xerialMagic
}

// Rebuild encodes records into a batch that keeps every field of h: base
// offset, partition leader epoch, attributes (so the codec unless the batch
// is empty, the timestamp type,
// transactional and control bits), lastOffsetDelta, base and max
// timestamps, producer id, epoch and base sequence. Only the record count,
// the length and the CRC are recomputed. Records keep their own offset
// deltas, which must increase and stay within [0, lastOffsetDelta]: a batch
// thinned by compaction keeps its original offset range with gaps inside,
// as Kafka's cleaner writes it. A batch with no records is valid (Kafka
// keeps such empty batches to hold a producer's last sequence).
//
// The payload is compressed with h's codec (an empty batch is written
// uncompressed); xerial selects the Java client's snappy framing.
func Rebuild(h Header, records []Record, xerial bool) ([]byte, error) {
	if h.LastOffsetDelta < 0 {
		return nil, fmt.Errorf("%w: rebuild with lastOffsetDelta %d", ErrInvalidRecord, h.LastOffsetDelta)
	}
	codec := h.Codec()
	if codec > CodecZstd {
		return nil, fmt.Errorf("%w: rebuild with unknown codec %d", ErrCorruptMessage, codec)
	}
	if len(records) == 0 {
		// An empty batch (compaction keeps one for its producer's state)
		// is written uncompressed, as Kafka writes it: librdkafka asserts
		// on a compressed payload of no records.
		h.Attributes &^= attrCodecMask
		codec = CodecNone
	}
	var payload []byte
	prev := int32(-1)
	for i := range records {
		rec := &records[i]
		if rec.OffsetDelta <= prev || rec.OffsetDelta > h.LastOffsetDelta {
			return nil, fmt.Errorf("%w: rebuild record %d with offset delta %d after %d (last %d)",
				ErrInvalidRecord, i, rec.OffsetDelta, prev, h.LastOffsetDelta)
		}
		prev = rec.OffsetDelta
		payload = appendRecord(payload, rec)
	}
	payload = compress(codec, xerial, payload)

	b := make([]byte, HeaderSize, HeaderSize+len(payload))
	binary.BigEndian.PutUint64(b[0:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(b[8:], uint32(HeaderSize-LengthFieldEnd+len(payload)))
	binary.BigEndian.PutUint32(b[12:], uint32(h.PartitionLeaderEpoch))
	b[16] = 2
	binary.BigEndian.PutUint16(b[21:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(b[23:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(b[27:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(b[35:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(b[43:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(b[51:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(b[53:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(b[57:], uint32(len(records)))
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[crcPos:], Checksum(b[crcCoveredFrom:]))
	return b, nil
}
