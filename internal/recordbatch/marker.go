package recordbatch

import (
	"encoding/binary"
	"fmt"
)

// A transaction marker is a control batch (transactional and control
// attributes set, sequence -1) holding one record: its key is the control
// record key (version int16 0, type int16: 0 abort, 1 commit), its value
// Kafka's EndTxnMarker (version int16 0, coordinator epoch int32). Markers
// are never compressed, so both sit at fixed places after the record's
// varint header.

// Control record types, as Kafka's ControlRecordType.
const (
	controlTypeAbort  = 0
	controlTypeCommit = 1
)

// Marker is what a transaction marker says.
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool
}

// BuildMarker encodes m as a control batch written at timestampMs.
func BuildMarker(m Marker, timestampMs int64) []byte {
	typ := int16(controlTypeAbort)
	if m.Commit {
		typ = controlTypeCommit
	}
	key := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 0), uint16(typ))
	value := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 0), uint32(m.CoordinatorEpoch))
	return Build(BuildSpec{
		Transactional: true, Control: true, BaseTimestamp: timestampMs,
		Idempotent: true, ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, BaseSequence: -1,
		Records: []Record{{Key: key, Value: value}},
	})
}

// maxMarkerBytes bounds what ParseMarker decodes: a marker is a few dozen
// bytes, and a control batch claiming compression is decoded only this far.
const maxMarkerBytes = 1 << 10

// ParseMarker decodes a control batch. A control record of an unknown type
// (Kafka reserves others, and ignores them) answers ok false.
func ParseMarker(batch []byte) (m Marker, ok bool, err error) {
	h, err := ParseHeader(batch)
	if err != nil {
		return Marker{}, false, err
	}
	if !h.Control() {
		return Marker{}, false, fmt.Errorf("%w: batch at %d is not a control batch", ErrCorruptMessage, h.BaseOffset)
	}
	recs, err := Records(batch, maxMarkerBytes)
	if err != nil {
		return Marker{}, false, err
	}
	if len(recs) != 1 || len(recs[0].Key) < 4 {
		return Marker{}, false, fmt.Errorf("%w: control batch at %d has %d records", ErrCorruptMessage, h.BaseOffset, len(recs))
	}
	key := recs[0].Key
	typ := int16(binary.BigEndian.Uint16(key[2:]))
	if typ != controlTypeAbort && typ != controlTypeCommit {
		return Marker{}, false, nil
	}
	m = Marker{ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, Commit: typ == controlTypeCommit, CoordinatorEpoch: -1}
	if v := recs[0].Value; len(v) >= 6 {
		m.CoordinatorEpoch = int32(binary.BigEndian.Uint32(v[2:]))
	}
	return m, true, nil
}
