package replicas

// The leader-epoch-checkpoint of each replicated partition (Kafka's file of
// the same name): the epochs and the offsets where they began, saved after
// every election and truncation, which are when the history changes in ways
// the log's batches do not record (an epoch that began without an append,
// epochs a truncation removed). It is merged into the history rebuilt from
// the log when the partition opens.

import (
	"errors"
	"path/filepath"

	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

func (m *Manager) partitionDir(p *partition.Partition) string {
	return filepath.Join(m.opts.DataDir, PartitionDirName(p.Topic, p.Index))
}

// loadEpochs merges a just-opened partition's checkpoint; a bad one is
// logged and the history rebuilt from the log stands.
func (m *Manager) loadEpochs(p *partition.Partition) {
	err := p.LoadLeaderEpochCheckpoint(m.opts.FS, m.partitionDir(p))
	if err != nil {
		level := "reading"
		if errors.Is(err, partition.ErrBadEpochCheckpoint) {
			level = "ignoring"
		}
		m.logger.Warn(level+" the leader epoch checkpoint", "topic", p.Topic, "partition", p.Index, "err", err)
	}
}

// saveEpochs writes the partition's checkpoint; a failure is logged, since
// the batches still carry every epoch that has records.
func (m *Manager) saveEpochs(p *partition.Partition) {
	if err := p.WriteLeaderEpochCheckpoint(m.opts.FS, m.partitionDir(p)); err != nil {
		m.logger.Warn("saving the leader epoch checkpoint", "topic", p.Topic, "partition", p.Index, "err", err)
	}
}

// followerReplica is what the fetcher writes into: the partition, saving
// its epoch checkpoint after each truncation.
type followerReplica struct {
	*partition.Partition
	m *Manager
}

var _ replication.FollowerReplica = followerReplica{}

func (r followerReplica) TruncateTo(offset storage.Offset) error {
	err := r.Partition.TruncateTo(offset)
	if err == nil {
		r.m.saveEpochs(r.Partition)
	}
	return err
}

func (r followerReplica) TruncateFullyAndStartAt(offset storage.Offset) error {
	err := r.Partition.TruncateFullyAndStartAt(offset)
	if err == nil {
		r.m.saveEpochs(r.Partition)
	}
	return err
}
