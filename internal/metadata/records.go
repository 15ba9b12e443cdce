package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// Record is one metadata change. The concrete types are the *Record structs
// of this file.
type Record interface {
	recordType() string
}

// RegisterBrokerRecord registers (or re-registers) a broker. Incarnation is a
// random id chosen at each broker start, so a restart is told from a second
// process claiming the same node id.
type RegisterBrokerRecord struct {
	NodeID      int32    `json:"nodeId"`
	Host        string   `json:"host"`
	Port        int32    `json:"port"`
	Rack        string   `json:"rack,omitempty"`
	Incarnation [16]byte `json:"incarnation"`
	// Endpoints are the broker's listeners, as Kafka's
	// RegisterBrokerRecord endpoints; Host and Port are its inter-broker
	// listener's. Records written before listeners had names have none:
	// Host and Port serve every client then.
	Endpoints []BrokerEndpoint `json:"endpoints,omitempty"`
}

// BrokerEndpoint is one listener of a broker: where clients that came in
// on the listener called Name are sent.
type BrokerEndpoint struct {
	Name             string `json:"name"`
	Host             string `json:"host"`
	Port             int32  `json:"port"`
	SecurityProtocol int16  `json:"securityProtocol"`
}

// maxBrokerEndpoints bounds a registration's listeners.
const maxBrokerEndpoints = 16

// TopicRecord creates a topic; its partitions follow as PartitionRecords.
type TopicRecord struct {
	Name string   `json:"name"`
	ID   [16]byte `json:"id"`
}

// PartitionRecord creates a partition or replaces its whole state. Partition
// equal to the topic's partition count appends a partition; a smaller one
// replaces the state of that partition.
type PartitionRecord struct {
	TopicID        [16]byte `json:"topicId"`
	Partition      int32    `json:"partition"`
	Replicas       []int32  `json:"replicas"`
	ISR            []int32  `json:"isr"`
	Leader         int32    `json:"leader"`
	LeaderEpoch    int32    `json:"leaderEpoch"`
	PartitionEpoch int32    `json:"partitionEpoch"`
	// Unclean marks a leader elected from outside the ISR
	// (unclean.leader.election.enable): records the ISR had committed may
	// be missing from its log. It stays set until the next leader change.
	Unclean bool `json:"unclean,omitempty"`
	// AddingReplicas and RemovingReplicas describe a reassignment in
	// progress (KIP-455): Replicas holds the target replicas first and the
	// ones being removed after them until the adding ones joined the ISR.
	AddingReplicas   []int32 `json:"addingReplicas,omitempty"`
	RemovingReplicas []int32 `json:"removingReplicas,omitempty"`
}

// RemoveTopicRecord deletes a topic, its partitions and its configs.
type RemoveTopicRecord struct {
	ID [16]byte `json:"id"`
}

// ConfigRecord sets (Value non-nil) or deletes (Value nil) one config of a
// topic or broker. A broker's ResourceName is its node id, or "" for the
// cluster-wide default.
type ConfigRecord struct {
	ResourceType ResourceType `json:"resourceType"`
	ResourceName string       `json:"resourceName"`
	Name         string       `json:"name"`
	Value        *string      `json:"value"`
}

// ProducerIDsRecord hands out the block of producer ids below NextProducerID,
// as Kafka's ProducerIdsRecord: the next block starts at NextProducerID.
type ProducerIDsRecord struct {
	NextProducerID int64 `json:"nextProducerId"`
}

// BrokerFenceRecord fences a broker (Fenced) or unfences it, as Kafka's
// FenceBrokerRecord and UnfenceBrokerRecord: the controller writes it when
// a broker's heartbeats stop or resume, or at its controlled shutdown.
type BrokerFenceRecord struct {
	NodeID int32 `json:"nodeId"`
	Fenced bool  `json:"fenced"`
}

// ResourceType names what a ConfigRecord configures.
type ResourceType string

// The configurable resources.
const (
	ResourceTopic  ResourceType = "topic"
	ResourceBroker ResourceType = "broker"
)

