package replication

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrUnknownReplica is returned for a fetch from a broker that is not a
// follower of the partition; the Fetch handler answers it with
// NOT_LEADER_OR_FOLLOWER.
var ErrUnknownReplica = errors.New("replication: fetch from a broker that is not a replica")

// ErrFetchBeyondEnd is returned for a follower fetch offset past the
// leader's LEO; the Fetch handler answers OFFSET_OUT_OF_RANGE.
var ErrFetchBeyondEnd = errors.New("replication: follower fetch offset past the leader's log end")

// OnFollowerFetch records that follower fetched from fetchOffset (which is
// its LEO: a follower always fetches from its log end) at now. It may
// advance the HW and may propose adding the follower to the ISR.
func (s *LeaderState) OnFollowerFetch(follower BrokerID, fetchOffset Offset, now time.Time) (Update, error) {
	f, ok := s.followers[follower]
	if !ok {
		return Update{HighWatermark: s.highWatermark}, fmt.Errorf("%w: broker %d, replicas %v", ErrUnknownReplica, follower, s.replicas)
	}
	if end := max(s.logEndOffset, s.writtenEnd); fetchOffset > end || fetchOffset < 0 {
		return Update{HighWatermark: s.highWatermark}, fmt.Errorf("%w: broker %d at %d, leader end %d", ErrFetchBeyondEnd, follower, fetchOffset, end)
	}
	// Kafka's Replica.updateFetchState: reaching the leader's current end
	// catches up now; reaching what the leader had at the previous fetch
	// means the follower was caught up as of that fetch.
	if fetchOffset >= s.logEndOffset {
		f.lastCaughtUp = now
	} else if fetchOffset >= f.leaderEndAtLastFetch && f.lastFetch.After(f.lastCaughtUp) {
		f.lastCaughtUp = f.lastFetch
	}
	f.leaderEndAtLastFetch, f.lastFetch, f.logEndOffset = s.logEndOffset, now, fetchOffset

	var u Update
	if s.pending == nil && !slices.Contains(s.isr, follower) && s.followerInSync(f) {
		s.propose(append(slices.Clone(s.isr), follower))
		u.Proposal = s.Pending()
	}
	u.HighWatermarkAdvanced = s.maybeAdvanceHighWatermark()
	u.HighWatermark = s.highWatermark
	return u, nil
}

// followerInSync is Kafka's isFollowerInSync for expansion: the follower
// reached the HW and the start of this leader's epoch, so it holds
// everything committed and nothing from a previous leader's divergent tail.
func (s *LeaderState) followerInSync(f *followerState) bool {
	return f.logEndOffset >= s.highWatermark && f.logEndOffset >= s.epochStartOffset
}

// Tick checks the ISR against replica.lag.time.max.ms at now and proposes
// removing every follower that has not caught up to the leader's LEO within
// it. A follower whose LEO equals the leader's counts as caught up however
// long ago it fetched: an idle partition does not shrink its ISR (Kafka's
// Replica.isCaughtUp).
func (s *LeaderState) Tick(now time.Time) Update {
	u := Update{HighWatermark: s.highWatermark}
	if s.pending != nil {
		return u
	}
	var keep []BrokerID
	for _, id := range s.isr {
		if id == s.leaderID || s.caughtUp(s.followers[id], now) {
			keep = append(keep, id)
		}
	}
	if len(keep) < len(s.isr) {
		s.propose(keep)
		u.Proposal = s.Pending()
	}
	return u
}

func (s *LeaderState) caughtUp(f *followerState, now time.Time) bool {
	if f == nil {
		return false
	}
	return f.logEndOffset >= s.logEndOffset || now.Sub(f.lastCaughtUp) <= s.lagTime
}

func (s *LeaderState) propose(isr []BrokerID) {
	s.proposals++
	s.pending = &pendingChange{ISRChange: ISRChange{LeaderEpoch: s.leaderEpoch, PartitionEpoch: s.partitionEpoch,
		NewISR: isr, seq: s.proposals}}
}

