package txn

import (
	"maps"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	noProducerID    int64 = -1
	noProducerEpoch int16 = -1

	// serverTransactionVersion is the transaction.version this coordinator
	// implements (1: KIP-447 markers, no epoch bump per transaction). The
	// aborts it starts itself (fencing, timeouts) record it, as Kafka
	// records its finalized level; client requests record the version
	// their request implies (transactionVersionOf).
	serverTransactionVersion int16 = 1
)

// transactionVersionOf is the transaction version a client request implies,
// as Kafka derives it: EndTxn v5+ and AddPartitionsToTxn v5+ come from
// clients speaking transaction version 2 (KIP-890 part 2), where every
// EndTxn bumps the epoch. This coordinator implements version 1, so it
// answers every request by version 1's rules and records 0, as Kafka does
// for a client below version 2; version 2 is to be added here and in
// decideEndTxn.
func transactionVersionOf(int16) int16 { return 0 }

// epochExhausted reports whether a producer id has no epoch left to hand to
// a client: Kafka keeps math.MaxInt16 so that it can always fence.
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// txnState is the metadata of one transactional id, as one
// __transaction_state value holds it (lastProducerEpoch excepted).
type txnState struct {
	producerID         int64
	previousProducerID int64 // the producer id before the last transition
	nextProducerID     int64 // transaction version 2 only; -1 here
	nextProducerEpoch  int16 // KIP-939; kept as read, -1 here
	producerEpoch      int16
	// lastProducerEpoch is the epoch before the last InitProducerId, so
	// that a KIP-360 retry gets the same answer. Like Kafka, it is not
	// written to the log; a reload starts it at -1.
	lastProducerEpoch int16
	timeout           time.Duration
	state             kmsg.TransactionState
	partitions        map[TopicPartition]struct{}
	// startTime is when the transaction's first partition was added; zero
	// (-1 on disk) before any.
	startTime                time.Time
	lastUpdate               time.Time
	clientTransactionVersion int16
}

// txnMetadata is one transactional id in memory. Its fields are guarded by
// Coordinator.mu.
type txnMetadata struct {
	id  string
	cur txnState
	// pending is the transition being written: while it is set, another
	// request gets CONCURRENT_TRANSACTIONS, as in Kafka.
	pending *write
	// placeholder marks an id whose first InitProducerId is not yet
	// durable: it is dropped if that write fails, and not listed.
	placeholder bool
	// job sends the markers of a PrepareCommit or PrepareAbort.
	job *markerJob
}

// transitionTo is s moved to state at now; everything else is kept.
func (s *txnState) transitionTo(state kmsg.TransactionState, now time.Time) txnState {
	next := *s
	next.state = state
	next.previousProducerID = s.producerID
	next.lastUpdate = now
	return next
}

func (s *txnState) preparing() bool {
	return s.state == kmsg.TransactionStatePrepareCommit || s.state == kmsg.TransactionStatePrepareAbort
}

func (s *txnState) idle() bool {
	switch s.state {
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		return true
	}
	return false
}

// decision is what a request does to an id: a transition to write, or an
// answer without a write.
type decision struct {
	next *txnState // nil: answer code without writing
	code int16
	// needProducerID asks the caller for a fresh producer id and to decide
	// again with it.
	needProducerID bool
}

func answer(code int16) decision { return decision{code: code} }

func transition(next txnState) decision { return decision{next: &next} }

// producerIDAndEpoch is what a KIP-360 InitProducerId (v3+) says the client
// has now.
type producerIDAndEpoch struct {
	producerID int64
	epoch      int16
}

