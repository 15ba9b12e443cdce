package recordbatch

import "fmt"

// DefaultMaxBatchBytes is Kafka's default max.message.bytes (1 MiB plus the
// 12-byte log overhead), used when Limits.MaxBatchBytes is zero.
const DefaultMaxBatchBytes = 1048588

// Limits bounds what Validate accepts.
type Limits struct {
	// MaxBatchBytes is the topic's max.message.bytes: the largest batch,
	// header included, that may be appended. Zero means DefaultMaxBatchBytes.
	MaxBatchBytes int64
	// AllowControl accepts control batches (transaction markers). Clients may
	// not write them; only the broker's own writers set this.
	AllowControl bool
}

func (l Limits) maxBatchBytes() int64 {
	if l.MaxBatchBytes <= 0 {
		return DefaultMaxBatchBytes
	}
	return l.MaxBatchBytes
}

// Validate checks one whole batch (as cut by Split) on the produce hot path
// and returns its header. It never decompresses and never allocates on
// success. The checks, in Kafka's order of precedence, and the error each
// gives (see KafkaError for the protocol codes):
//
//   - fewer bytes than a header, or batchLength disagreeing with len(batch):
//     ErrCorruptMessage;
//   - magic 0 or 1: ErrUnsupportedForMessageFormat; magic above 2:
//     ErrCorruptMessage;
//   - larger than MaxBatchBytes: ErrMessageTooLarge;
//   - CRC-32C over bytes 21..end wrong: ErrCorruptMessage;
//   - codec outside 0..4: ErrCorruptMessage;
//   - recordCount < 1, lastOffsetDelta != recordCount-1, a control batch
//     without AllowControl, or a producer id with a negative base sequence:
//     ErrInvalidRecord;
//   - uncompressed only: a record's length, varints or fields running past
//     the batch or past the record: ErrCorruptMessage; the records present
//     not matching recordCount, or offset deltas other than 0..n-1:
//     ErrInvalidRecord.
//
// The base offset and partition leader epoch are not checked: the broker
// overwrites both.
func Validate(batch []byte, lim Limits) (Header, error) {
	h, err := validateHeader(batch, lim)
	if err != nil {
		return Header{}, err
	}
	if h.Codec() == CodecNone {
		if err := walkRecords(batch[HeaderSize:], h.RecordCount); err != nil {
			return Header{}, err
		}
	}
	return h, nil
}

func validateHeader(batch []byte, lim Limits) (Header, error) {
	h, err := checkStructure(batch, lim.maxBatchBytes())
	if err != nil {
		return Header{}, err
	}
	if h.RecordCount < 1 {
		return Header{}, fmt.Errorf("%w: record count %d", ErrInvalidRecord, h.RecordCount)
	}
	if int64(h.LastOffsetDelta) != int64(h.RecordCount)-1 {
		return Header{}, fmt.Errorf("%w: lastOffsetDelta %d with %d records", ErrInvalidRecord, h.LastOffsetDelta, h.RecordCount)
	}
	if h.Control() && !lim.AllowControl {
		return Header{}, fmt.Errorf("%w: clients may not write control batches", ErrInvalidRecord)
	}
	if h.Idempotent() && h.BaseSequence < 0 {
		return Header{}, fmt.Errorf("%w: producer id %d with base sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	}
	return h, nil
}

// walkRecords checks uncompressed records without materialising them.
func walkRecords(data []byte, count int32) error {
	it := recordIter{data: data, count: count, strict: true}
	var rec Record
	for it.more() {
		if err := it.next(&rec, false); err != nil {
			return err
		}
	}
	return it.finish()
}

// checkStructure checks what makes bytes a v2 batch at all: whole, magic 2,
// within maxBytes, CRC-32C intact and a known codec. It applies to stored
// batches as well as produced ones.
func checkStructure(batch []byte, maxBytes int64) (Header, error) {
	if len(batch) > 16 && batch[16] < 2 {
		return Header{}, fmt.Errorf("%w: magic %d", ErrUnsupportedForMessageFormat, batch[16])
	}
	h, err := ParseHeader(batch)
	if err != nil {
		return Header{}, fmt.Errorf("%w: %d bytes: %w", ErrCorruptMessage, len(batch), err)
	}
	if h.TotalSize() != int64(len(batch)) {
		return Header{}, fmt.Errorf("%w: batchLength %d does not match %d bytes present", ErrCorruptMessage, h.BatchLength, len(batch))
	}
	if h.Magic != 2 {
		return Header{}, fmt.Errorf("%w: unknown magic %d", ErrCorruptMessage, h.Magic)
	}
	if int64(len(batch)) > maxBytes {
		return Header{}, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, len(batch), maxBytes)
	}
	if sum := Checksum(batch[crcCoveredFrom:]); sum != h.CRC {
		return Header{}, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptMessage, h.CRC, sum)
	}
	if c := h.Codec(); c > CodecZstd {
		return Header{}, fmt.Errorf("%w: unknown compression codec %d", ErrCorruptMessage, c)
	}
	return h, nil
}

// ValidateStored checks a batch as a log may hold it rather than as a
// client may produce it: a follower copying its leader's log, which
// compaction may have thinned, takes batches with fewer records than their
// offset span (down to none, kept for the producer state), offset deltas
// with gaps, and control batches. Structure, CRC, codec and, uncompressed,
// every record's framing are checked as in Validate.
func ValidateStored(batch []byte, maxBytes int64) (Header, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBatchBytes
	}
	h, err := checkStructure(batch, maxBytes)
	if err != nil {
		return Header{}, err
	}
	if h.RecordCount < 0 || h.LastOffsetDelta < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		return Header{}, fmt.Errorf("%w: %d records in an offset span of %d", ErrInvalidRecord, h.RecordCount, int64(h.LastOffsetDelta)+1)
	}
	if h.Codec() == CodecNone {
		it := recordIter{data: batch[HeaderSize:], count: h.RecordCount, lastOffsetDelta: h.LastOffsetDelta}
		var rec Record
		for it.more() {
			if err := it.next(&rec, false); err != nil {
				return Header{}, err
			}
		}
		if err := it.finish(); err != nil {
			return Header{}, err
		}
	}
	return h, nil
}
