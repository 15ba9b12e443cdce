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
)

// The transaction versions (Kafka's transaction.version feature levels).
// A client request implies 0 or 2 (endTxnTransactionVersion,
// addPartitionsTransactionVersion); the aborts
// the coordinator starts itself (fencing, timeouts) record the cluster's
// level, Config.TransactionVersion, as Kafka does.
const (
	// transactionVersion1 is KIP-890 part 1: flexible __transaction_state
	// values; a transaction keeps its producer epoch to the end.
	transactionVersion1 int16 = 1
	// transactionVersion2 is KIP-890 part 2: every EndTxn bumps the
	// epoch and the markers carry the bumped one; partition leaders add
	// partitions to the transaction on the client's behalf.
	transactionVersion2 int16 = 2
)

// supportsEpochBump reports whether transaction version tv bumps the
// producer epoch on every commit and abort.
func supportsEpochBump(tv int16) bool { return tv >= transactionVersion2 }

// endTxnTransactionVersion is the transaction version an EndTxn implies, as
// Kafka's TransactionVersion.transactionVersionForEndTxn: v5+ comes from a
// client speaking version 2, anything older from one below it.
func endTxnTransactionVersion(version int16) int16 {
	if version > 4 {
		return transactionVersion2
	}
	return 0
}

// addPartitionsTransactionVersion is the transaction version an
// AddPartitionsToTxn implies (transactionVersionForAddPartitionsToTxn):
// v4+ comes from a partition leader, which adds a partition only for a
// client of version 2. AddOffsetsToTxn always implies 0: clients of version
// 2 send TxnOffsetCommit v5 instead.
func addPartitionsTransactionVersion(version int16) int16 {
	if version > 3 {
		return transactionVersion2
	}
	return 0
}

// epochExhausted reports whether a producer id has no epoch left to hand to
// a client: Kafka keeps math.MaxInt16 so that it can always fence.
func epochExhausted(epoch int16) bool { return epoch >= math.MaxInt16-1 }

// txnState is the metadata of one transactional id, as one
// __transaction_state value holds it (lastProducerEpoch excepted).
type txnState struct {
	producerID         int64
	previousProducerID int64 // the producer id before the last transition
	// nextProducerID is the producer id a transaction of version 2
	// moves to when it completes: its EndTxn exhausted the epochs. -1
	// otherwise.
	nextProducerID    int64
	nextProducerEpoch int16 // KIP-939; kept as read, -1 here
	producerEpoch     int16
	// lastProducerEpoch is the epoch before the last InitProducerId (or
	// EndTxn of version 2), so that a KIP-360 retry gets the same
	// answer. Like Kafka, it is not written to the log; a reload starts
	// it at -1.
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
	// settled, when set, is closed once the prepared transaction
	// completes (or the id's state otherwise leaves the prepare states);
	// adds from partition leaders wait on it (addpartitions.go).
	settled chan struct{}
}

// settledLocked returns a channel closed once m is no longer prepared.
func (m *txnMetadata) settledLocked() <-chan struct{} {
	if m.settled == nil {
		m.settled = make(chan struct{})
	}
	return m.settled
}

