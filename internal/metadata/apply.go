package metadata

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrInconsistentRecord is wrapped when a record does not fit the image it
// is applied to (a partition of an unknown topic, a duplicate topic). The
// controller never writes such a record; every node skips the whole batch,
// so all nodes still agree.
var ErrInconsistentRecord = errors.New("metadata record inconsistent with image")

// Apply returns the image with rec applied. It never mutates img: unchanged
// topics are shared, the changed one is copied. On error it returns img
// itself and an error wrapping ErrInconsistentRecord. The new image keeps
// img's Offset; the FSM sets offsets.
func Apply(img *Image, rec Record) (*Image, error) {
	return applyBatch(img, []Record{rec}, img.offset)
}

// applyBatch applies records all or nothing, as the log entry at index.
func applyBatch(img *Image, records []Record, index uint64) (*Image, error) {
	b := builder{base: img, img: *img}
	b.img.offset = index
	for _, r := range records {
		if err := b.apply(r, index); err != nil {
			return img, fmt.Errorf("%w: %s: %w", ErrInconsistentRecord, r.recordType(), err)
		}
	}
	out := b.img
	return &out, nil
}

// builder copies each of the image's maps on its first write, and each topic
// on its first change, so a batch costs one copy per touched map and topic.
type builder struct {
	base *Image
	img  Image

	topicsCopied, namesCopied, collisionsCopied, brokersCopied, brokerConfigsCopied bool
	scramCopied, aclsCopied, quotasCopied                                           bool

	ownedTopics map[string]bool
}

func (b *builder) apply(r Record, index uint64) error {
	switch r := r.(type) {
	case RegisterBrokerRecord:
		b.registerBroker(r, index)
		return nil
	case TopicRecord:
		return b.createTopic(r)
	case PartitionRecord:
		return b.setPartition(r)
	case RemoveTopicRecord:
		return b.removeTopic(r)
	case ConfigRecord:
		return b.setConfig(r)
	case BrokerFenceRecord:
		return b.fenceBroker(r)
	case ProducerIDsRecord:
		if r.NextProducerID <= b.img.nextProducerID {
			return fmt.Errorf("next producer id %d does not advance from %d", r.NextProducerID, b.img.nextProducerID)
		}
		b.img.nextProducerID = r.NextProducerID
		return nil
	}
	if known, err := b.applySecurity(r); known {
		return err
	}
	return fmt.Errorf("unknown record %T", r)
}

func (b *builder) registerBroker(r RegisterBrokerRecord, index uint64) {
	if !b.brokersCopied {
		b.img.brokers, b.brokersCopied = maps.Clone(b.img.brokers), true
	}
	b.img.brokers[r.NodeID] = BrokerImage{NodeID: r.NodeID, Host: r.Host, Port: r.Port, Rack: r.Rack,
		Incarnation: r.Incarnation, Epoch: int64(index), Endpoints: r.Endpoints}
}

func (b *builder) fenceBroker(r BrokerFenceRecord) error {
	br, ok := b.img.brokers[r.NodeID]
	if !ok {
		return fmt.Errorf("fencing unregistered broker %d", r.NodeID)
	}
	if !b.brokersCopied {
		b.img.brokers, b.brokersCopied = maps.Clone(b.img.brokers), true
	}
	br.Fenced = r.Fenced
	b.img.brokers[r.NodeID] = br
	return nil
}

func (b *builder) createTopic(r TopicRecord) error {
	if _, ok := b.img.topics[r.Name]; ok {
		return fmt.Errorf("topic %q exists", r.Name)
	}
	if _, ok := b.img.topicNames[r.ID]; ok {
		return fmt.Errorf("topic id %x exists", r.ID)
	}
	if other, ok := b.img.collisions[collisionKey(r.Name)]; ok {
		return fmt.Errorf("topic %q collides with %q", r.Name, other)
	}
	b.copyTopicMaps()
	b.img.topics[r.Name] = &TopicImage{Name: r.Name, ID: r.ID, Configs: map[string]string{}}
	b.img.topicNames[r.ID] = r.Name
	b.img.collisions[collisionKey(r.Name)] = r.Name
	b.own(r.Name)
	return nil
}

