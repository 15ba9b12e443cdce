package producerstate

import (
	"math"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/recordbatch"
)

// DefaultMaxBatchesPerProducer is how many of a producer's latest batches
// are remembered for duplicate detection: Kafka's NUM_BATCHES_TO_RETAIN,
// which matches the producer's max.in.flight.requests.per.connection limit
// of 5 under idempotence.
const DefaultMaxBatchesPerProducer = 5

// noSequence and noEpoch are Kafka's markers for "none" (RecordBatch
// NO_SEQUENCE and NO_PRODUCER_EPOCH).
const (
	noSequence = -1
	noEpoch    = -1
	noOffset   = -1
)

// batchMetadata is what is remembered of one appended batch.
type batchMetadata struct {
	firstSequence int32
	lastSequence  int32
	firstOffset   int64
	lastOffset    int64
}

// producerEntry is the state of one producer in the partition.
type producerEntry struct {
	producerID int64
	epoch      int16
	// batches holds the latest batches of the current epoch in append
	// order, oldest first, at most Manager.maxBatches.
	batches []batchMetadata
	// lastTimestamp is the max timestamp of the producer's latest batch, as
	// DescribeProducers reports it.
	lastTimestamp int64
	// lastAppendTimeMs is the broker's clock at the latest append. Expiry
	// uses it rather than lastTimestamp (Kafka uses the batch timestamp), so
	// a producer whose clock runs behind is not expired early.
	lastAppendTimeMs      int64
	coordinatorEpoch      int32
	currentTxnStartOffset int64
}

func (e *producerEntry) lastSequence() int32 {
	if len(e.batches) == 0 {
		return noSequence
	}
	return e.batches[len(e.batches)-1].lastSequence
}

// Manager holds the producer state of one partition.
type Manager struct {
	maxBatches int
	producers  map[int64]*producerEntry
}

// NewManager returns an empty Manager remembering up to
// maxBatchesPerProducer batches per producer; zero or less means
// DefaultMaxBatchesPerProducer.
func NewManager(maxBatchesPerProducer int) *Manager {
	if maxBatchesPerProducer <= 0 {
		maxBatchesPerProducer = DefaultMaxBatchesPerProducer
	}
	return &Manager{maxBatches: maxBatchesPerProducer, producers: make(map[int64]*producerEntry)}
}

// Decision is Check's answer for one batch. With Duplicate set the batch is
// a retry of one already appended at BaseOffset..LastOffset: answer success
// with those offsets and append nothing. With Err set (a *kerr.Error) refuse
// the batch with that code. Otherwise append it.
type Decision struct {
	Duplicate  bool
	BaseOffset int64
	LastOffset int64
	Err        error
}

// Check decides what to do with a batch from a client, given its validated
// header. It changes nothing; Update records the append.
func (m *Manager) Check(h recordbatch.Header) Decision {
	if !h.Idempotent() {
		return Decision{}
	}
	e := m.producers[h.ProducerID]
	if e == nil {
		return Decision{}
	}
	if h.ProducerEpoch == e.epoch {
		if b, ok := e.findDuplicate(h.BaseSequence, h.LastSequence()); ok {
			return Decision{Duplicate: true, BaseOffset: b.firstOffset, LastOffset: b.lastOffset}
		}
	}
	if h.ProducerEpoch < e.epoch {
		return Decision{Err: kerr.InvalidProducerEpoch}
	}
	if err := e.checkSequence(h); err != nil {
		return Decision{Err: err}
	}
	if !h.Transactional() && e.currentTxnStartOffset != noOffset {
		return Decision{Err: kerr.InvalidTxnState}
	}
	return Decision{}
}

func (e *producerEntry) findDuplicate(firstSequence, lastSequence int32) (batchMetadata, bool) {
	for _, b := range e.batches {
		if b.firstSequence == firstSequence && b.lastSequence == lastSequence {
			return b, true
		}
	}
	return batchMetadata{}, false
}

