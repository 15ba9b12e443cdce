package recordbatch

import (
	"encoding/binary"
	"fmt"
)

// Split cuts the records field of a produce request (or a run of bytes read
// from a segment) into whole batches. The returned slices alias records; no
// batch is copied. A trailing batch that is cut short, or a batchLength too
// small to hold a header, is ErrCorruptMessage: a produce request carries only
// whole batches.
//
// Split looks only at the batchLength and magic fields; Validate checks each
// batch. An empty input yields no batches and no error.
func Split(records []byte) ([][]byte, error) {
	var batches [][]byte
	for rest := records; len(rest) > 0; {
		size, err := nextBatchSize(rest)
		if err != nil {
			return nil, fmt.Errorf("batch at byte %d: %w", len(records)-len(rest), err)
		}
		batches = append(batches, rest[:size:size])
		rest = rest[size:]
	}
	return batches, nil
}

// SingleBatch returns the only batch in a produce request's records field.
// Kafka's produce v3 and later allow exactly one batch per partition and
// answer anything else with INVALID_RECORD; the produce handler uses this
// rather than Split so that fjord answers the same.
func SingleBatch(records []byte) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: no record batch for the partition", ErrInvalidRecord)
	}
	size, err := nextBatchSize(records)
	if err != nil {
		return nil, err
	}
	if size != len(records) {
		return nil, fmt.Errorf("%w: more than one record batch for the partition", ErrInvalidRecord)
	}
	return records, nil
}

// nextBatchSize reads the total size of the batch at the start of b and
// checks that all of it is present.
func nextBatchSize(b []byte) (int, error) {
	if len(b) < HeaderSize {
		if len(b) > 16 && b[16] < 2 {
			return 0, fmt.Errorf("%w: magic %d", ErrUnsupportedForMessageFormat, b[16])
		}
		return 0, fmt.Errorf("%w: %d bytes left, a batch header needs %d", ErrCorruptMessage, len(b), HeaderSize)
	}
	if b[16] < 2 {
		// Magic 0 and 1 message sets have another layout; their length field
		// means something else, so say what they are instead of mis-splitting.
		return 0, fmt.Errorf("%w: magic %d", ErrUnsupportedForMessageFormat, b[16])
	}
	length := int64(int32(binary.BigEndian.Uint32(b[8:])))
	total := LengthFieldEnd + length
	if total < HeaderSize {
		return 0, fmt.Errorf("%w: batchLength %d too small for a header", ErrCorruptMessage, length)
	}
	if total > int64(len(b)) {
		return 0, fmt.Errorf("%w: batch of %d bytes torn after %d", ErrCorruptMessage, total, len(b))
	}
	return int(total), nil
}
