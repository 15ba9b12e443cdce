package replication

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultReplicaLagTime is replica.lag.time.max.ms's default (30 s): a
// follower that has not caught up to the leader's LEO for this long leaves
// the ISR.
const DefaultReplicaLagTime = 30 * time.Second

// LeaderConfig is what a broker knows when it becomes a partition's leader.
type LeaderConfig struct {
	LeaderID    BrokerID
	LeaderEpoch LeaderEpoch
	// PartitionEpoch is the metadata's partition epoch, sent back with an
	// AlterPartition so that the controller refuses a stale proposal.
	PartitionEpoch int32
	// Replicas is the assignment, leader included.
	Replicas []BrokerID
	// ISR is the committed in-sync replica set, leader included.
	ISR []BrokerID
	// LogEndOffset is the leader's LEO now; it is also where the leader's
	// epoch starts (a follower joins the ISR only once it reached it).
	LogEndOffset Offset
	// HighWatermark is the HW the leader had as a follower.
	HighWatermark Offset
	// ReplicaLagTime is replica.lag.time.max.ms; zero means the default.
	ReplicaLagTime time.Duration
	Now            time.Time
}

// ErrInvalidLeaderConfig is returned for a configuration that breaks the
// ISR invariants (leader outside the ISR, ISR outside the replicas).
var ErrInvalidLeaderConfig = errors.New("replication: invalid leader state")

// followerState is the leader's view of one follower (Kafka's Replica).
type followerState struct {
	logEndOffset Offset
	// lastCaughtUp is the last time the follower's LEO reached the leader's
	// LEO as it was at the previous fetch: Kafka's lastCaughtUpTimeMs.
	lastCaughtUp time.Time
	// leaderEndAtLastFetch and lastFetch remember the previous fetch, so a
	// follower that keeps fetching everything the leader had a moment ago
	// counts as caught up even under constant produce.
	leaderEndAtLastFetch Offset
	lastFetch            time.Time
}

// ISRChange is a proposal for the controller (an AlterPartition request).
type ISRChange struct {
	LeaderEpoch    LeaderEpoch
	PartitionEpoch int32
	NewISR         []BrokerID
	// seq tells proposals apart, so that an outcome is applied only to
	// the proposal it answers.
	seq uint64
}

// PartitionState is the controller's state of a partition as the leader
// learns it, from the metadata image or from an AlterPartition answer.
// Every change of it comes with a higher PartitionEpoch.
type PartitionState struct {
	LeaderEpoch    LeaderEpoch
	PartitionEpoch int32
	Replicas       []BrokerID
	ISR            []BrokerID
}

// Update is what an event changed.
type Update struct {
	// HighWatermark is the HW after the event; HighWatermarkAdvanced says it
	// moved, so that waiting fetches and acks=all produces are woken.
	HighWatermark         Offset
	HighWatermarkAdvanced bool
	// Proposal is non-nil when an ISR change is to be sent to the
	// controller: a new one, or the pending one again after an outcome
	// that proved nothing (ISRChangeUnknown). The caller sends it and
	// reports the answer with OnISRChangeAnswered or OnISRChangeRefused.
	// One proposal is pending at a time.
	Proposal *ISRChange
}

// pendingChange is the proposal in flight (Kafka's PendingPartitionChange).
type pendingChange struct {
	ISRChange
	// awaitingMetadata is set once the controller answered that it holds a
	// newer state of the partition: the proposal is not sent again, and it
	// still counts for the HW until that state arrives through the image.
	awaitingMetadata bool
}

// LeaderState is the leader's replication state for one partition: the ISR
// (committed and pending), each follower's fetch position, and the HW.
// It is a pure state machine; see the package doc.
type LeaderState struct {
	leaderID         BrokerID
	leaderEpoch      LeaderEpoch
	partitionEpoch   int32
	replicas         []BrokerID
	isr              []BrokerID     // committed
	pending          *pendingChange // in flight, or nil
	proposals        uint64         // proposals made, for ISRChange.seq
	epochStartOffset Offset
	logEndOffset     Offset
	// writtenEnd is the leader's log end, fsynced or not: how far a
	// follower may have fetched (OnLeaderWrite).
	writtenEnd    Offset
	highWatermark Offset
	lagTime       time.Duration
	followers     map[BrokerID]*followerState
}