// decideInit is InitProducerId on an existing id (TransactionCoordinator's
// prepareInitProducerIdTransit). newProducerID is a fresh id when a previous
// decision asked for one, else -1.
func decideInit(s *txnState, pending bool, timeout time.Duration, expected *producerIDAndEpoch,
	newProducerID int64, now time.Time) decision {
	switch {
	case pending:
		return answer(kerr.ConcurrentTransactions.Code)
	case expected != nil && !validExpected(s, *expected):
		return answer(kerr.ProducerFenced.Code)
	}
	switch s.state {
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return answer(kerr.ConcurrentTransactions.Code)
	case kmsg.TransactionStateOngoing:
		// Abort the transaction at a bumped epoch, which fences the
		// producer; the caller answers CONCURRENT_TRANSACTIONS and the
		// client's retry bumps the epoch again.
		return transition(fence(s, now))
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		if epochExhausted(s.producerEpoch) && (expected == nil || expected.epoch == s.producerEpoch) {
			if newProducerID < 0 {
				return decision{needProducerID: true}
			}
			return transition(rotateProducerID(s, newProducerID, timeout, expected != nil, now))
		}
		return bumpEpoch(s, timeout, expected, now)
	}
	// Dead and PrepareEpochFence never stay in memory.
	return answer(kerr.UnknownServerError.Code)
}

// validExpected is Kafka's KIP-360 check: the client's producer id is the
// current one, or the previous one at an exhausted epoch (a retry after a
// producer id rotation), or the id was just created.
func validExpected(s *txnState, e producerIDAndEpoch) bool {
	return s.producerEpoch == noProducerEpoch || e.producerID == s.producerID ||
		e.producerID == s.previousProducerID && epochExhausted(e.epoch)
}

// bumpEpoch is prepareIncrementProducerEpoch: a new epoch for a new producer,
// or for a client recovering at its current epoch; the same answer again for
// a retry at the previous epoch.
func bumpEpoch(s *txnState, timeout time.Duration, expected *producerIDAndEpoch, now time.Time) decision {
	next := s.transitionTo(kmsg.TransactionStateEmpty, now)
	next.timeout, next.partitions, next.startTime = timeout, nil, time.Time{}
	switch {
	case expected != nil && s.producerEpoch != noProducerEpoch && expected.epoch != s.producerEpoch:
		if expected.epoch != s.lastProducerEpoch {
			return answer(kerr.ProducerFenced.Code)
		}
		// A retry of an InitProducerId that succeeded: same epochs.
		return transition(next)
	case epochExhausted(s.producerEpoch):
		// Only reachable with an expected epoch that is not the current
		// one, handled above; Kafka would overflow here.
		return answer(kerr.ProducerFenced.Code)
	case expected == nil:
		next.lastProducerEpoch = noProducerEpoch
	default:
		next.lastProducerEpoch = s.producerEpoch
	}
	next.producerEpoch = s.producerEpoch + 1
	return transition(next)
}

// rotateProducerID moves an id whose epochs are exhausted to a new producer
// id at epoch 0 (prepareProducerIdRotation).
func rotateProducerID(s *txnState, producerID int64, timeout time.Duration, recordLastEpoch bool, now time.Time) txnState {
	next := s.transitionTo(kmsg.TransactionStateEmpty, now)
	next.producerID, next.producerEpoch = producerID, 0
	next.lastProducerEpoch = noProducerEpoch
	if recordLastEpoch {
		next.lastProducerEpoch = s.producerEpoch
	}
	next.timeout, next.partitions, next.startTime = timeout, nil, time.Time{}
	return next
}

// fence aborts an Ongoing transaction at a bumped epoch: a second
// InitProducerId or a timeout. Kafka passes through PrepareEpochFence in
// memory only and writes PrepareAbort at the bumped epoch; so does this.
func fence(s *txnState, now time.Time) txnState {
	next := s.transitionTo(kmsg.TransactionStatePrepareAbort, now)
	if s.producerEpoch < math.MaxInt16 {
		next.producerEpoch = s.producerEpoch + 1
	}
	next.lastProducerEpoch = noProducerEpoch
	next.nextProducerID = noProducerID
	next.partitions = maps.Clone(s.partitions)
	next.clientTransactionVersion = serverTransactionVersion
	return next
}