func (e *producerEntry) checkSequence(h recordbatch.Header) error {
	if h.ProducerEpoch != e.epoch {
		// An entry without an epoch comes only from state with no data
		// batch; Kafka accepts any sequence then, as for an unknown producer.
		if h.BaseSequence != 0 && e.epoch != noEpoch {
			return kerr.OutOfOrderSequenceNumber
		}
		return nil
	}
	if !inSequence(e.lastSequence(), h.BaseSequence) {
		return kerr.OutOfOrderSequenceNumber
	}
	return nil
}

// inSequence reports whether next follows last, with Kafka's wrap from
// MaxInt32 to 0.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// TxnChange says how an appended batch moved its producer's transaction in
// the partition: a transactional batch with none open starts one at
// FirstOffset; a marker ends the one that started at FirstOffset (a marker
// with none open changes nothing).
type TxnChange struct {
	ProducerID  int64
	FirstOffset int64
	Started     bool
	Ended       bool
}

// Update records a batch appended at baseOffset, with the broker's clock at
// appendTimeMs. It is called after every successful append of a new batch
// (never for a duplicate) and, to rebuild the state, for every batch read
// back from the log. Batches without a producer id are ignored. A control
// batch (transaction marker) closes the producer's open transaction.
func (m *Manager) Update(h recordbatch.Header, baseOffset int64, appendTimeMs int64) TxnChange {
	if !h.Idempotent() {
		return TxnChange{}
	}
	e := m.entry(h.ProducerID)
	if h.ProducerEpoch != e.epoch {
		e.epoch = h.ProducerEpoch
		e.batches = e.batches[:0]
	}
	e.lastTimestamp = h.MaxTimestamp
	e.lastAppendTimeMs = appendTimeMs
	if h.Control() {
		change := TxnChange{ProducerID: h.ProducerID, FirstOffset: e.currentTxnStartOffset, Ended: e.currentTxnStartOffset != noOffset}
		e.currentTxnStartOffset = noOffset
		return change
	}
	if len(e.batches) == m.maxBatches {
		copy(e.batches, e.batches[1:])
		e.batches = e.batches[:len(e.batches)-1]
	}
	e.batches = append(e.batches, batchMetadata{
		firstSequence: h.BaseSequence,
		lastSequence:  h.LastSequence(),
		firstOffset:   baseOffset,
		lastOffset:    baseOffset + int64(h.LastOffsetDelta),
	})
	if h.Transactional() && e.currentTxnStartOffset == noOffset {
		e.currentTxnStartOffset = baseOffset
		return TxnChange{ProducerID: h.ProducerID, FirstOffset: baseOffset, Started: true}
	}
	return TxnChange{}
}

// UpdateMarker records a transaction marker appended for a producer: the
// transaction is over and the coordinator epoch that wrote the marker is
// remembered (it is inside the marker's record, which Update does not read).
func (m *Manager) UpdateMarker(h recordbatch.Header, baseOffset int64, appendTimeMs int64, coordinatorEpoch int32) TxnChange {
	if !h.Idempotent() {
		return TxnChange{}
	}
	change := m.Update(h, baseOffset, appendTimeMs)
	m.producers[h.ProducerID].coordinatorEpoch = coordinatorEpoch
	return change
}

// CheckCoordinator decides on a transactional batch a coordinator writes
// for a producer (offsets in __consumer_offsets): as Kafka's appends of
// origin COORDINATOR, only the epoch is checked, since the producer's
// sequence numbers belong to the partitions it produces to.
func (m *Manager) CheckCoordinator(h recordbatch.Header) Decision {
	if e := m.producers[h.ProducerID]; e != nil && h.ProducerEpoch < e.epoch {
		return Decision{Err: kerr.InvalidProducerEpoch}
	}
	return Decision{}
}

// CheckMarker is CheckMarkerVersion for a marker of transaction version 0
// or 1.
func (m *Manager) CheckMarker(producerID int64, epoch int16, coordinatorEpoch int32) error {
	return m.CheckMarkerVersion(producerID, epoch, coordinatorEpoch, 0)
}