func (b *builder) removeTopic(r RemoveTopicRecord) error {
	name, ok := b.img.topicNames[r.ID]
	if !ok {
		return fmt.Errorf("unknown topic id %x", r.ID)
	}
	b.copyTopicMaps()
	delete(b.img.topics, name)
	delete(b.img.topicNames, r.ID)
	delete(b.img.collisions, collisionKey(name))
	return nil
}

func (b *builder) setPartition(r PartitionRecord) error {
	name, ok := b.img.topicNames[r.TopicID]
	if !ok {
		return fmt.Errorf("partition %d of unknown topic id %x", r.Partition, r.TopicID)
	}
	t := b.mutableTopic(name)
	p := PartitionImage{Partition: r.Partition, Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR),
		Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch, Unclean: r.Unclean,
		AddingReplicas: slices.Clone(r.AddingReplicas), RemovingReplicas: slices.Clone(r.RemovingReplicas)}
	switch n := int32(len(t.Partitions)); {
	case r.Partition == n:
		t.Partitions = append(t.Partitions, p)
	case r.Partition < n:
		t.Partitions[r.Partition] = p
	default:
		return fmt.Errorf("partition %d of %q skips partitions from %d", r.Partition, name, n)
	}
	return nil
}

func (b *builder) setConfig(r ConfigRecord) error {
	if r.ResourceType == ResourceTopic {
		if _, ok := b.img.topics[r.ResourceName]; !ok {
			return fmt.Errorf("config of unknown topic %q", r.ResourceName)
		}
		t := b.mutableTopic(r.ResourceName)
		setOrDelete(t.Configs, r.Name, r.Value)
		return nil
	}
	if !b.brokerConfigsCopied {
		b.img.brokerConfigs, b.brokerConfigsCopied = maps.Clone(b.img.brokerConfigs), true
	}
	configs := maps.Clone(b.img.brokerConfigs[r.ResourceName])
	if configs == nil {
		configs = map[string]string{}
	}
	setOrDelete(configs, r.Name, r.Value)
	if len(configs) == 0 {
		delete(b.img.brokerConfigs, r.ResourceName)
	} else {
		b.img.brokerConfigs[r.ResourceName] = configs
	}
	return nil
}

func setOrDelete(m map[string]string, name string, value *string) {
	if value == nil {
		delete(m, name)
	} else {
		m[name] = *value
	}
}

func (b *builder) copyTopicMaps() {
	if !b.topicsCopied {
		b.img.topics, b.topicsCopied = maps.Clone(b.img.topics), true
	}
	if !b.namesCopied {
		b.img.topicNames, b.namesCopied = maps.Clone(b.img.topicNames), true
	}
	if !b.collisionsCopied {
		b.img.collisions, b.collisionsCopied = maps.Clone(b.img.collisions), true
	}
}

// mutableTopic returns a copy of the named topic owned by this builder,
// copying it from the base image on first use.
func (b *builder) mutableTopic(name string) *TopicImage {
	if b.ownedTopics[name] {
		return b.img.topics[name]
	}
	old := b.img.topics[name]
	t := &TopicImage{Name: old.Name, ID: old.ID, Partitions: slices.Clone(old.Partitions),
		Configs: maps.Clone(old.Configs)}
	if t.Configs == nil {
		t.Configs = map[string]string{}
	}
	if !b.topicsCopied {
		b.img.topics, b.topicsCopied = maps.Clone(b.img.topics), true
	}
	b.img.topics[name] = t
	b.own(name)
	return t
}

func (b *builder) own(name string) {
	if b.ownedTopics == nil {
		b.ownedTopics = map[string]bool{}
	}
	b.ownedTopics[name] = true
}
