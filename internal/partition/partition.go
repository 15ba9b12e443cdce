// Package partition is one partition replica's log and what guards its
// appends: the idempotent producers' state, the leader epoch stamped on
// appended batches and the history of leader epochs (Kafka's leader epoch
// cache and its checkpoint file). Appends as the leader (a validated
// producer batch) and as a follower (the leader's batches, kept as they
// are), and a follower's truncation, all go through it.
//
// What may be exposed to consumers (the high watermark), and the roles
// that move it, belong to the replica manager (internal/replicas).
//
// The producer state is snapshotted to .snapshot files beside the segments
// (at each segment roll and at Close), so that opening the partition
// replays only the batches after the newest snapshot (snapshot.go).
//
// Concurrency: appends and truncations are serialized by appendMu, which
// also guards the producer state and the snapshot files. The leader epoch,
// the epoch history and the topic config sit in mu. The log is safe for
// concurrent reads, syncs and retention.
package partition

import (
	"fmt"
	"sync"
	"time"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/producerstate"
	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// maxBatchesPerProducer is how many recent batches per producer are kept
// for duplicate detection; Kafka clients keep at most 5 in flight.
const maxBatchesPerProducer = 5

// Partition is a replica of one topic partition.
type Partition struct {
	Topic   string
	TopicID [16]byte
	Index   int32

	log *storage.Log

	appendMu  sync.Mutex
	producers *producerstate.Manager // guarded by appendMu
	// txns are the transactions holding back the last stable offset;
	// changed under appendMu, read under their own lock.
	txns txnTracker
	// verifying holds, per producer, the guard of the transactional batch
	// being verified with its coordinator (guarded by appendMu).
	verifying map[int64]uint64
	verifySeq uint64
	// snapshots are the offsets of the producer state snapshots in the
	// log's directory, ascending (snapshot.go), and rebuilt what the
	// latest rebuild of the state did; both guarded by appendMu.
	snapshots []int64
	rebuilt   rebuildStats

	mu struct {
		sync.Mutex
		leaderEpoch int32
		config      config.Topic
		// epochs lists where each leader epoch starts in the log, oldest
		// first (Kafka's leader epoch cache).
		epochs []epochStart
	}
}

// New wraps an opened log. It rebuilds the producer state, the
// transactions and the leader epoch history from the newest usable
// snapshot and the batches after it (snapshot.go), or from every batch, so
// idempotent producers keep their sequence checks across restarts. It
// also adds back to the log's transaction index the aborted transactions
// from log.TxnIndexRebuildFrom() on.
func New(topic string, topicID [16]byte, index int32, log *storage.Log, leaderEpoch int32) (*Partition, error) {
	p := &Partition{Topic: topic, TopicID: topicID, Index: index, log: log}
	// No one else holds p yet, but the locks are taken as everywhere
	// else, so the fields' rules hold without exception.
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	snapshots, err := producerstate.ListSnapshotFiles(log.FS(), log.Dir())
	if err != nil {
		return nil, fmt.Errorf("opening %s-%d: %w", topic, index, err)
	}
	p.snapshots = snapshots
	if err := p.rebuildLocked(log.TxnIndexRebuildFrom(), true); err != nil {
		return nil, fmt.Errorf("rebuilding producer state of %s-%d: %w", topic, index, err)
	}
	p.pruneSnapshotsLocked()
	p.mu.leaderEpoch = leaderEpoch
	return p, nil
}

// Log is the partition's log, for reads and administration.
func (p *Partition) Log() *storage.Log { return p.log }

// LeaderEpoch is the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.leaderEpoch
}

// SetLeaderEpoch records a new leader epoch from the metadata image.
func (p *Partition) SetLeaderEpoch(epoch int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.leaderEpoch = epoch
}

// Config is the topic's effective configuration.
func (p *Partition) Config() config.Topic {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.config
}

// SetConfig applies a topic configuration, to the log as well.
func (p *Partition) SetConfig(cfg config.Topic, logCfg storage.Config) {
	p.mu.Lock()
	p.mu.config = cfg
	p.mu.Unlock()
	p.log.SetConfig(logCfg)
}

// AppendResult says where a produce landed.
type AppendResult struct {
	BaseOffset storage.Offset // offset of the batch's first record
	LastOffset storage.Offset // offset of the batch's last record
	// Duplicate is set when the batch was a retry of an already appended
	// one: nothing was written and the original offsets are returned.
	Duplicate bool
}