func (RegisterBrokerRecord) recordType() string { return "registerBroker" }
func (TopicRecord) recordType() string          { return "topic" }
func (PartitionRecord) recordType() string      { return "partition" }
func (RemoveTopicRecord) recordType() string    { return "removeTopic" }
func (ConfigRecord) recordType() string         { return "config" }
func (ProducerIDsRecord) recordType() string    { return "producerIds" }
func (BrokerFenceRecord) recordType() string    { return "brokerFence" }

// Limits on decoded records. A record comes from the Raft log, written by a
// controller of the same code, but a corrupt or hostile log must give an
// error, never a huge allocation.
const (
	// MaxBatchBytes bounds an encoded batch: a topic of MaxPartitionsPerTopic
	// partitions with MaxReplicas replicas each fits with room to spare.
	MaxBatchBytes = 64 << 20
	// MaxBatchRecords bounds the records of one batch.
	MaxBatchRecords = MaxPartitionsPerTopic + 1 + maxConfigsPerOperation
	// MaxReplicas bounds a partition's replica list.
	MaxReplicas = 256
	// MaxPartitionsPerTopic bounds a topic's partition count.
	MaxPartitionsPerTopic = 100_000
	// maxNameBytes bounds host, rack and config names and values.
	maxNameBytes = 64 << 10
	// maxConfigsPerOperation bounds the configs one operation may write.
	maxConfigsPerOperation = 1000
)

// recordVersion is the version every record is written with. Decode refuses
// a higher one: a node must not apply a change it does not understand.
const recordVersion = 0

// ErrCorruptRecord is wrapped by every decoding error.
var ErrCorruptRecord = errors.New("corrupt metadata record")

// envelope is the encoding of one record:
//
//	{"type":"topic","version":0,"data":{"name":"orders","id":[...16 bytes]}}
//
// JSON keeps the log readable with standard tools; the type tag selects the
// struct, and the version lets a later fjord add fields and refuse to apply
// records it does not understand.
type envelope struct {
	Type    string          `json:"type"`
	Version int16           `json:"version"`
	Data    json.RawMessage `json:"data"`
}

// Encode encodes one record.
func Encode(r Record) ([]byte, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding %s record: %w", r.recordType(), err)
	}
	return json.Marshal(envelope{Type: r.recordType(), Version: recordVersion, Data: data})
}

// EncodeBatch encodes records as one Raft log entry: a JSON array of
// envelopes.
func EncodeBatch(records []Record) ([]byte, error) {
	envs := make([]json.RawMessage, 0, len(records))
	for _, r := range records {
		b, err := Encode(r)
		if err != nil {
			return nil, err
		}
		envs = append(envs, b)
	}
	b, err := json.Marshal(envs)
	if err != nil {
		return nil, fmt.Errorf("encoding record batch: %w", err)
	}
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("record batch of %d bytes exceeds %d", len(b), MaxBatchBytes)
	}
	return b, nil
}

// Decode decodes and checks one record.
func Decode(b []byte) (Record, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorruptRecord, len(b))
	}
	var env envelope
	if err := strictUnmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptRecord, err)
	}
	if env.Version < 0 || env.Version > recordVersion {
		return nil, fmt.Errorf("%w: %s record version %d not supported", ErrCorruptRecord, env.Type, env.Version)
	}
	r, err := decodeData(env.Type, env.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s record: %v", ErrCorruptRecord, env.Type, err)
	}
	if err := check(r); err != nil {
		return nil, fmt.Errorf("%w: %s record: %v", ErrCorruptRecord, env.Type, err)
	}
	return r, nil
}

