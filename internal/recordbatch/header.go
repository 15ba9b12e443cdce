// Package recordbatch reads and validates Kafka record batches (magic v2) as
// they arrive from producers and as they lie in segment files.
//
// A batch on the wire and on disk is the same bytes:
//
//	offset  size  field
//	0       8     baseOffset            (assigned by the broker, outside the CRC)
//	8       4     batchLength           (bytes after this field)
//	12      4     partitionLeaderEpoch  (assigned by the broker, outside the CRC)
//	16      1     magic                 (2)
//	17      4     crc                   (CRC-32C of bytes 21..end)
//	21      2     attributes            (codec bits 0-2, timestamp type bit 3,
//	                                     transactional bit 4, control bit 5)
//	23      4     lastOffsetDelta
//	27      8     baseTimestamp
//	35      8     maxTimestamp
//	43      8     producerId
//	51      2     producerEpoch
//	53      4     baseSequence
//	57      4     recordCount
//	61      ...   records (compressed as a whole when the codec is not none)
//
// The package never allocates from a size field before checking it against
// the bytes actually present.
//
// Model: the produce path calls SingleBatch (or Split) and Validate, which
// check a batch without decompressing or allocating, then stores the bytes as
// they came (only SetBaseOffset and SetPartitionLeaderEpoch touch them).
// Records, FirstOffsetAtOrAfter and MaxTimestampOffset decode fully,
// decompressing under a caller-given cap, for the paths off the hot path.
// Errors wrap one sentinel each; KafkaError maps them to protocol codes in
// one place.
//
// Concurrency: the package has no mutable state. Every function is safe for
// concurrent use on distinct batches, and on the same batch as long as no
// caller writes to it (the Set functions write in place).
package recordbatch

import (
	"encoding/binary"
	"errors"
)

// HeaderSize is the size of the fixed part of a v2 record batch.
const HeaderSize = 61

// LengthFieldEnd is where the batchLength field ends: batchLength counts the
// bytes from here to the end of the batch.
const LengthFieldEnd = 12

// Offsets of the fields written by the broker, outside the CRC.
const (
	baseOffsetPos           = 0
	partitionLeaderEpochPos = 12
	crcPos                  = 17
	crcCoveredFrom          = 21
)

// Codec is the compression codec in a batch's attributes.
type Codec int8

// The codecs Kafka defines.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

// Attribute bits.
const (
	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
)

// ErrShortBatch is returned when fewer bytes are present than a header needs.
var ErrShortBatch = errors.New("record batch shorter than its header")

// Header is the fixed part of a v2 record batch.
type Header struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// ParseHeader reads the fixed header at the start of b. It checks only that
// enough bytes are present; Validate checks the rest.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortBatch
	}
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[0:])),
		BatchLength:          int32(binary.BigEndian.Uint32(b[8:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[12:])),
		Magic:                int8(b[16]),
		CRC:                  binary.BigEndian.Uint32(b[17:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[21:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[23:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[27:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[35:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[43:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[51:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[53:])),
		RecordCount:          int32(binary.BigEndian.Uint32(b[57:])),
	}, nil
}

// TotalSize is the number of bytes the whole batch occupies.
func (h Header) TotalSize() int64 { return LengthFieldEnd + int64(h.BatchLength) }

// LastOffset is the offset of the last record in the batch.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// Codec is the batch's compression codec.
func (h Header) Codec() Codec { return Codec(h.Attributes & attrCodecMask) }

// LogAppendTime reports whether the batch's timestamps are the broker's.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (h Header) Transactional() bool { return h.Attributes&attrTransactional != 0 }

// Control reports whether the batch holds control records (transaction markers).
func (h Header) Control() bool { return h.Attributes&attrControl != 0 }

// Idempotent reports whether the batch carries a producer id.
func (h Header) Idempotent() bool { return h.ProducerID >= 0 }

// LastSequence is the sequence number of the last record, wrapping as Kafka does.
func (h Header) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	last := int64(h.BaseSequence) + int64(h.LastOffsetDelta)
	if last > 0x7fffffff {
		last -= 0x80000000
	}
	return int32(last)
}

// SetBaseOffset writes the broker-assigned base offset into a batch in place.
// The field is outside the CRC, so the producer's checksum stays valid.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[baseOffsetPos:], uint64(offset))
}

// SetPartitionLeaderEpoch writes the leader epoch into a batch in place,
// also outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[partitionLeaderEpochPos:], uint32(epoch))
}

// SetMaxTimestampLogAppendTime rewrites a batch for
// message.timestamp.type=LogAppendTime: it sets the timestamp-type bit and the
// max timestamp, which are inside the CRC, so the CRC is recomputed. Records
// keep their deltas; consumers take the batch's max timestamp for each record.
func SetMaxTimestampLogAppendTime(b []byte, nowMs int64) {
	attrs := binary.BigEndian.Uint16(b[21:]) | attrLogAppendTime
	binary.BigEndian.PutUint16(b[21:], attrs)
	binary.BigEndian.PutUint64(b[35:], uint64(nowMs))
	binary.BigEndian.PutUint32(b[crcPos:], Checksum(b[crcCoveredFrom:]))
}