// checkProducer is the producer id and epoch check AddPartitionsToTxn,
// AddOffsetsToTxn and EndTxn share (transaction version 1: the epoch must be
// the current one).
func checkProducer(s *txnState, producerID int64, epoch int16) int16 {
	switch {
	case producerID != s.producerID:
		return kerr.InvalidProducerIDMapping.Code
	case epoch != s.producerEpoch:
		return kerr.ProducerFenced.Code
	}
	return 0
}

// decideAddPartitions is AddPartitionsToTxn and AddOffsetsToTxn.
func decideAddPartitions(s *txnState, pending bool, producerID int64, epoch int16, add []TopicPartition,
	tv int16, now time.Time) decision {
	if code := checkProducer(s, producerID, epoch); code != 0 {
		return answer(code)
	}
	switch {
	case pending || s.preparing():
		return answer(kerr.ConcurrentTransactions.Code)
	case s.state == kmsg.TransactionStateOngoing && containsAll(s.partitions, add):
		return answer(0) // already there: no write, as Kafka
	case s.state != kmsg.TransactionStateOngoing && !s.idle():
		return answer(kerr.UnknownServerError.Code)
	}
	next := s.transitionTo(kmsg.TransactionStateOngoing, now)
	if s.idle() {
		next.startTime = now
	}
	next.partitions = make(map[TopicPartition]struct{}, len(s.partitions)+len(add))
	maps.Copy(next.partitions, s.partitions)
	for _, tp := range add {
		next.partitions[tp] = struct{}{}
	}
	next.clientTransactionVersion = tv
	return transition(next)
}

func containsAll(set map[TopicPartition]struct{}, tps []TopicPartition) bool {
	for _, tp := range tps {
		if _, ok := set[tp]; !ok {
			return false
		}
	}
	return true
}

// decideEndTxn is EndTxn from a client (transaction version 1: the epoch
// must be the current one and does not change).
func decideEndTxn(s *txnState, pending bool, producerID int64, epoch int16, commit bool, tv int16, now time.Time) decision {
	if code := checkProducer(s, producerID, epoch); code != 0 {
		return answer(code)
	}
	if pending {
		return answer(kerr.ConcurrentTransactions.Code)
	}
	prepare, complete := kmsg.TransactionStatePrepareAbort, kmsg.TransactionStateCompleteAbort
	if commit {
		prepare, complete = kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit
	}
	switch s.state {
	case kmsg.TransactionStateOngoing:
		next := s.transitionTo(prepare, now)
		next.partitions = maps.Clone(s.partitions)
		next.nextProducerID = noProducerID
		next.clientTransactionVersion = tv
		return transition(next)
	case complete:
		return answer(0) // a retry of an EndTxn that completed
	case prepare:
		return answer(kerr.ConcurrentTransactions.Code) // a retry while the markers are written
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort,
		kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return answer(kerr.InvalidTxnState.Code)
	}
	return answer(kerr.UnknownServerError.Code)
}

// complete is the end of a prepared transaction once every marker is
// written (prepareComplete): the partitions are cleared.
func complete(s *txnState, now time.Time) txnState {
	state := kmsg.TransactionStateCompleteAbort
	if s.state == kmsg.TransactionStatePrepareCommit {
		state = kmsg.TransactionStateCompleteCommit
	}
	next := s.transitionTo(state, now)
	next.partitions = nil
	next.nextProducerID = noProducerID
	return next
}

// timedOut reports whether an Ongoing transaction has run past its timeout.
func (s *txnState) timedOut(now time.Time) bool {
	return s.state == kmsg.TransactionStateOngoing && now.After(s.startTime.Add(s.timeout))
}

// expired reports whether an idle id has had no transition for expiration.
func (s *txnState) expired(now time.Time, expiration time.Duration) bool {
	return s.idle() && !s.lastUpdate.After(now.Add(-expiration))
}