// NewLeaderState starts the leader role. Followers in the ISR are treated as
// caught up now, so that a new leader gives them replica.lag.time.max.ms to
// fetch before shrinking the ISR, as Kafka does.
func NewLeaderState(cfg LeaderConfig) (*LeaderState, error) {
	if err := checkLeaderConfig(cfg); err != nil {
		return nil, err
	}
	lag := cfg.ReplicaLagTime
	if lag <= 0 {
		lag = DefaultReplicaLagTime
	}
	s := &LeaderState{
		leaderID:         cfg.LeaderID,
		leaderEpoch:      cfg.LeaderEpoch,
		partitionEpoch:   cfg.PartitionEpoch,
		replicas:         slices.Clone(cfg.Replicas),
		isr:              slices.Clone(cfg.ISR),
		epochStartOffset: cfg.LogEndOffset,
		logEndOffset:     cfg.LogEndOffset,
		writtenEnd:       cfg.LogEndOffset,
		highWatermark:    min(cfg.HighWatermark, cfg.LogEndOffset),
		lagTime:          lag,
		followers:        make(map[BrokerID]*followerState, len(cfg.Replicas)),
	}
	for _, id := range cfg.Replicas {
		if id == cfg.LeaderID {
			continue
		}
		f := &followerState{logEndOffset: UnknownOffset, leaderEndAtLastFetch: UnknownOffset}
		if slices.Contains(cfg.ISR, id) {
			f.lastCaughtUp = cfg.Now
		}
		s.followers[id] = f
	}
	return s, nil
}

func checkLeaderConfig(cfg LeaderConfig) error {
	switch {
	case len(cfg.Replicas) == 0 || len(cfg.Replicas) > MaxReplicas:
		return fmt.Errorf("%w: %d replicas", ErrInvalidLeaderConfig, len(cfg.Replicas))
	case !slices.Contains(cfg.ISR, cfg.LeaderID):
		return fmt.Errorf("%w: leader %d not in ISR %v", ErrInvalidLeaderConfig, cfg.LeaderID, cfg.ISR)
	case cfg.LogEndOffset < 0:
		return fmt.Errorf("%w: log end offset %d", ErrInvalidLeaderConfig, cfg.LogEndOffset)
	}
	for _, id := range cfg.ISR {
		if !slices.Contains(cfg.Replicas, id) {
			return fmt.Errorf("%w: ISR member %d not a replica of %v", ErrInvalidLeaderConfig, id, cfg.Replicas)
		}
	}
	return nil
}

// HighWatermark is the current HW.
func (s *LeaderState) HighWatermark() Offset { return s.highWatermark }

// LeaderEpoch is the epoch this state was created for.
func (s *LeaderState) LeaderEpoch() LeaderEpoch { return s.leaderEpoch }

// ISR is the committed in-sync replica set (a copy).
func (s *LeaderState) ISR() []BrokerID { return slices.Clone(s.isr) }

// PartitionEpoch is the partition epoch of the committed state held.
func (s *LeaderState) PartitionEpoch() int32 { return s.partitionEpoch }

// MaximalISR is the committed ISR united with a pending proposal's (a copy).
func (s *LeaderState) MaximalISR() []BrokerID {
	out := slices.Clone(s.isr)
	if s.pending != nil {
		for _, id := range s.pending.NewISR {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// Pending is the ISR change in flight, or nil.
func (s *LeaderState) Pending() *ISRChange {
	if s.pending == nil {
		return nil
	}
	return s.pending.copy()
}

// AwaitingMetadata reports whether the pending change was refused as stale
// and waits for a newer partition state from the metadata image.
func (s *LeaderState) AwaitingMetadata() bool {
	return s.pending != nil && s.pending.awaitingMetadata
}

func (c *ISRChange) copy() *ISRChange {
	out := *c
	out.NewISR = slices.Clone(c.NewISR)
	return &out
}

// FollowerLogEndOffset is the follower's LEO as last fetched, or
// UnknownOffset.
func (s *LeaderState) FollowerLogEndOffset(id BrokerID) Offset {
	if f, ok := s.followers[id]; ok {
		return f.logEndOffset
	}
	return UnknownOffset
}

// OnLeaderWrite records how far the leader's log extends, fsynced or not:
// followers may fetch (and hold, fsynced on their side) records the leader
// has not fsynced yet, so that its fsync and their copy overlap. Only the
// leader's durable end (OnLeaderAppend) counts toward the HW.
func (s *LeaderState) OnLeaderWrite(logEndOffset Offset) {
	s.writtenEnd = max(s.writtenEnd, logEndOffset)
}

// OnLeaderAppend records the leader's new LEO. In fsync mode the caller
// passes the durable offset, so the leader never counts its own unsynced
// bytes toward the HW. With an ISR of the leader alone, this alone moves the
// HW.
func (s *LeaderState) OnLeaderAppend(logEndOffset Offset) Update {
	if logEndOffset > s.logEndOffset {
		s.logEndOffset = logEndOffset
	}
	return Update{HighWatermark: s.highWatermark, HighWatermarkAdvanced: s.maybeAdvanceHighWatermark()}
}