// DecodeBatch decodes a Raft log entry written by EncodeBatch.
func DecodeBatch(b []byte) ([]Record, error) {
	if len(b) > MaxBatchBytes {
		return nil, fmt.Errorf("%w: batch of %d bytes", ErrCorruptRecord, len(b))
	}
	var envs []json.RawMessage
	if err := strictUnmarshal(b, &envs); err != nil {
		return nil, fmt.Errorf("%w: batch: %v", ErrCorruptRecord, err)
	}
	if len(envs) == 0 || len(envs) > MaxBatchRecords {
		return nil, fmt.Errorf("%w: batch of %d records", ErrCorruptRecord, len(envs))
	}
	out := make([]Record, 0, len(envs))
	for i, e := range envs {
		r, err := Decode(e)
		if err != nil {
			return nil, fmt.Errorf("record %d of batch: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func decodeData(typ string, data json.RawMessage) (Record, error) {
	switch typ {
	case "registerBroker":
		return decodeAs[RegisterBrokerRecord](data)
	case "topic":
		return decodeAs[TopicRecord](data)
	case "partition":
		return decodeAs[PartitionRecord](data)
	case "removeTopic":
		return decodeAs[RemoveTopicRecord](data)
	case "config":
		return decodeAs[ConfigRecord](data)
	case "producerIds":
		return decodeAs[ProducerIDsRecord](data)
	case "brokerFence":
		return decodeAs[BrokerFenceRecord](data)
	}
	if r, known, err := decodeSecurityData(typ, data); known {
		return r, err
	}
	return nil, fmt.Errorf("unknown record type %q", typ)
}

func decodeAs[T Record](data json.RawMessage) (Record, error) {
	var r T
	if err := strictUnmarshal(data, &r); err != nil {
		return nil, err
	}
	return r, nil
}

// strictUnmarshal refuses unknown fields and trailing data, so that a record
// from a newer fjord is not silently half-applied.
func strictUnmarshal(b []byte, v any) error { return controllerwire.StrictUnmarshal(b, v) }

// check validates a decoded record's fields against the limits.
func check(r Record) error {
	switch r := r.(type) {
	case RegisterBrokerRecord:
		if r.NodeID < 0 || r.Port < 0 || r.Port > 65535 || len(r.Host) > maxNameBytes || len(r.Rack) > maxNameBytes {
			return errors.New("node id, port, host or rack out of range")
		}
		if len(r.Endpoints) > maxBrokerEndpoints {
			return fmt.Errorf("%d endpoints, more than %d", len(r.Endpoints), maxBrokerEndpoints)
		}
		for _, e := range r.Endpoints {
			if e.Name == "" || len(e.Name) > maxNameBytes || e.Host == "" || len(e.Host) > maxNameBytes || e.Port <= 0 || e.Port > 65535 || e.SecurityProtocol < 0 || e.SecurityProtocol > 3 {
				return fmt.Errorf("endpoint %q out of range", e.Name)
			}
		}
	case TopicRecord:
		if err := ValidateTopicName(r.Name); err != nil {
			return err
		}
		if r.ID == ([16]byte{}) {
			return errors.New("zero topic id")
		}
	case PartitionRecord:
		return checkPartition(r)
	case ConfigRecord:
		if r.ResourceType != ResourceTopic && r.ResourceType != ResourceBroker {
			return fmt.Errorf("unknown resource type %q", r.ResourceType)
		}
		if r.Name == "" || len(r.Name) > maxNameBytes || len(r.ResourceName) > maxNameBytes ||
			(r.Value != nil && len(*r.Value) > maxNameBytes) {
			return errors.New("config name or value out of range")
		}
	case BrokerFenceRecord:
		if r.NodeID < 0 {
			return errors.New("negative node id")
		}
	case ProducerIDsRecord:
		if r.NextProducerID < 0 {
			return errors.New("negative next producer id")
		}
	default:
		if _, err := checkSecurity(r); err != nil {
			return err
		}
	}
	return nil
}

func checkPartition(r PartitionRecord) error {
	if r.Partition < 0 || r.Partition >= MaxPartitionsPerTopic {
		return fmt.Errorf("partition %d out of range", r.Partition)
	}
	if len(r.Replicas) == 0 || len(r.Replicas) > MaxReplicas || len(r.ISR) > len(r.Replicas) {
		return fmt.Errorf("%d replicas, %d in sync", len(r.Replicas), len(r.ISR))
	}
	if !distinct(r.Replicas) || !distinct(r.ISR) {
		return errors.New("repeated replica")
	}
	for _, id := range r.ISR {
		if !slices.Contains(r.Replicas, id) {
			return fmt.Errorf("in-sync replica %d is not a replica", id)
		}
	}
	if r.Leader != -1 && !slices.Contains(r.ISR, r.Leader) {
		return fmt.Errorf("leader %d is not in sync", r.Leader)
	}
	if r.LeaderEpoch < 0 || r.PartitionEpoch < 0 {
		return errors.New("negative epoch")
	}
	return nil
}

func distinct(ids []int32) bool {
	seen := make(map[int32]bool, len(ids))
	for _, id := range ids {
		if id < 0 || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}