// noteSettledLocked wakes the waiters of settledLocked once m's state left
// the prepare states.
func (m *txnMetadata) noteSettledLocked() {
	if m.settled != nil && !m.cur.preparing() {
		close(m.settled)
		m.settled = nil
	}
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
// decision asked for one, else -1; serverVersion is the cluster's
// transaction version, by whose rules an Ongoing transaction is fenced.
func decideInit(s *txnState, pending bool, timeout time.Duration, expected *producerIDAndEpoch,
	newProducerID int64, serverVersion int16, now time.Time) decision {
	switch {
	case pending, expected != nil && awaitingRotation(s, expected.producerID):
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
		if fenceNeedsProducerID(s, serverVersion) && newProducerID < 0 {
			return decision{needProducerID: true}
		}
		return transition(fence(s, serverVersion, newProducerID, now))
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
// InitProducerId or a timeout, by the rules of the cluster's transaction
// version. Kafka passes through PrepareEpochFence in memory only and writes
// PrepareAbort; so does this. At version 1 the abort is written at the
// fencing epoch (epoch+1). At version 2 the abort bumps once more, as every
// abort of that version does (epoch+2), and when the epoch was exhausted the
// transaction moves to newProducerID once the markers are written
// (fenceNeedsProducerID). The producer's epoch at the fence is remembered
// only then, so that its retry with the old producer id learns the new one;
// otherwise no previous epoch is kept and the fenced producer stays fenced.
func fence(s *txnState, serverVersion int16, newProducerID int64, now time.Time) txnState {
	next := s.transitionTo(kmsg.TransactionStatePrepareAbort, now)
	fenced := s.producerEpoch
	if fenced < math.MaxInt16 {
		fenced++
	}
	next.producerEpoch, next.lastProducerEpoch = fenced, noProducerEpoch
	next.nextProducerID = noProducerID
	next.partitions = maps.Clone(s.partitions)
	next.clientTransactionVersion = serverVersion
	if supportsEpochBump(serverVersion) {
		if fenced < math.MaxInt16 {
			next.producerEpoch = fenced + 1
		}
		if fenceNeedsProducerID(s, serverVersion) {
			next.nextProducerID, next.lastProducerEpoch = newProducerID, s.producerEpoch
		}
	}
	return next
}

// fenceNeedsProducerID reports whether fencing s needs a fresh producer id:
// at version 2 an exhausted epoch moves the id to a new producer id.
func fenceNeedsProducerID(s *txnState, serverVersion int16) bool {
	return supportsEpochBump(serverVersion) && epochExhausted(s.producerEpoch)
}

// awaitingRotation reports whether producerID is the one s moves to once
// its markers are written: a client of version 2 learns it from its EndTxn
// and may use it before the transaction completes. Its requests are then
// answered CONCURRENT_TRANSACTIONS, retriable, where Kafka answers
// INVALID_PRODUCER_ID_MAPPING or PRODUCER_FENCED for the moment the
// markers take.
func awaitingRotation(s *txnState, producerID int64) bool {
	return s.preparing() && s.nextProducerID >= 0 && producerID == s.nextProducerID
}

// checkProducer is the producer id and epoch check AddPartitionsToTxn and
// AddOffsetsToTxn share, and EndTxn at version 1: the epoch must be the
// current one.
func checkProducer(s *txnState, producerID int64, epoch int16) int16 {
	switch {
	case awaitingRotation(s, producerID):
		return kerr.ConcurrentTransactions.Code
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

// endRequest is an EndTxn from a client: its producer, its result and the
// transaction version its request version implies.
type endRequest struct {
	producerID int64
	epoch      int16
	commit     bool
	version    int16
}

// decideEndTxn is EndTxn from a client, by the rules of the version its
// request implies. newProducerID is a fresh id when a previous decision
// asked for one, else -1.
func decideEndTxn(s *txnState, pending bool, r endRequest, newProducerID int64, now time.Time) decision {
	if supportsEpochBump(r.version) {
		return decideEndTxnV2(s, pending, r, newProducerID, now)
	}
	return decideEndTxnV1(s, pending, r, now)
}

// decideEndTxnV1 is EndTxn at versions 0 and 1 (endTransactionWithTV1): the
// epoch must be the current one and does not change; a retry is told apart
// by the state alone.
func decideEndTxnV1(s *txnState, pending bool, r endRequest, now time.Time) decision {
	if code := checkProducer(s, r.producerID, r.epoch); code != 0 {
		return answer(code)
	}
	if pending {
		return answer(kerr.ConcurrentTransactions.Code)
	}
	prepare, complete := endStates(r.commit)
	switch s.state {
	case kmsg.TransactionStateOngoing:
		next := s.transitionTo(prepare, now)
		next.partitions = maps.Clone(s.partitions)
		next.nextProducerID = noProducerID
		next.clientTransactionVersion = r.version
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

// decideEndTxnV2 is EndTxn at version 2 (Kafka's endTransaction for
// clients that support the epoch bump). Every commit and abort is written
// at epoch+1, and the client continues at that epoch; an abort needs no
// transaction (Empty or completed: an empty abort, which only bumps). A
// retry is the request at the epoch before the bump, or at the exhausted
// epoch of the producer id it moved from; the current epoch in a completed
// state is a new request. As Kafka's table:
//
//	               Abort            Commit
//	               retry  current   retry  current
//	Empty          FENCED bump      FENCED INVALID_TXN_STATE
//	CompleteAbort  NONE   bump      INVALID_TXN_STATE
//	CompleteCommit INVALID bump     NONE   INVALID_TXN_STATE
//
// Prepare states take only retries: the same result is
// CONCURRENT_TRANSACTIONS, the other INVALID_TXN_STATE.
func decideEndTxnV2(s *txnState, pending bool, r endRequest, newProducerID int64, now time.Time) decision {
	retryOnOverflow := s.previousProducerID == r.producerID && r.epoch == math.MaxInt16-1 && s.producerEpoch == 0
	retryOnBump := int32(s.producerEpoch) == int32(r.epoch)+1
	var validEpoch bool
	switch s.state {
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		validEpoch = retryOnBump
	case kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		validEpoch = retryOnBump || retryOnOverflow || r.epoch == s.producerEpoch
	default:
		validEpoch = r.epoch == s.producerEpoch
	}
	switch {
	case awaitingRotation(s, r.producerID):
		return answer(kerr.ConcurrentTransactions.Code)
	case r.producerID != s.producerID && !retryOnOverflow:
		return answer(kerr.InvalidProducerIDMapping.Code)
	case !validEpoch:
		return answer(kerr.ProducerFenced.Code)
	case pending:
		return answer(kerr.ConcurrentTransactions.Code)
	}
	retry := retryOnBump || retryOnOverflow
	prepare, complete := endStates(r.commit)
	switch s.state {
	case kmsg.TransactionStateOngoing:
		return prepareEndV2(s, prepare, false, newProducerID, now)
	case kmsg.TransactionStateEmpty, kmsg.TransactionStateCompleteCommit, kmsg.TransactionStateCompleteAbort:
		switch {
		case retry && s.state == complete:
			return answer(0) // a retry of an EndTxn that completed
		case !retry && !r.commit:
			return prepareEndV2(s, prepare, true, newProducerID, now)
		}
		return answer(kerr.InvalidTxnState.Code)
	case prepare:
		return answer(kerr.ConcurrentTransactions.Code) // a retry while the markers are written
	case kmsg.TransactionStatePrepareCommit, kmsg.TransactionStatePrepareAbort:
		return answer(kerr.InvalidTxnState.Code)
	}
	return answer(kerr.UnknownServerError.Code)
}

// prepareEndV2 is PrepareCommit or PrepareAbort at version 2
// (prepareAbortOrCommit): epoch+1, and the previous epoch remembered so that
// a retry of InitProducerId with it is known. An exhausted epoch needs a
// fresh producer id, which the id moves to at completion; the prepare is
// written at the last epoch, math.MaxInt16, so that its markers still fence
// the old producer id. An empty abort starts its transaction now.
func prepareEndV2(s *txnState, prepare kmsg.TransactionState, empty bool, newProducerID int64, now time.Time) decision {
	if s.producerEpoch == math.MaxInt16 && prepare == kmsg.TransactionStatePrepareCommit {
		// No client was ever given this epoch (fences stop at it).
		return answer(kerr.ProducerFenced.Code)
	}
	if epochExhausted(s.producerEpoch) && newProducerID < 0 {
		return decision{needProducerID: true}
	}
	next := s.transitionTo(prepare, now)
	next.partitions = maps.Clone(s.partitions)
	if s.producerEpoch < math.MaxInt16 {
		next.producerEpoch = s.producerEpoch + 1
	}
	next.lastProducerEpoch = s.producerEpoch
	next.nextProducerID = noProducerID
	if epochExhausted(s.producerEpoch) {
		next.nextProducerID = newProducerID
	}
	if empty {
		next.startTime = now
	}
	next.clientTransactionVersion = transactionVersion2
	return transition(next)
}

// endStates are the prepare and complete states of a commit or an abort.
func endStates(commit bool) (prepare, complete kmsg.TransactionState) {
	if commit {
		return kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit
	}
	return kmsg.TransactionStatePrepareAbort, kmsg.TransactionStateCompleteAbort
}

// endedAs is the producer id and epoch a client continues with after
// next, an EndTxn's prepare: at version 2 the bumped epoch, or epoch 0 of
// the producer id it moves to.
func endedAs(next *txnState) (int64, int16) {
	if next.nextProducerID >= 0 {
		return next.nextProducerID, 0
	}
	return next.producerID, next.producerEpoch
}

// complete is the end of a prepared transaction once every marker is
// written (prepareComplete): the partitions are cleared, and a transaction
// of version 2 that exhausted the epoch moves to its next producer id at
// epoch 0. The previous epoch is kept: it is what the client last used.
func complete(s *txnState, now time.Time) txnState {
	state := kmsg.TransactionStateCompleteAbort
	if s.state == kmsg.TransactionStatePrepareCommit {
		state = kmsg.TransactionStateCompleteCommit
	}
	next := s.transitionTo(state, now)
	next.partitions = nil
	if supportsEpochBump(s.clientTransactionVersion) && s.nextProducerID >= 0 {
		next.producerID, next.producerEpoch = s.nextProducerID, 0
	}
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
