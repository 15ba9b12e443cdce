package producerstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// The codec of a .snapshot file; the layout is drawn in doc.go.

// ErrCorruptSnapshot marks a snapshot whose bytes are not what
// EncodeSnapshot wrote: the owner skips it and rebuilds from the log.
var ErrCorruptSnapshot = errors.New("producerstate: corrupt snapshot")

const (
	snapshotVersion = 1
	// snapshotHeaderBytes holds the version, the CRC-32C and the offset.
	snapshotHeaderBytes = 2 + 4 + 8
	// producerFixedBytes is a producer entry without its batches.
	producerFixedBytes = 8 + 2 + 4 + 8 + 8 + 8 + 1
	batchBytes         = 4 + 4 + 8 + 8
	txnBytes           = 8 + 8 + 8
	epochBytes         = 4 + 8
	// maxBatchesInSnapshot bounds the batch count field (one byte) and
	// every Manager's window that a snapshot can hold.
	maxBatchesInSnapshot = 255
)

// Txn is a transaction that holds back the partition's last stable offset,
// as a snapshot keeps it: open (LastOffset -1), or ended by the marker at
// LastOffset that may not be below the high watermark yet.
type Txn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// EpochStart is one entry of the leader epoch history: epoch's first batch
// is at StartOffset.
type EpochStart struct {
	Epoch       int32
	StartOffset int64
}

// Snapshot is what a .snapshot file holds besides the producers: the state
// after every batch below Offset. Txns are ordered by FirstOffset; Epochs,
// oldest first, list the epochs whose first batch lies below Offset.
type Snapshot struct {
	Offset int64
	Txns   []Txn
	Epochs []EpochStart
}

// EncodeSnapshot returns the bytes of a snapshot of m with s. The encoding
// is canonical (producers by id), so equal states give equal bytes. s must
// pass the checks DecodeSnapshot makes; the owner builds it from state
// that does.
func (m *Manager) EncodeSnapshot(s Snapshot) []byte {
	ids := slices.Sorted(maps.Keys(m.producers))
	size := snapshotHeaderBytes + 4 + len(ids)*producerFixedBytes + 4 + len(s.Txns)*txnBytes + 4 + len(s.Epochs)*epochBytes
	for _, e := range m.producers {
		size += len(e.batches) * batchBytes
	}
	b := make([]byte, snapshotHeaderBytes, size)
	binary.BigEndian.PutUint16(b[0:], snapshotVersion)
	binary.BigEndian.PutUint64(b[6:], uint64(s.Offset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = appendProducer(b, m.producers[id])
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Txns)))
	for _, t := range s.Txns {
		b = binary.BigEndian.AppendUint64(b, uint64(t.ProducerID))
		b = binary.BigEndian.AppendUint64(b, uint64(t.FirstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(t.LastOffset))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Epochs)))
	for _, e := range s.Epochs {
		b = binary.BigEndian.AppendUint32(b, uint32(e.Epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.StartOffset))
	}
	binary.BigEndian.PutUint32(b[2:], recordbatch.Checksum(b[6:]))
	return b
}

func appendProducer(b []byte, e *producerEntry) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(e.producerID))
	b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
	b = binary.BigEndian.AppendUint32(b, uint32(e.coordinatorEpoch))
	b = binary.BigEndian.AppendUint64(b, uint64(e.lastTimestamp))
	b = binary.BigEndian.AppendUint64(b, uint64(e.lastAppendTimeMs))
	b = binary.BigEndian.AppendUint64(b, uint64(e.currentTxnStartOffset))
	b = append(b, byte(len(e.batches)))
	for _, x := range e.batches {
		b = binary.BigEndian.AppendUint32(b, uint32(x.firstSequence))
		b = binary.BigEndian.AppendUint32(b, uint32(x.lastSequence))
		b = binary.BigEndian.AppendUint64(b, uint64(x.firstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(x.lastOffset))
	}
	return b
}

// DecodeSnapshot parses a snapshot into a Manager remembering up to
// maxBatchesPerProducer batches per producer (zero or less means
// DefaultMaxBatchesPerProducer). It accepts only what EncodeSnapshot
// writes: the version, the CRC, offsets below the snapshot's, producers
// in order, no trailing bytes. It never panics, and it allocates no more
// than a small multiple of len(b): every count is checked against the
// bytes left before anything is allocated for it. Errors wrap
// ErrCorruptSnapshot.
func DecodeSnapshot(b []byte, maxBatchesPerProducer int) (*Manager, Snapshot, error) {
	m := NewManager(maxBatchesPerProducer)
	if m.maxBatches > maxBatchesInSnapshot {
		return nil, Snapshot{}, fmt.Errorf("producerstate: %d batches per producer cannot be snapshotted", m.maxBatches)
	}
	if len(b) < snapshotHeaderBytes {
		return nil, Snapshot{}, fmt.Errorf("%w: %d bytes", ErrCorruptSnapshot, len(b))
	}
	if v := binary.BigEndian.Uint16(b[0:]); v != snapshotVersion {
		return nil, Snapshot{}, fmt.Errorf("%w: version %d", ErrCorruptSnapshot, v)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), recordbatch.Checksum(b[6:]); want != got {
		return nil, Snapshot{}, fmt.Errorf("%w: CRC %08x, computed %08x", ErrCorruptSnapshot, want, got)
	}
	d := decoder{b: b[6:], maxBatches: m.maxBatches}
	var s Snapshot
	s.Offset = d.int64()
	if s.Offset < 0 {
		d.fail("negative offset %d", s.Offset)
	}
	d.offset = s.Offset
	d.producers(m)
	s.Txns = d.txns()
	s.Epochs = d.epochs()
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, Snapshot{}, d.err
	}
	return m, s, nil
}