// OnPartitionChange applies the partition's state from the metadata image:
// an AlterPartition the controller committed, the controller's own change
// (a dead follower leaving the ISR) or a reassignment changing the
// replicas. Only a state with a newer partition epoch than the one held
// changes anything: every change of the partition bumps its epoch, so an
// equal epoch is the state already held (possibly learnt first from the
// controller's answer), and an older one is stale. A newer state settles
// the pending proposal, whatever became of it: if the controller applied
// it, the state includes it; if not, it never can, since the controller
// refuses a proposal made at an older partition epoch. New replicas start
// as out-of-sync followers with an unknown LEO.
//
// Clearing the pending proposal on an equal epoch, as this did before,
// lost acknowledged records (issue 12): any metadata change (of another
// partition, a broker registering) re-applied the held state, the HW went
// on over the committed ISR alone while the controller went on to add the
// proposed follower, and that follower, behind the HW, later led.
func (s *LeaderState) OnPartitionChange(ps PartitionState, now time.Time) (Update, error) {
	if ps.LeaderEpoch != s.leaderEpoch || ps.PartitionEpoch <= s.partitionEpoch {
		return Update{HighWatermark: s.highWatermark}, nil
	}
	return s.adopt(ps)
}

// adopt makes ps the committed state and settles the pending proposal.
func (s *LeaderState) adopt(ps PartitionState) (Update, error) {
	cfg := LeaderConfig{LeaderID: s.leaderID, Replicas: ps.Replicas, ISR: ps.ISR, LogEndOffset: s.logEndOffset}
	if err := checkLeaderConfig(cfg); err != nil {
		return Update{HighWatermark: s.highWatermark}, err
	}
	for _, id := range ps.Replicas {
		if _, ok := s.followers[id]; !ok && id != s.leaderID {
			s.followers[id] = &followerState{logEndOffset: UnknownOffset, leaderEndAtLastFetch: UnknownOffset}
		}
	}
	for id := range s.followers {
		if !slices.Contains(ps.Replicas, id) {
			delete(s.followers, id)
		}
	}
	s.replicas, s.isr, s.partitionEpoch, s.pending = slices.Clone(ps.Replicas), slices.Clone(ps.ISR), ps.PartitionEpoch, nil
	advanced := s.maybeAdvanceHighWatermark()
	return Update{HighWatermark: s.highWatermark, HighWatermarkAdvanced: advanced}, nil
}

// OnISRChangeAnswered applies the controller's answer to change: the
// partition's state after it. A newer state than the one held is adopted
// (the image brings the same state later, which then changes nothing). An
// answer at the held epoch means the controller wrote nothing because the
// ISR already was the proposed one: the proposal is settled. An older one
// comes from a controller that was behind and is ignored.
func (s *LeaderState) OnISRChangeAnswered(change ISRChange, ps PartitionState) (Update, error) {
	switch {
	case ps.LeaderEpoch != s.leaderEpoch || ps.PartitionEpoch < s.partitionEpoch:
	case ps.PartitionEpoch > s.partitionEpoch:
		return s.adopt(ps)
	case s.isCurrent(change) && SameMembers(ps.ISR, s.isr):
		s.pending = nil
		advanced := s.maybeAdvanceHighWatermark()
		return Update{HighWatermark: s.highWatermark, HighWatermarkAdvanced: advanced}, nil
	}
	return Update{HighWatermark: s.highWatermark}, nil
}

// ISRChangeOutcome classifies an AlterPartition that did not succeed by
// what its answer proves about the change (Kafka's
// Partition.handleAlterPartitionError).
type ISRChangeOutcome int

const (
	// ISRChangeUnknown: no answer, or one that proves nothing (a timeout,
	// a lost connection, a controller that lost its leadership while
	// writing). The change may have been applied, or may still be: it
	// stays pending, counting for the HW, and is sent again.
	ISRChangeUnknown ISRChangeOutcome = iota
	// ISRChangeRejected: the controller refused the change at the
	// partition epoch it was made at (INELIGIBLE_REPLICA: a fenced or
	// restarted member). No attempt of it was or can be applied, so the
	// leader goes back to the committed ISR.
	ISRChangeRejected
	// ISRChangeStale: the controller holds a newer state of the partition
	// (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH) or does not know it.
	// An earlier attempt may have been applied: the change stays pending,
	// counting for the HW, until the newer state arrives through the
	// metadata image (OnPartitionChange); it is not sent again.
	ISRChangeStale
)