// CheckMarkerVersion decides on a transaction marker for producerID: an
// epoch older than the producer's is INVALID_PRODUCER_EPOCH (from
// transaction version 2, whose markers always carry a bumped epoch, so is
// the producer's own epoch while its transaction is open; with none open it
// is a retry of a marker written, KAFKA-19999), and a coordinator epoch
// older than the one that wrote the producer's last marker is
// TRANSACTION_COORDINATOR_FENCED (a deposed coordinator), as Kafka's
// appendEndTxnMarker.
func (m *Manager) CheckMarkerVersion(producerID int64, epoch int16, coordinatorEpoch int32, transactionVersion int8) error {
	e := m.producers[producerID]
	if e == nil {
		return nil
	}
	if epoch < e.epoch || transactionVersion >= 2 && epoch == e.epoch && e.currentTxnStartOffset != noOffset {
		return kerr.InvalidProducerEpoch
	}
	if coordinatorEpoch < e.coordinatorEpoch {
		return kerr.TransactionCoordinatorFenced
	}
	return nil
}

func (m *Manager) entry(producerID int64) *producerEntry {
	e := m.producers[producerID]
	if e == nil {
		e = &producerEntry{
			producerID:            producerID,
			epoch:                 noEpoch,
			batches:               make([]batchMetadata, 0, m.maxBatches),
			coordinatorEpoch:      -1,
			currentTxnStartOffset: noOffset,
		}
		m.producers[producerID] = e
	}
	return e
}

// ExpireBefore forgets producers whose latest append happened before ms
// (the caller passes now minus producer.id.expiration.ms). A producer with a
// transaction open is kept, as in Kafka: its transaction must still end.
func (m *Manager) ExpireBefore(ms int64) {
	for id, e := range m.producers {
		if e.currentTxnStartOffset == noOffset && e.lastAppendTimeMs < ms {
			delete(m.producers, id)
		}
	}
}

// InTransaction reports whether producerID has a transaction open in the
// partition at epoch: its next transactional batch continues it rather
// than starting one.
func (m *Manager) InTransaction(producerID int64, epoch int16) bool {
	e := m.producers[producerID]
	return e != nil && e.epoch == epoch && e.currentTxnStartOffset != noOffset
}

// FirstUnstableOffset is the lowest first offset among open transactions:
// the last stable offset cannot pass it. ok is false with none open.
func (m *Manager) FirstUnstableOffset() (offset int64, ok bool) {
	for _, e := range m.producers {
		if e.currentTxnStartOffset != noOffset && (!ok || e.currentTxnStartOffset < offset) {
			offset, ok = e.currentTxnStartOffset, true
		}
	}
	return offset, ok
}

// Len is the number of producers tracked.
func (m *Manager) Len() int { return len(m.producers) }

// ProducerInfo describes one producer for DescribeProducers.
type ProducerInfo struct {
	ProducerID            int64
	Epoch                 int16
	LastSequence          int32
	LastTimestamp         int64
	CoordinatorEpoch      int32
	CurrentTxnStartOffset int64
}

// Producers lists the producers tracked, ordered by producer id.
func (m *Manager) Producers() []ProducerInfo {
	out := make([]ProducerInfo, 0, len(m.producers))
	for _, e := range m.producers {
		out = append(out, ProducerInfo{
			ProducerID:            e.producerID,
			Epoch:                 e.epoch,
			LastSequence:          e.lastSequence(),
			LastTimestamp:         e.lastTimestamp,
			CoordinatorEpoch:      e.coordinatorEpoch,
			CurrentTxnStartOffset: e.currentTxnStartOffset,
		})
	}
	slices.SortFunc(out, func(a, b ProducerInfo) int {
		switch {
		case a.ProducerID < b.ProducerID:
			return -1
		case a.ProducerID > b.ProducerID:
			return 1
		}
		return 0
	})
	return out
}
