package replicas

// The leader-epoch-checkpoint of each replicated partition (Kafka's file of
// the same name): the epochs and the offsets where they began, saved after
// every election and truncation, which are when the history changes in ways
// the log's batches do not record (an epoch that began without an append,
// epochs a truncation removed). It is merged into the history rebuilt from
// the log when the partition opens.

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

func (m *Manager) partitionDir(p *Replica) string {
	return filepath.Join(m.opts.DataDir, PartitionDirName(p.Topic, p.Index))
}

// loadEpochs merges a just-opened partition's checkpoint; a bad one is
// logged and the history rebuilt from the log stands.
func (m *Manager) loadEpochs(p *Replica) {
	err := p.LoadLeaderEpochCheckpoint(m.opts.FS, m.partitionDir(p))
	if err != nil {
		level := "reading"
		if errors.Is(err, partition.ErrBadEpochCheckpoint) {
			level = "ignoring"
		}
		m.logger.Warn(level+" the leader epoch checkpoint", "topic", p.Topic, "partition", p.Index, "err", err)
	}
}

// saveEpochs writes the partition's checkpoint. A failure fails the log
// directory (logdir.go), as any failed write does: a follower truncating by
// a history that a restart would lose could diverge.
func (m *Manager) saveEpochs(p *Replica) {
	if err := p.WriteLeaderEpochCheckpoint(m.opts.FS, m.partitionDir(p)); err != nil {
		m.failLogDir(fmt.Errorf("saving the leader epoch checkpoint of %s-%d: %w", p.Topic, p.Index, err))
	}
}

// followerReplica is what the fetcher writes into: the replica, whose high
// watermark follows the leader's fetch responses, saving its epoch
// checkpoint after each truncation.
type followerReplica struct {
	*Replica
	m *Manager
}

var _ replication.FollowerReplica = followerReplica{}

// UpdateFollowerHighWatermark takes the high watermark from the leader's
// fetch response, bounded by what this replica holds durably: in fsync
// mode a follower exposes only what it has synced.
func (r followerReplica) UpdateFollowerHighWatermark(leaderHighWatermark storage.Offset) {
	r.advanceHighWatermark(min(leaderHighWatermark, r.DurableEnd()))
}

// TruncateTo removes records at or past offset (a tail that diverged from
// the leader's) and brings the high watermark down to the new log end:
// only an unclean election makes a follower lose committed records.
func (r followerReplica) TruncateTo(offset storage.Offset) error {
	if err := r.Partition.TruncateTo(offset); err != nil {
		return err
	}
	if end := r.LogEndOffset(); r.HighWatermark() > end {
		r.resetHighWatermark(end)
	}
	r.m.saveEpochs(r.Replica)
	return nil
}

// TruncateFullyAndStartAt restarts the replica's log at offset, the
// leader's log start, with the high watermark there.
func (r followerReplica) TruncateFullyAndStartAt(offset storage.Offset) error {
	if err := r.Partition.TruncateFullyAndStartAt(offset); err != nil {
		return err
	}
	r.resetHighWatermark(offset)
	r.m.saveEpochs(r.Replica)
	return nil
}
