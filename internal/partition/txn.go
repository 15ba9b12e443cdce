package partition

import (
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// This file holds the partition's side of transactions: which
// transactions hold back the last stable offset, and which were aborted
// (Kafka's transaction index), both derived from the batches appended.

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
}

// apply records what an appended batch did to its producer's transaction;
// markerOffset and commit describe the batch when it is a marker. An
// aborted transaction is returned for the log's transaction index, with
// the last stable offset at its abort: every transaction aborted later
// starts at or after it.
func (t *txnTracker) apply(c producerstate.TxnChange, markerOffset int64, commit bool) (aborted storage.AbortedTxn, ok bool) {
	if !c.Started && !c.Ended {
		return storage.AbortedTxn{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.Started {
		t.spans = append(t.spans, txnSpan{producerID: c.ProducerID, first: c.FirstOffset, last: -1})
		return storage.AbortedTxn{}, false
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
	if commit {
		return storage.AbortedTxn{}, false
	}
	return storage.AbortedTxn{ProducerID: c.ProducerID, FirstOffset: storage.Offset(c.FirstOffset),
		LastOffset: storage.Offset(markerOffset), LastStableOffset: storage.Offset(lso)}, true
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

func (t *txnTracker) reset() { t.restore(nil) }

// snapshot copies the spans for a producer state snapshot.
func (t *txnTracker) snapshot() []producerstate.Txn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]producerstate.Txn, len(t.spans))
	for i, s := range t.spans {
		out[i] = producerstate.Txn{ProducerID: s.producerID, FirstOffset: s.first, LastOffset: s.last}
	}
	return out
}

// restore replaces the spans with a snapshot's.
func (t *txnTracker) restore(txns []producerstate.Txn) {
	spans := make([]txnSpan, len(txns))
	for i, x := range txns {
		spans[i] = txnSpan{producerID: x.ProducerID, first: x.FirstOffset, last: x.LastOffset}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spans = spans
}

func (t *txnTracker) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.spans) == 0
}

// LastStableOffsetAt is the offset below which a read_committed consumer
// may read, given the high watermark: every transaction below it has a
// marker below the high watermark.
func (p *Partition) LastStableOffsetAt(highWatermark storage.Offset) storage.Offset {
	return storage.Offset(p.txns.lastStableOffset(int64(highWatermark)))
}

// AbortedTxns lists the aborted transactions that overlap [from, upTo),
// for a read_committed fetch of that range (the log's transaction index).
func (p *Partition) AbortedTxns(from, upTo storage.Offset) []storage.AbortedTxn {
	return p.log.AbortedTxns(from, upTo)
}

// VerifyGuard is what a transactional batch's verification with the
// transaction coordinator (KIP-890) leaves for the append that follows it.
type VerifyGuard struct {
	needed bool
	seq    uint64
	// leaderEpoch is the epoch the verification began at: the batch may
	// be appended only while the partition is still led at it.
	leaderEpoch int32
}

// Needed reports whether the batch starts a transaction in the partition,
// so that the coordinator must confirm the partition is in it.
func (g VerifyGuard) Needed() bool { return g.needed }

