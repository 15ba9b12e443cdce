package replication

// EpochEntry says that leader epoch Epoch's records start at StartOffset:
// one line of Kafka's leader-epoch-checkpoint.
type EpochEntry struct {
	Epoch       LeaderEpoch
	StartOffset Offset
}

// EpochEndOffset is one partition's OffsetForLeaderEpoch answer: the largest
// epoch the leader knows at or below the requested one, and the offset where
// that epoch's records end (the next epoch's start, or the leader's LEO for
// its latest epoch). Both are -1 when the leader knows no such epoch.
type EpochEndOffset struct {
	LeaderEpoch LeaderEpoch
	EndOffset   Offset
}

// UndefinedEpoch and UndefinedEpochOffset are OffsetForLeaderEpoch's "no
// such epoch" values.
const (
	UndefinedEpoch       LeaderEpoch = -1
	UndefinedEpochOffset Offset      = -1
)

// LocalEpochs is the follower's own epoch history. *partition.Partition
// implements it.
type LocalEpochs interface {
	// EndOffsetForEpoch answers OffsetForLeaderEpoch for the local log.
	EndOffsetForEpoch(requested int32) (epoch int32, endOffset int64)
}

// Truncation is where a follower must truncate its log before fetching.
type Truncation struct {
	Offset Offset
	// Done is false when the follower did not know the epoch the leader
	// answered with: it truncates to Offset, then asks again with its
	// (now older) latest epoch (KIP-279).
	Done bool
}

// TruncationOffset applies the KIP-101/KIP-279 rule. The follower asked the
// leader for the end of its own latest epoch and got leader. It keeps the
// longest prefix on which both logs agree:
//
//   - if the leader knows no epoch at or below the one asked, nothing is
//     known to match beyond what was committed: the follower truncates to
//     its HW (and fetching from there corrects the rest);
//   - if the follower knows no epoch at or below the leader's answer, it
//     keeps what lies below the leader's end offset;
//   - if the follower knows the leader's epoch, both logs match up to the
//     smaller end of that epoch;
//   - otherwise the follower's tail belongs to an epoch the leader never
//     had: it truncates to the end of its largest epoch below the leader's
//     and asks again.
//
// The result never exceeds the follower's LEO.
func TruncationOffset(local LocalEpochs, logEndOffset, highWatermark Offset, leader EpochEndOffset) Truncation {
	if leader.EndOffset < 0 {
		return Truncation{Offset: min(highWatermark, logEndOffset), Done: true}
	}
	if leader.LeaderEpoch < 0 {
		return Truncation{Offset: min(leader.EndOffset, logEndOffset), Done: true}
	}
	epoch, end := local.EndOffsetForEpoch(leader.LeaderEpoch)
	switch {
	case epoch < 0 || end < 0:
		return Truncation{Offset: min(leader.EndOffset, logEndOffset), Done: true}
	case epoch != leader.LeaderEpoch:
		return Truncation{Offset: min(Offset(end), logEndOffset), Done: false}
	default:
		return Truncation{Offset: min(Offset(end), leader.EndOffset, logEndOffset), Done: true}
	}
}

// EpochCache is a leader epoch history in memory, oldest first, with the log
// end offset: Kafka's LeaderEpochFileCache. It implements LocalEpochs.
type EpochCache struct {
	Entries      []EpochEntry
	LogEndOffset Offset
}

// EndOffsetForEpoch is the largest epoch at or below requested and where
// its records end; -1, -1 when there is none.
func (c *EpochCache) EndOffsetForEpoch(requested int32) (int32, int64) {
	for i := len(c.Entries) - 1; i >= 0; i-- {
		if c.Entries[i].Epoch > requested {
			continue
		}
		if i == len(c.Entries)-1 {
			return c.Entries[i].Epoch, int64(c.LogEndOffset)
		}
		return c.Entries[i].Epoch, int64(c.Entries[i+1].StartOffset)
	}
	return UndefinedEpoch, int64(UndefinedEpochOffset)
}

// Latest is the newest epoch, or UndefinedEpoch for an empty history.
func (c *EpochCache) Latest() LeaderEpoch {
	if len(c.Entries) == 0 {
		return UndefinedEpoch
	}
	return c.Entries[len(c.Entries)-1].Epoch
}

// Assign records that epoch starts at offset, if it is newer than every
// known epoch (older or equal epochs are already known to start earlier).
func (c *EpochCache) Assign(epoch LeaderEpoch, offset Offset) {
	if n := len(c.Entries); n > 0 && c.Entries[n-1].Epoch >= epoch {
		return
	}
	c.Entries = append(c.Entries, EpochEntry{Epoch: epoch, StartOffset: offset})
}

// TruncateFromEnd forgets the epochs that start at or after offset, after
// the log was truncated there, and lowers the LEO.
func (c *EpochCache) TruncateFromEnd(offset Offset) {
	n := len(c.Entries)
	for n > 0 && c.Entries[n-1].StartOffset >= offset {
		n--
	}
	c.Entries = c.Entries[:n]
	c.LogEndOffset = min(c.LogEndOffset, offset)
}
