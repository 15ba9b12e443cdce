package metadata

import (
	"context"
	"fmt"
	"maps"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
)

// CreateTopicSpec is one topic of a CreateTopics request.
type CreateTopicSpec struct {
	Name string
	// NumPartitions is -1 for the broker default (num.partitions).
	NumPartitions int32
	// ReplicationFactor is -1 for the broker default (default.replication.factor).
	ReplicationFactor int16
	// Assignments, when given, place each partition's replicas; NumPartitions
	// and ReplicationFactor must then be -1.
	Assignments  map[int32][]int32
	Configs      map[string]string
	ValidateOnly bool
}

// createTopicLocal validates and creates a topic: one TopicRecord, a
// PartitionRecord per partition and a ConfigRecord per config, in one
// atomic log entry. With ValidateOnly it returns the topic it would create.
func (n *Node) createTopicLocal(ctx context.Context, spec CreateTopicSpec) (TopicImage, error) {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return TopicImage{}, err
	}
	defer unlock()
	img := n.Image()
	records, err := n.planTopic(img, spec)
	if err != nil {
		return TopicImage{}, err
	}
	if spec.ValidateOnly {
		planned, err := applyBatch(img, records, img.offset)
		if err != nil {
			return TopicImage{}, newError(kerr.UnknownServerError, err.Error())
		}
		t, _ := planned.Topic(spec.Name)
		return t, nil
	}
	if err := n.write(ctx, records); err != nil {
		return TopicImage{}, err
	}
	t, ok := n.Image().Topic(spec.Name)
	if !ok {
		return TopicImage{}, newError(kerr.UnknownServerError, "topic vanished after creation")
	}
	return t, nil
}

// planTopic is the pure part of CreateTopic: validation and the records.
func (n *Node) planTopic(img *Image, spec CreateTopicSpec) ([]Record, error) {
	if err := ValidateTopicName(spec.Name); err != nil {
		return nil, err
	}
	if _, exists := img.topics[spec.Name]; exists {
		return nil, newError(kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", spec.Name))
	}
	if other, ok := img.collisions[collisionKey(spec.Name)]; ok {
		return nil, newError(kerr.InvalidTopicException,
			fmt.Sprintf("topic %q collides with existing topic %q: '.' and '_' are interchangeable", spec.Name, other))
	}
	if err := checkTopicConfigs(spec.Configs); err != nil {
		return nil, err
	}
	var assignments [][]int32
	var err error
	if len(spec.Assignments) > 0 {
		assignments, err = explicitAssignments(img, spec)
	} else {
		assignments, err = n.defaultAssignments(img, spec)
	}
	if err != nil {
		return nil, err
	}
	id := newTopicID(img)
	records := make([]Record, 0, 1+len(assignments)+len(spec.Configs))
	records = append(records, TopicRecord{Name: spec.Name, ID: id})
	partitions, err := partitionRecords(img, id, 0, assignments)
	if err != nil {
		return nil, err
	}
	records = append(records, partitions...)
	return append(records, configRecords(ResourceTopic, spec.Name, spec.Configs)...), nil
}

func checkTopicConfigs(configs map[string]string) error {
	if len(configs) > maxConfigsPerOperation {
		return newError(kerr.InvalidConfig, fmt.Sprintf("%d configs exceed the limit of %d", len(configs), maxConfigsPerOperation))
	}
	for _, name := range sortedKeys(configs) {
		if err := config.ValidateTopicConfig(name, configs[name]); err != nil {
			return newError(kerr.InvalidConfig, err.Error())
		}
	}
	return nil
}

func (n *Node) defaultAssignments(img *Image, spec CreateTopicSpec) ([][]int32, error) {
	partitions, rf := spec.NumPartitions, int32(spec.ReplicationFactor)
	if partitions == -1 {
		partitions = n.opts.Broker.NumPartitions
	}
	if rf == -1 {
		rf = int32(n.opts.Broker.DefaultReplicationFactor)
	}
	if partitions <= 0 {
		return nil, newError(kerr.InvalidPartitions, fmt.Sprintf("number of partitions must be larger than 0, got %d", partitions))
	}
	if partitions > MaxPartitionsPerTopic {
		return nil, newError(kerr.InvalidPartitions, fmt.Sprintf("%d partitions exceed the limit of %d", partitions, MaxPartitionsPerTopic))
	}
	if rf <= 0 {
		return nil, newError(kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor must be larger than 0, got %d", rf))
	}
	return placeNewPartitions(img, spec.Name, 0, partitions, int(rf))
}

func explicitAssignments(img *Image, spec CreateTopicSpec) ([][]int32, error) {
	if spec.NumPartitions != -1 || spec.ReplicationFactor != -1 {
		return nil, newError(kerr.InvalidRequest,
			"both partition count or replication factor and replica assignments were set")
	}
	if len(spec.Assignments) > MaxPartitionsPerTopic {
		return nil, newError(kerr.InvalidPartitions, fmt.Sprintf("%d partitions exceed the limit of %d", len(spec.Assignments), MaxPartitionsPerTopic))
	}
	out := make([][]int32, len(spec.Assignments))
	for p := range int32(len(out)) {
		replicas, ok := spec.Assignments[p]
		if !ok {
			return nil, newError(kerr.InvalidReplicaAssignment,
				fmt.Sprintf("partitions must be numbered consecutively from 0; partition %d is missing", p))
		}
		out[p] = replicas
	}
	return out, checkAssignments(img, out, len(out[0]))
}

// checkAssignments checks explicit replica lists: non-empty, all the same
// length, no broker twice, every broker registered.
func checkAssignments(img *Image, assignments [][]int32, rf int) error {
	for p, replicas := range assignments {
		switch {
		case len(replicas) == 0:
			return newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("partition %d has no replicas", p))
		case len(replicas) != rf:
			return newError(kerr.InvalidReplicaAssignment,
				fmt.Sprintf("partition %d has %d replicas, others have %d", p, len(replicas), rf))
		case len(replicas) > MaxReplicas:
			return newError(kerr.InvalidReplicationFactor, fmt.Sprintf("more than %d replicas", MaxReplicas))
		case !distinct(replicas):
			return newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("partition %d lists a broker twice or a negative id", p))
		}
		for _, id := range replicas {
			if _, ok := img.brokers[id]; !ok {
				return newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("partition %d: broker %d is not registered", p, id))
			}
		}
	}
	return nil
}

