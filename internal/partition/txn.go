package partition

import (
	"fmt"
	"slices"
	"sync"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// This file holds the partition's side of transactions: which
// transactions hold back the last stable offset, and which were aborted
// (Kafka's transaction index), both derived from the batches appended.

// AbortedTxn is one aborted transaction of this partition: its producer,
// its first offset, its abort marker's offset, and the last stable offset
// when it was aborted (every transaction aborted later starts at or after
// it, which lets a reader stop early).
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

// txnSpan is a transaction that may hold back the last stable offset: open
// (last is -1), or ended by a marker at last that is not yet known to be
// below the high watermark; until it is, a read_committed consumer could
// read the transaction's records without learning how it ended.
type txnSpan struct {
	producerID, first, last int64
}

// txnTracker is guarded by its own lock, not appendMu, so that fetches
// asking for the last stable offset never wait behind an append's write.
type txnTracker struct {
	mu sync.Mutex
	// spans are ordered by first offset (appends come in offset order).
	spans []txnSpan
	// aborted is ordered by LastOffset.
	aborted []AbortedTxn
}

// apply records what an appended batch did to its producer's transaction;
// markerOffset and commit describe the batch when it is a marker.
func (t *txnTracker) apply(c producerstate.TxnChange, markerOffset int64, commit bool) {
	if !c.Started && !c.Ended {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.Started {
		t.spans = append(t.spans, txnSpan{producerID: c.ProducerID, first: c.FirstOffset, last: -1})
		return
	}
	lso := markerOffset + 1
	for i := range t.spans {
		s := &t.spans[i]
		switch {
		case s.last >= 0:
		case s.producerID == c.ProducerID:
			s.last = markerOffset
		default:
			lso = min(lso, s.first)
		}
	}
	if !commit {
		t.aborted = append(t.aborted, AbortedTxn{ProducerID: c.ProducerID, FirstOffset: c.FirstOffset,
			LastOffset: markerOffset, LastStableOffset: lso})
	}
}

// lastStableOffset is the offset below which every transaction has ended
// with a marker below highWatermark, bounded by highWatermark.
func (t *txnTracker) lastStableOffset(highWatermark int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for n < len(t.spans) && t.spans[n].last >= 0 && t.spans[n].last < highWatermark {
		n++
	}
	if n > 0 {
		t.spans = slices.Delete(t.spans, 0, n)
	}
	if len(t.spans) == 0 {
		return highWatermark
	}
	return min(highWatermark, t.spans[0].first)
}

// abortedBetween lists the aborted transactions overlapping [from, upTo).
func (t *txnTracker) abortedBetween(from, upTo int64) []AbortedTxn {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, _ := slices.BinarySearchFunc(t.aborted, from, func(a AbortedTxn, offset int64) int {
		return cmpInt64(a.LastOffset, offset)
	})
	var out []AbortedTxn
	for _, a := range t.aborted[i:] {
		if a.FirstOffset < upTo {
			out = append(out, a)
		}
		if a.LastStableOffset >= upTo {
			break // every later one starts at or after upTo
		}
	}
	return out
}

// dropAbortedBefore forgets aborted transactions that ended before
// logStart: no reader can fetch below it.
func (t *txnTracker) dropAbortedBefore(logStart int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for n < len(t.aborted) && t.aborted[n].LastOffset < logStart {
		n++
	}
	t.aborted = slices.Delete(t.aborted, 0, n)
}

func (t *txnTracker) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spans, t.aborted = nil, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// LastStableOffsetAt is the offset below which a read_committed consumer
// may read, given the high watermark: every transaction below it has a
// marker below the high watermark.
func (p *Partition) LastStableOffsetAt(highWatermark storage.Offset) storage.Offset {
	return storage.Offset(p.txns.lastStableOffset(int64(highWatermark)))
}

// AbortedTxns lists the aborted transactions that overlap [from, upTo),
// for a read_committed fetch of that range.
func (p *Partition) AbortedTxns(from, upTo storage.Offset) []AbortedTxn {
	return p.txns.abortedBetween(int64(from), int64(upTo))
}

// AppendCoordinator appends a transactional batch that a coordinator
// writes for a producer (a TxnOffsetCommit's offsets): only the producer's
// epoch is checked, as Kafka's appends of origin COORDINATOR.
func (p *Partition) AppendCoordinator(batch []byte, h recordbatch.Header, nowMs int64) (AppendResult, error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if d := p.producers.CheckCoordinator(h); d.Err != nil {
		return AppendResult{}, d.Err
	}
	return p.appendLocked(batch, h, nowMs)
}

// AppendMarker appends a transaction marker (WriteTxnMarkers) ending
// m.ProducerID's transaction in this partition. A marker from an older
// producer epoch is INVALID_PRODUCER_EPOCH, one from a deposed
// coordinator TRANSACTION_COORDINATOR_FENCED.
func (p *Partition) AppendMarker(m recordbatch.Marker, nowMs int64) (AppendResult, error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.producers.CheckMarker(m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch); err != nil {
		return AppendResult{}, err
	}
	batch := recordbatch.BuildMarker(m, nowMs)
	h, err := recordbatch.ParseHeader(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("building marker for %s-%d: %w", p.Topic, p.Index, err)
	}
	epoch := p.LeaderEpoch()
	info, err := p.log.Append(batch, epoch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("appending marker to %s-%d: %w", p.Topic, p.Index, err)
	}
	p.mu.Lock()
	p.noteEpochLocked(epoch, info.BaseOffset)
	p.mu.Unlock()
	change := p.producers.UpdateMarker(h, int64(info.BaseOffset), nowMs, m.CoordinatorEpoch)
	p.txns.apply(change, int64(info.BaseOffset), m.Commit)
	return AppendResult{BaseOffset: info.BaseOffset, LastOffset: info.LastOffset}, nil
}

// noteBatchLocked updates the producer state and the transactions with a
// batch appended at baseOffset (appendMu held). batch is read only for a
// marker; a marker that cannot be read is an error, since the state would
// be wrong after it.
func (p *Partition) noteBatchLocked(h recordbatch.Header, baseOffset int64, nowMs int64, batch func() ([]byte, error)) error {
	if !h.Idempotent() {
		return nil
	}
	h.BaseOffset = baseOffset
	if !h.Control() {
		p.txns.apply(p.producers.Update(h, baseOffset, nowMs), 0, false)
		return nil
	}
	b, err := batch()
	if err != nil {
		return err
	}
	m, ok, err := recordbatch.ParseMarker(b)
	if err != nil {
		return fmt.Errorf("reading marker at %d of %s-%d: %w", baseOffset, p.Topic, p.Index, err)
	}
	if !ok {
		p.producers.Update(h, baseOffset, nowMs)
		return nil
	}
	p.txns.apply(p.producers.UpdateMarker(h, baseOffset, nowMs, m.CoordinatorEpoch), baseOffset, m.Commit)
	return nil
}

// replayLocked rebuilds the producer state and the transactions from the
// whole log (appendMu held), calling onBatch with each header too.
func (p *Partition) replayLocked(onBatch func(h recordbatch.Header)) error {
	p.producers = producerstate.NewManager(maxBatchesPerProducer)
	p.txns.reset()
	return p.log.ScanBatches(p.log.LogStartOffset(), func(h recordbatch.Header) error {
		if onBatch != nil {
			onBatch(h)
		}
		return p.noteBatchLocked(h, h.BaseOffset, h.MaxTimestamp, func() ([]byte, error) { return p.readBatch(h) })
	})
}

// readBatch reads the stored batch h heads.
func (p *Partition) readBatch(h recordbatch.Header) ([]byte, error) {
	slice, err := p.log.Read(storage.Offset(h.BaseOffset), h.TotalSize(), storage.Offset(h.NextOffset()))
	if err != nil {
		return nil, err
	}
	defer slice.Release()
	b, err := slice.ReadAll(make([]byte, 0, slice.Size))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < h.TotalSize() {
		return nil, fmt.Errorf("batch at %d of %s-%d: read %d of %d bytes", h.BaseOffset, p.Topic, p.Index, len(b), h.TotalSize())
	}
	return b[:h.TotalSize()], nil
}
