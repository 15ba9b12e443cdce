package producerstate

import (
	"encoding/binary"
	"fmt"
)

// decoder reads a snapshot's body with a sticky error, checked by the
// caller once at the end (franz-go's habit): after the first problem every
// read returns zero and consumes nothing.
type decoder struct {
	b          []byte
	err        error
	offset     int64 // the snapshot's offset, bounding every offset inside
	maxBatches int
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorruptSnapshot, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail("truncated: %d bytes left, need %d", len(d.b), n)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) int64() int64 {
	if b := d.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (d *decoder) int32() int32 {
	if b := d.take(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (d *decoder) int16() int16 {
	if b := d.take(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (d *decoder) uint8() int {
	if b := d.take(1); b != nil {
		return int(b[0])
	}
	return 0
}

// count reads an array length and checks that the bytes left can hold that
// many entries of at least minBytes each, so that nothing is allocated for
// entries that are not there.
func (d *decoder) count(what string, minBytes int) int {
	n := int64(uint32(d.int32()))
	if d.err == nil && n > int64(len(d.b)/minBytes) {
		d.fail("%d %s in %d bytes", n, what, len(d.b))
		return 0
	}
	return int(n)
}

// below reports whether o is a valid offset below the snapshot's.
func (d *decoder) below(o int64) bool { return o >= 0 && o < d.offset }

func (d *decoder) producers(m *Manager) {
	n := d.count("producers", producerFixedBytes)
	last := int64(-1)
	for range n {
		e := d.producer()
		if d.err != nil {
			return
		}
		if e.producerID <= last {
			d.fail("producer %d after %d", e.producerID, last)
			return
		}
		last = e.producerID
		m.producers[e.producerID] = e
	}
}

func (d *decoder) producer() *producerEntry {
	e := &producerEntry{
		producerID:            d.int64(),
		epoch:                 d.int16(),
		coordinatorEpoch:      d.int32(),
		lastTimestamp:         d.int64(),
		lastAppendTimeMs:      d.int64(),
		currentTxnStartOffset: d.int64(),
	}
	n := d.uint8()
	switch {
	case d.err != nil:
		return nil
	case e.producerID < 0:
		d.fail("producer id %d", e.producerID)
	case e.currentTxnStartOffset != noOffset && !d.below(e.currentTxnStartOffset):
		d.fail("producer %d: transaction at %d", e.producerID, e.currentTxnStartOffset)
	case n > d.maxBatches || n*batchBytes > len(d.b):
		d.fail("producer %d: %d batches", e.producerID, n)
	}
	if d.err != nil {
		return nil
	}
	e.batches = make([]batchMetadata, n)
	for i := range e.batches {
		x := batchMetadata{firstSequence: d.int32(), lastSequence: d.int32(), firstOffset: d.int64(), lastOffset: d.int64()}
		if !d.below(x.firstOffset) || !d.below(x.lastOffset) || x.lastOffset < x.firstOffset ||
			(i > 0 && x.firstOffset <= e.batches[i-1].lastOffset) {
			d.fail("producer %d: batch at %d..%d", e.producerID, x.firstOffset, x.lastOffset)
			return nil
		}
		e.batches[i] = x
	}
	return e
}

func (d *decoder) txns() []Txn {
	n := d.count("transactions", txnBytes)
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]Txn, n)
	open := map[int64]bool{}
	for i := range out {
		t := Txn{ProducerID: d.int64(), FirstOffset: d.int64(), LastOffset: d.int64()}
		switch {
		case t.ProducerID < 0 || !d.below(t.FirstOffset):
			d.fail("transaction of %d at %d", t.ProducerID, t.FirstOffset)
		case t.LastOffset != noOffset && (!d.below(t.LastOffset) || t.LastOffset < t.FirstOffset):
			d.fail("transaction of %d at %d ended at %d", t.ProducerID, t.FirstOffset, t.LastOffset)
		case i > 0 && t.FirstOffset <= out[i-1].FirstOffset:
			d.fail("transaction at %d after %d", t.FirstOffset, out[i-1].FirstOffset)
		case t.LastOffset == noOffset && open[t.ProducerID]:
			d.fail("two open transactions of %d", t.ProducerID)
		}
		if d.err != nil {
			return nil
		}
		open[t.ProducerID] = open[t.ProducerID] || t.LastOffset == noOffset
		out[i] = t
	}
	return out
}

func (d *decoder) epochs() []EpochStart {
	n := d.count("epochs", epochBytes)
	if d.err != nil || n == 0 {
		return nil
	}
	out := make([]EpochStart, n)
	for i := range out {
		e := EpochStart{Epoch: d.int32(), StartOffset: d.int64()}
		if !d.below(e.StartOffset) || (i > 0 && (e.Epoch <= out[i-1].Epoch || e.StartOffset < out[i-1].StartOffset)) {
			d.fail("epoch %d at %d", e.Epoch, e.StartOffset)
			return nil
		}
		out[i] = e
	}
	return out
}
