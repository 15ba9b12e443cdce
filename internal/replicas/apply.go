package replicas

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/partition"
	"github.com/fjordhq/fjord/internal/replication"
	"github.com/fjordhq/fjord/internal/storage"
)

// partitionMetadataFile ties a partition directory to its topic id, as
// Kafka's partition.metadata does, so that a directory left by a deleted
// topic is never mistaken for a new topic of the same name.
const partitionMetadataFile = "partition.metadata"

// deletedSuffix marks a partition directory whose topic was deleted; it is
// renamed first (atomic) and removed after, so a crash between the two steps
// leaves a directory that start-up removes.
const deletedSuffix = "-delete"

// applyImage opens partitions that appeared, closes and removes those of
// deleted topics, and pushes config changes to logs.
func (m *Manager) applyImage(old, img *metadata.Image) error {
	props := m.brokerProps(img)
	var errs []error
	present := map[string]bool{}
	for _, t := range img.Topics() {
		present[t.Name] = true
		if err := m.syncTopic(t, props); err != nil {
			errs = append(errs, err)
		}
	}
	m.mu.Lock()
	var removed []string
	for name := range m.mu.partitions {
		if !present[name] {
			removed = append(removed, name)
		}
	}
	m.mu.Unlock()
	for _, name := range removed {
		if err := m.removeTopic(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncTopic brings the local replicas of one topic in line with the image.
func (m *Manager) syncTopic(t metadata.TopicImage, props map[string]string) error {
	m.mu.RLock()
	current := m.mu.partitions[t.Name]
	currentID, known := m.mu.topicIDs[t.Name]
	m.mu.RUnlock()
	if known && currentID != t.ID {
		// Deleted and re-created under the same name between two images.
		if err := m.removeTopic(t.Name); err != nil {
			return err
		}
		current = nil
	}
	topicCfg, err := config.ResolveTopic(props, t.Configs)
	if err != nil {
		return fmt.Errorf("topic %s config: %w", t.Name, err)
	}
	logCfg := storageConfig(topicCfg)
	parts := make([]*Replica, len(t.Partitions))
	copy(parts, current)
	var errs []error
	opened := false
	var gone []*Replica
	for i, pi := range t.Partitions {
		if parts[i] != nil && !slices.Contains(pi.Replicas, m.opts.NodeID) {
			// Reassigned away from this broker: its replica is removed.
			gone = append(gone, parts[i])
			parts[i] = nil
			continue
		}
		if parts[i] != nil {
			parts[i].SetConfig(topicCfg, logCfg)
			parts[i].SetLeaderEpoch(pi.LeaderEpoch)
			continue
		}
		if !slices.Contains(pi.Replicas, m.opts.NodeID) {
			continue
		}
		p, err := m.openPartition(t, int32(i), pi.LeaderEpoch, logCfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.SetConfig(topicCfg, logCfg)
		m.loadEpochs(p)
		parts[i] = p
		opened = true
	}
	if opened {
		// New partition directories are entries of the data directory;
		// without this fsync a power loss could lose a whole partition
		// whose records were acknowledged. One fsync covers the topic.
		if err := m.opts.FS.SyncDir(m.opts.DataDir); err != nil {
			errs = append(errs, fmt.Errorf("syncing %s: %w", m.opts.DataDir, err))
		}
	}
	m.mu.Lock()
	m.mu.partitions[t.Name] = parts
	m.mu.topicIDs[t.Name] = t.ID
	m.mu.Unlock()
	for i, p := range parts {
		if p != nil {
			m.applyRole(t, p, t.Partitions[i])
		}
	}
	for _, p := range gone {
		if err := m.removeReplica(t, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openPartition opens (creating or recovering) a partition's log. Failing
// to create its files or read its log fails the log directory: the disk,
// not the partition, is what went wrong.
func (m *Manager) openPartition(t metadata.TopicImage, index, leaderEpoch int32, cfg storage.Config) (*Replica, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("topic %s: %w", t.Name, err)
	}
	dir := filepath.Join(m.opts.DataDir, PartitionDirName(t.Name, index))
	if err := m.opts.FS.MkdirAll(dir, 0o755); err != nil {
		return nil, m.diskError(fmt.Errorf("creating %s: %w", dir, err))
	}
	if err := m.writePartitionMetadata(dir, t.ID); err != nil {
		return nil, m.diskError(err)
	}
	log, err := storage.Open(storage.Options{FS: m.opts.FS, Dir: dir, Config: cfg, Now: m.now, Logger: m.logger,
		OnFailure: m.failLogDir, FlushObserver: m.opts.FlushObserver})
	if err != nil {
		return nil, m.diskError(fmt.Errorf("opening log %s: %w", dir, err))
	}
	p, err := partition.New(t.Name, t.ID, index, log, leaderEpoch)
	if err != nil {
		log.Close()
		return nil, err
	}
	// A replica resumes the high watermark it checkpointed (replicas
	// opened at start only), else starts at its log start: records above
	// the true high watermark may not be committed, and its role raises it
	// (the leader state, or the leader's fetch responses). A checkpoint is
	// never ahead of what was committed, so a restarted replica that
	// becomes leader exposes nothing a later leader may lack.
	return newReplica(p, m.startHighWatermarks[replicaKey{t.Name, index}]), nil
}

func (m *Manager) writePartitionMetadata(dir string, id [16]byte) error {
	path := filepath.Join(dir, partitionMetadataFile)
	want := "version: 0\ntopic_id: " + hex.EncodeToString(id[:]) + "\n"
	if got, err := m.readSmallFile(path); err == nil && got == want {
		return nil
	}
	f, err := m.opts.FS.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := io.WriteString(f, want); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return m.opts.FS.SyncDir(dir)
}

// maxPartitionMetadataBytes bounds the read of a partition.metadata file.
const maxPartitionMetadataBytes = 4096

func (m *Manager) readSmallFile(path string) (string, error) {
	f, err := m.opts.FS.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return "", err
	}
	if size > maxPartitionMetadataBytes {
		return "", fmt.Errorf("%s is %d bytes", path, size)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(buf), nil
}

// removeTopic closes the local replicas of a topic and deletes their data.
func (m *Manager) removeTopic(name string) error {
	m.mu.Lock()
	parts := m.mu.partitions[name]
	id := m.mu.topicIDs[name]
	delete(m.mu.partitions, name)
	delete(m.mu.topicIDs, name)
	m.mu.Unlock()
	var errs []error
	for i, p := range parts {
		if p == nil {
			continue
		}
		m.dropLeaderRole(p)
		m.fetcher.Unfollow(replication.TopicPartition{Topic: name, TopicID: id, Partition: int32(i)})
		if err := p.Close(); err != nil {
			errs = append(errs, err)
		}
		dir := filepath.Join(m.opts.DataDir, PartitionDirName(name, int32(i)))
		if err := m.deleteDir(dir, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) deleteDir(dir string, id [16]byte) error {
	doomed := dir + "." + hex.EncodeToString(id[:]) + deletedSuffix
	if err := m.opts.FS.Rename(dir, doomed); err != nil {
		return m.diskError(fmt.Errorf("renaming %s for deletion: %w", dir, err))
	}
	if err := m.opts.FS.SyncDir(m.opts.DataDir); err != nil {
		return m.diskError(fmt.Errorf("syncing %s: %w", m.opts.DataDir, err))
	}
	if err := m.opts.FS.RemoveAll(doomed); err != nil {
		return m.diskError(fmt.Errorf("removing %s: %w", doomed, err))
	}
	return nil
}

// removeStrayLogs deletes directories of deleted topics: those renamed for
// deletion, and those whose topic id is not in the image.
func (m *Manager) removeStrayLogs(img *metadata.Image) error {
	names, err := m.opts.FS.ReadDir(m.opts.DataDir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", m.opts.DataDir, err)
	}
	for _, name := range names {
		path := filepath.Join(m.opts.DataDir, name)
		if strings.HasSuffix(name, deletedSuffix) {
			if err := m.opts.FS.RemoveAll(path); err != nil {
				return err
			}
			continue
		}
		content, err := m.readSmallFile(filepath.Join(path, partitionMetadataFile))
		if err != nil {
			continue // not a partition directory (meta/, or not ours)
		}
		idHex := strings.TrimSpace(content[strings.LastIndex(content, ":")+1:])
		cut := strings.LastIndex(name, "-")
		if cut < 0 {
			continue
		}
		t, ok := img.Topic(name[:cut])
		if ok && hex.EncodeToString(t.ID[:]) == idHex {
			continue
		}
		m.logger.Info("removing log of a deleted topic", "dir", name)
		if err := m.opts.FS.RemoveAll(path); err != nil {
			return err
		}
	}
	return nil
}

// storageConfig converts a topic's Kafka config to the log's settings.
func storageConfig(t config.Topic) storage.Config {
	cfg := storage.DefaultConfig()
	cfg.SegmentBytes = t.SegmentBytes
	cfg.SegmentDuration = millis(t.SegmentMs)
	cfg.SegmentIndexBytes = t.SegmentIndexBytes
	cfg.IndexIntervalBytes = t.IndexIntervalBytes
	cfg.RetentionBytes = t.RetentionBytes
	cfg.RetentionDuration = millis(t.RetentionMs)
	if !t.Delete() {
		// Compacted-only topics never delete by time or size.
		cfg.RetentionBytes = -1
		cfg.RetentionDuration = -1
	}
	cfg.FlushMessages = t.FlushMessages
	cfg.FlushInterval = millis(t.FlushMs)
	return cfg
}

// millis converts a Kafka millisecond config to a Duration, saturating
// Long.MAX_VALUE-style "never" values instead of overflowing.
func millis(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// removeReplica stops and deletes a local replica the partition no longer
// assigns to this broker.
func (m *Manager) removeReplica(t metadata.TopicImage, p *Replica) error {
	m.dropLeaderRole(p)
	m.fetcher.Unfollow(replication.TopicPartition{Topic: t.Name, TopicID: t.ID, Partition: p.Index})
	if err := p.Close(); err != nil {
		return err
	}
	m.logger.Info("replica reassigned away", "topic", t.Name, "partition", p.Index)
	return m.deleteDir(filepath.Join(m.opts.DataDir, PartitionDirName(t.Name, p.Index)), t.ID)
}