// Append appends one validated batch (a Produce request carries one per
// partition). An idempotent batch is checked against the producer state
// first; a retried batch is answered with its original offsets and not
// written again. The returned error is a kerr error when the producer state
// refuses the batch.
func (p *Partition) Append(batch []byte, h recordbatch.Header, nowMs int64) (AppendResult, error) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.appendClientLocked(batch, h, nowMs)
}

// appendClientLocked appends a producer's batch after the producer state's
// checks (appendMu held).
func (p *Partition) appendClientLocked(batch []byte, h recordbatch.Header, nowMs int64) (AppendResult, error) {
	d := p.producers.Check(h)
	if d.Err != nil {
		return AppendResult{}, d.Err
	}
	if d.Duplicate {
		return AppendResult{BaseOffset: storage.Offset(d.BaseOffset), LastOffset: storage.Offset(d.LastOffset), Duplicate: true}, nil
	}
	return p.appendLocked(batch, h, nowMs)
}

// appendLocked appends a batch the producer state accepted (appendMu held).
func (p *Partition) appendLocked(batch []byte, h recordbatch.Header, nowMs int64) (AppendResult, error) {
	epoch := p.LeaderEpoch()
	info, err := p.log.Append(batch, epoch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("appending to %s-%d: %w", p.Topic, p.Index, err)
	}
	p.snapshotAtRollLocked(info)
	p.mu.Lock()
	p.noteEpochLocked(epoch, info.BaseOffset)
	p.mu.Unlock()
	// Clients never send control batches (validation refuses them).
	if err := p.noteBatchLocked(h, int64(info.BaseOffset), nowMs, 0, nil); err != nil {
		return AppendResult{}, err
	}
	return AppendResult{BaseOffset: info.BaseOffset, LastOffset: info.LastOffset}, nil
}

// WaitDurable blocks until the log is fsynced through lastOffset, when the
// topic syncs every append. Concurrent callers share fsyncs (group commit).
func (p *Partition) WaitDurable(lastOffset storage.Offset) error {
	if !p.log.NeedsSyncPerAppend() {
		return nil
	}
	if err := p.log.Sync(lastOffset + 1); err != nil {
		return fmt.Errorf("syncing %s-%d: %w", p.Topic, p.Index, err)
	}
	return nil
}

// DurableEnd is how far the log is certain to survive a crash: its fsynced
// end when every append is synced before its acknowledgement, else its log
// end (flush.messages relaxes durability to the page cache, as Kafka's
// default).
func (p *Partition) DurableEnd() storage.Offset {
	if p.log.NeedsSyncPerAppend() {
		return p.log.DurableOffset()
	}
	return p.log.LogEndOffset()
}

// FlushIfDue applies flush.messages / flush.ms for relaxed topics.
func (p *Partition) FlushIfDue(now time.Time) error {
	return p.log.FlushIfDue(now)
}

// Producers describes the idempotent producers known to this partition.
func (p *Partition) Producers() []producerstate.ProducerInfo {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	return p.producers.Producers()
}

// ExpireProducers forgets idempotent producers idle since before
// cutoffMs (producer.id.expiration.ms), so their state does not grow
// forever. The retention pass calls it right after the log's retention, so
// it also deletes the snapshots that retention left below the log start.
func (p *Partition) ExpireProducers(cutoffMs int64) {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.producers.ExpireBefore(cutoffMs)
	p.pruneSnapshotsLocked()
}

// DeleteRecordsBefore advances the log start offset to offset
// (DeleteRecords) and returns the new log start. The caller keeps offset
// within what consumers may see.
func (p *Partition) DeleteRecordsBefore(offset storage.Offset) (storage.Offset, error) {
	if err := p.log.DeleteRecordsBefore(offset); err != nil {
		return 0, err
	}
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	p.pruneSnapshotsLocked()
	return p.log.LogStartOffset(), nil
}

// Close closes the log and then, when that left every batch durable,
// snapshots the producer state at the log end, so that the next open
// replays nothing.
func (p *Partition) Close() error {
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.log.Close(); err != nil {
		return err
	}
	if end := p.log.LogEndOffset(); p.log.DurableOffset() >= end {
		p.takeSnapshotLocked(end)
	}
	return nil
}

// LogEndOffset is the offset the next appended record gets; a follower
// fetches from it.
func (p *Partition) LogEndOffset() storage.Offset { return p.log.LogEndOffset() }

// LogStartOffset is the first offset still in the log.
func (p *Partition) LogStartOffset() storage.Offset { return p.log.LogStartOffset() }