// OnISRChangeRefused applies an outcome other than success to change. It
// returns the proposal to send again for ISRChangeUnknown. An outcome for a
// change that is no longer the pending one changes nothing.
func (s *LeaderState) OnISRChangeRefused(change ISRChange, outcome ISRChangeOutcome) Update {
	u := Update{HighWatermark: s.highWatermark}
	if !s.isCurrent(change) {
		return u
	}
	switch outcome {
	case ISRChangeRejected:
		s.pending = nil
		u.HighWatermarkAdvanced = s.maybeAdvanceHighWatermark()
		u.HighWatermark = s.highWatermark
	case ISRChangeStale:
		s.pending.awaitingMetadata = true
	default:
		u.Proposal = s.pending.copy()
	}
	return u
}

// isCurrent reports whether change is the pending proposal.
func (s *LeaderState) isCurrent(change ISRChange) bool {
	return s.pending != nil && s.pending.seq == change.seq
}

// SameMembers reports whether a and b hold the same brokers in any order.
func SameMembers(a, b []BrokerID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}

// maybeAdvanceHighWatermark sets the HW to the smallest LEO in the maximal
// ISR when that is higher (Kafka's maybeIncrementLeaderHW). The leader is
// always in the ISR, so the HW never passes the leader's LEO. A follower with
// an unknown LEO holds the HW where it is.
func (s *LeaderState) maybeAdvanceHighWatermark() bool {
	hw := s.logEndOffset
	// The committed ISR, then the pending one: together the maximal ISR,
	// without building it (this runs on every follower fetch).
	sets := [2][]BrokerID{s.isr, nil}
	if s.pending != nil {
		sets[1] = s.pending.NewISR
	}
	for _, set := range sets {
		for _, id := range set {
			if id == s.leaderID {
				continue
			}
			f, ok := s.followers[id]
			if !ok {
				return false
			}
			hw = min(hw, f.logEndOffset)
		}
	}
	if hw <= s.highWatermark {
		return false
	}
	s.highWatermark = hw
	return true
}

// AcksAll is the acks value of a produce that waits for the ISR.
const AcksAll int16 = -1

// CheckProduce refuses an acks=all produce before it is appended when the
// committed ISR is smaller than min.insync.replicas (NOT_ENOUGH_REPLICAS):
// nothing is written, so the producer may retry safely.
func (s *LeaderState) CheckProduce(acks int16, minInsyncReplicas int) error {
	if acks == AcksAll && len(s.isr) < minInsyncReplicas {
		return fmt.Errorf("ISR %v below min.insync.replicas %d: %w", s.isr, minInsyncReplicas, kerr.NotEnoughReplicas)
	}
	return nil
}

// AckDecision says whether a produce waiting on the ISR may be answered.
type AckDecision struct {
	// Done is set when the produce may be answered now, with Err (nil, or
	// NOT_ENOUGH_REPLICAS_AFTER_APPEND).
	Done bool
	Err  error
}

// AckReady decides an acks=all produce whose last record is below
// requiredOffset (its last offset plus one). It is done once the HW reached
// requiredOffset; if by then the maximal ISR is smaller than
// min.insync.replicas the records are committed by too few replicas and the
// answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND (Kafka's
// checkEnoughReplicasReachOffset): written, but not as durably as asked, so
// the producer must treat the outcome as unknown. Other acks are done at
// once: acks=1 waits only for the leader's own append (and fsync).
//
// Note that the HW itself does not wait for min.insync.replicas (as in Kafka
// without KIP-966's eligible leader replicas): an ISR of the leader alone
// still advances it, which is what lets acks=1 data become visible, and
// acks=all producers are protected by CheckProduce and AckReady instead.
func (s *LeaderState) AckReady(requiredOffset Offset, acks int16, minInsyncReplicas int) AckDecision {
	if acks != AcksAll {
		return AckDecision{Done: true}
	}
	if s.highWatermark < requiredOffset {
		return AckDecision{}
	}
	if s.maximalISRSize() < minInsyncReplicas {
		return AckDecision{Done: true, Err: fmt.Errorf("ISR %v below min.insync.replicas %d after append: %w", s.MaximalISR(), minInsyncReplicas, kerr.NotEnoughReplicasAfterAppend)}
	}
	return AckDecision{Done: true}
}

// maximalISRSize is len(MaximalISR()) without building it.
func (s *LeaderState) maximalISRSize() int {
	n := len(s.isr)
	if s.pending != nil {
		for _, id := range s.pending.NewISR {
			if !slices.Contains(s.isr, id) {
				n++
			}
		}
	}
	return n
}