// BeginVerification starts the verification of a transactional batch:
// unless its producer already has a transaction open here, the leader must
// ask the coordinator before appending. A marker for the producer between
// this call and the append voids the guard (Kafka's VerificationGuard), so
// a batch verified against a transaction that has since ended cannot start
// a hanging one.
func (p *Partition) BeginVerification(h recordbatch.Header) VerifyGuard {
	if !h.Transactional() {
		return VerifyGuard{}
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if p.producers.InTransaction(h.ProducerID, h.ProducerEpoch) {
		return VerifyGuard{}
	}
	if p.verifying == nil {
		p.verifying = map[int64]uint64{}
	}
	p.verifySeq++
	p.verifying[h.ProducerID] = p.verifySeq
	return VerifyGuard{needed: true, seq: p.verifySeq, leaderEpoch: p.LeaderEpoch()}
}

// AppendVerified appends a transactional batch after its verification: a
// batch that still starts a transaction is refused with INVALID_TXN_STATE
// when a marker voided its guard, and any verified batch with
// NOT_LEADER_OR_FOLLOWER when the leader epoch moved since the guard.
func (p *Partition) AppendVerified(batch []byte, h recordbatch.Header, nowMs int64, g VerifyGuard) (AppendResult, error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	// The verification may have waited seconds for the coordinator; a
	// broker that lost the leadership meanwhile (a new epoch) must not
	// append, or it would hold a batch its new leader does not have.
	if g.needed && p.LeaderEpoch() != g.leaderEpoch {
		return AppendResult{}, kerr.NotLeaderForPartition
	}
	if g.needed && !p.producers.InTransaction(h.ProducerID, h.ProducerEpoch) && p.verifying[h.ProducerID] != g.seq {
		return AppendResult{}, kerr.InvalidTxnState
	}
	delete(p.verifying, h.ProducerID)
	return p.appendClientLocked(batch, h, nowMs)
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

// AppendMarker is AppendMarkerVersion for a marker of transaction version
// 0 or 1.
func (p *Partition) AppendMarker(m recordbatch.Marker, nowMs int64) (AppendResult, error) {
	return p.AppendMarkerVersion(m, 0, nowMs)
}

// AppendMarkerVersion appends a transaction marker (WriteTxnMarkers) ending
// m.ProducerID's transaction in this partition. A marker from an older
// producer epoch is INVALID_PRODUCER_EPOCH (at transactionVersion 2 also
// one at the epoch of the open transaction), one from a deposed
// coordinator TRANSACTION_COORDINATOR_FENCED.
func (p *Partition) AppendMarkerVersion(m recordbatch.Marker, transactionVersion int8, nowMs int64) (AppendResult, error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.producers.CheckMarkerVersion(m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch, transactionVersion); err != nil {
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
	p.snapshotAtRollLocked(info)
	p.mu.Lock()
	p.noteEpochLocked(epoch, info.BaseOffset)
	p.mu.Unlock()
	if transactionVersion < 2 {
		// A marker of version 2 voids no guard: its bumped epoch refuses
		// the batches of the transaction it ends, and a guard at that
		// epoch is the producer's next transaction, already begun.
		delete(p.verifying, m.ProducerID)
	}
	change := p.producers.UpdateMarker(h, int64(info.BaseOffset), nowMs, m.CoordinatorEpoch)
	if err := p.indexAborted(p.txns.apply(change, int64(info.BaseOffset), m.Commit)); err != nil {
		return AppendResult{}, err
	}
	return AppendResult{BaseOffset: info.BaseOffset, LastOffset: info.LastOffset}, nil
}

// indexAborted adds an aborted transaction, if ok, to the log's
// transaction index.
func (p *Partition) indexAborted(aborted storage.AbortedTxn, ok bool) error {
	if !ok {
		return nil
	}
	if err := p.log.AddAbortedTxn(aborted); err != nil {
		return fmt.Errorf("indexing aborted transaction of %s-%d: %w", p.Topic, p.Index, err)
	}
	return nil
}

// noteBatchLocked updates the producer state and the transactions with a
// batch appended at baseOffset (appendMu held), indexing an aborted
// transaction whose marker is at or past indexFrom. batch is read only for
// a marker; a marker that cannot be read is an error, since the state
// would be wrong after it.
func (p *Partition) noteBatchLocked(h recordbatch.Header, baseOffset int64, nowMs int64, indexFrom storage.Offset, batch func() ([]byte, error)) error {
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
		// A control record of another type is not a transaction's end;
		// Kafka ignores it, and so do the producer state and the spans.
		return nil
	}
	aborted, ok := p.txns.apply(p.producers.UpdateMarker(h, baseOffset, nowMs, m.CoordinatorEpoch), baseOffset, m.Commit)
	return p.indexAborted(aborted, ok && storage.Offset(baseOffset) >= indexFrom)
}
