package metadata

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// MaxSnapshotBytes bounds a snapshot read on restore. A snapshot is the whole
// image as JSON; a cluster with a million partitions stays well below.
const MaxSnapshotBytes = 1 << 30

// snapshotVersion is written in every snapshot; restore refuses others.
const snapshotVersion = 0

// imageSnapshot is the encoding of an image, with everything sorted so that
// equal images encode to equal bytes (tests compare images this way).
//
//	{"version":0,"offset":N,"clusterId":"...","nextProducerId":N,
//	 "brokers":[{BrokerImage}...],"topics":[{TopicImage}...],
//	 "brokerConfigs":[{"name":"","configs":{...}}...]}
type imageSnapshot struct {
	Version        int                  `json:"version"`
	Offset         uint64               `json:"offset"`
	ClusterID      string               `json:"clusterId"`
	NextProducerID int64                `json:"nextProducerId"`
	Brokers        []BrokerImage        `json:"brokers"`
	Topics         []TopicImage         `json:"topics"`
	BrokerConfigs  []brokerConfigsEntry `json:"brokerConfigs"`
	Security       *securitySnapshot    `json:"security,omitempty"`
}

type brokerConfigsEntry struct {
	Name    string            `json:"name"`
	Configs map[string]string `json:"configs"`
}

// MarshalSnapshot encodes the image.
func (img *Image) MarshalSnapshot() ([]byte, error) {
	s := imageSnapshot{Version: snapshotVersion, Offset: img.offset, ClusterID: img.clusterID,
		NextProducerID: img.nextProducerID, Brokers: img.Brokers(), Topics: img.Topics(), Security: img.securitySnapshot()}
	for name, c := range img.brokerConfigs {
		s.BrokerConfigs = append(s.BrokerConfigs, brokerConfigsEntry{Name: name, Configs: c})
	}
	sort.Slice(s.BrokerConfigs, func(i, j int) bool { return s.BrokerConfigs[i].Name < s.BrokerConfigs[j].Name })
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding metadata snapshot: %w", err)
	}
	return b, nil
}

// readSnapshot decodes an image written by MarshalSnapshot, checking every
// partition as the record decoder would.
func readSnapshot(r io.Reader) (*Image, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading metadata snapshot: %w", err)
	}
	if len(b) > MaxSnapshotBytes {
		return nil, fmt.Errorf("%w: snapshot over %d bytes", ErrCorruptRecord, MaxSnapshotBytes)
	}
	var s imageSnapshot
	if err := strictUnmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorruptRecord, err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d not supported", ErrCorruptRecord, s.Version)
	}
	img := NewImage(s.ClusterID)
	img.offset, img.nextProducerID = s.Offset, s.NextProducerID
	for _, br := range s.Brokers {
		img.brokers[br.NodeID] = br
	}
	for i := range s.Topics {
		if err := addSnapshotTopic(img, &s.Topics[i]); err != nil {
			return nil, fmt.Errorf("%w: snapshot: %v", ErrCorruptRecord, err)
		}
	}
	for _, e := range s.BrokerConfigs {
		if len(e.Configs) > 0 {
			img.brokerConfigs[e.Name] = e.Configs
		}
	}
	if err := restoreSecurity(img, s.Security); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrCorruptRecord, err)
	}
	return img, nil
}

func addSnapshotTopic(img *Image, t *TopicImage) error {
	if err := check(TopicRecord{Name: t.Name, ID: t.ID}); err != nil {
		return err
	}
	if _, dup := img.topicNames[t.ID]; dup {
		return fmt.Errorf("duplicate topic id %x", t.ID)
	}
	if _, dup := img.collisions[collisionKey(t.Name)]; dup {
		return fmt.Errorf("duplicate or colliding topic %q", t.Name)
	}
	for i, p := range t.Partitions {
		if p.Partition != int32(i) {
			return fmt.Errorf("topic %q: partition %d at index %d", t.Name, p.Partition, i)
		}
		rec := PartitionRecord{TopicID: t.ID, Partition: p.Partition, Replicas: p.Replicas, ISR: p.ISR,
			Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch}
		if err := checkPartition(rec); err != nil {
			return fmt.Errorf("topic %q: %w", t.Name, err)
		}
	}
	if t.Configs == nil {
		t.Configs = map[string]string{}
	}
	img.topics[t.Name] = t
	img.topicNames[t.ID] = t.Name
	img.collisions[collisionKey(t.Name)] = t.Name
	return nil
}