// partitionRecords creates partitions first.. with the given replicas. The
// ISR is the unfenced replicas and the leader the first of them, as Kafka
// does for a manual assignment that names a fenced broker; a partition
// without any unfenced replica is refused.
func partitionRecords(img *Image, id [16]byte, first int32, assignments [][]int32) ([]Record, error) {
	live := liveBrokers(img)
	out := make([]Record, 0, len(assignments))
	for i, replicas := range assignments {
		isr := make([]int32, 0, len(replicas))
		for _, r := range replicas {
			if live(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			return nil, newError(kerr.InvalidReplicaAssignment,
				fmt.Sprintf("all replicas of partition %d are fenced", first+int32(i)))
		}
		out = append(out, PartitionRecord{TopicID: id, Partition: first + int32(i), Replicas: replicas,
			ISR: isr, Leader: isr[0]})
	}
	return out, nil
}

func configRecords(rt ResourceType, name string, configs map[string]string) []Record {
	out := make([]Record, 0, len(configs))
	for _, k := range sortedKeys(configs) {
		v := configs[k]
		out = append(out, ConfigRecord{ResourceType: rt, ResourceName: name, Name: k, Value: &v})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// deleteTopicLocal deletes a topic by name, or by id when name is empty.
func (n *Node) deleteTopicLocal(ctx context.Context, name string, id [16]byte) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	img := n.Image()
	var t TopicImage
	var ok bool
	if name != "" {
		if t, ok = img.Topic(name); !ok {
			return newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", name))
		}
	} else if t, ok = img.TopicByID(id); !ok {
		return newError(kerr.UnknownTopicID, fmt.Sprintf("topic id %x does not exist", id))
	}
	if !n.opts.Broker.DeleteTopicEnable {
		return newError(kerr.TopicDeletionDisabled, "topic deletion is disabled (delete.topic.enable=false)")
	}
	return n.write(ctx, []Record{RemoveTopicRecord{ID: t.ID}})
}

// createPartitionsLocal grows a topic to newTotal partitions. assignments, when
// given, place the new partitions' replicas (one list per new partition).
func (n *Node) createPartitionsLocal(ctx context.Context, name string, newTotal int32, assignments [][]int32, validateOnly bool) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	img := n.Image()
	t, ok := img.Topic(name)
	if !ok {
		return newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", name))
	}
	current := int32(len(t.Partitions))
	switch {
	case newTotal < current:
		return newError(kerr.InvalidPartitions, fmt.Sprintf("topic %q has %d partitions; the count cannot decrease to %d", name, current, newTotal))
	case newTotal == current:
		return newError(kerr.InvalidPartitions, fmt.Sprintf("topic %q already has %d partitions", name, current))
	case newTotal > MaxPartitionsPerTopic:
		return newError(kerr.InvalidPartitions, fmt.Sprintf("%d partitions exceed the limit of %d", newTotal, MaxPartitionsPerTopic))
	}
	rf := 1
	if current > 0 {
		rf = len(t.Partitions[0].Replicas)
	}
	if assignments == nil {
		var err error
		if assignments, err = placeNewPartitions(img, name, current, newTotal-current, rf); err != nil {
			return err
		}
	} else {
		if int32(len(assignments)) != newTotal-current {
			return newError(kerr.InvalidReplicaAssignment,
				fmt.Sprintf("%d assignments given for %d new partitions", len(assignments), newTotal-current))
		}
		if err := checkAssignments(img, assignments, rf); err != nil {
			return err
		}
	}
	records, err := partitionRecords(img, t.ID, current, assignments)
	if err != nil || validateOnly {
		return err
	}
	return n.write(ctx, records)
}
