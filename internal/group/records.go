package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record is one key and value of __consumer_offsets. A nil Value is a
// tombstone: compaction and loading delete the key.
type Record struct {
	Key, Value []byte
}

// Key versions Kafka writes: 0 and 1 are offset commits, 2 is group
// metadata. Later versions belong to KIP-848 records (consumer_records.go).
const (
	offsetCommitKeyVersion  = 1
	groupMetadataKeyVersion = 2
	// offsetCommitValueVersion 3 carries the leader epoch and no expire
	// timestamp, as Kafka writes it since 2.1.
	offsetCommitValueVersion = 3
	// groupMetadataValueVersion 3 carries static member instance ids.
	groupMetadataValueVersion = 3
)

// ErrBadRecord marks a __consumer_offsets record that does not decode.
var ErrBadRecord = errors.New("malformed __consumer_offsets record")

// offsetCommit is one committed offset as kept in memory.
type offsetCommit struct {
	Offset          int64
	LeaderEpoch     int32
	Metadata        string
	CommitTimestamp int64 // ms since the epoch
	// recordOffset is the log offset of the record that wrote it. A
	// transactional commit replaces a committed offset only from a later
	// record, as Kafka's OffsetAndMetadata.recordOffset decides, so that a
	// plain commit made after it wins.
	recordOffset int64
}

// topicPartition names one partition of a committed offset.
type topicPartition struct {
	Topic     string
	Partition int32
}

func offsetCommitRecord(groupID string, tp topicPartition, c offsetCommit) Record {
	key := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: groupID, Topic: tp.Topic, Partition: tp.Partition}
	value := kmsg.NewOffsetCommitValue()
	value.Version = offsetCommitValueVersion
	value.Offset, value.LeaderEpoch, value.Metadata = c.Offset, c.LeaderEpoch, c.Metadata
	value.CommitTimestamp = c.CommitTimestamp
	return Record{Key: key.AppendTo(nil), Value: value.AppendTo(nil)}
}

func offsetTombstone(groupID string, tp topicPartition) Record {
	key := kmsg.OffsetCommitKey{Version: offsetCommitKeyVersion, Group: groupID, Topic: tp.Topic, Partition: tp.Partition}
	return Record{Key: key.AppendTo(nil)}
}

func groupMetadataKey(groupID string) []byte {
	key := kmsg.GroupMetadataKey{Version: groupMetadataKeyVersion, Group: groupID}
	return key.AppendTo(nil)
}

func groupTombstone(groupID string) Record {
	return Record{Key: groupMetadataKey(groupID)}
}

// decodedRecord is a __consumer_offsets record after decoding: exactly one of
// offset or metadata is set, unless the record is of a kind the classic
// coordinator does not use (skip).
type decodedRecord struct {
	group string
	skip  bool

	offsetKey *topicPartition
	offset    *offsetCommit // nil for a tombstone

	metadataKey bool
	metadata    *kmsg.GroupMetadataValue // nil for a tombstone

	consumer *consumerRecord // a consumer (KIP-848) group record
}

// decodeRecord decodes one record read back from the log. It never panics
// or spins on bad bytes: kmsg's reader checks every length and (from
// v1.15.1) every tagged-field count against the bytes left.
func decodeRecord(key, value []byte) (decodedRecord, error) {
	if len(key) < 2 {
		return decodedRecord{}, fmt.Errorf("%w: key of %d bytes", ErrBadRecord, len(key))
	}
	switch version := int16(binary.BigEndian.Uint16(key)); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: offset commit key: %v", ErrBadRecord, err)
		}
		d := decodedRecord{group: k.Group, offsetKey: &topicPartition{Topic: k.Topic, Partition: k.Partition}}
		if value == nil {
			return d, nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: offset commit value of %s: %v", ErrBadRecord, k.Group, err)
		}
		epoch := v.LeaderEpoch
		if v.Version < 3 {
			epoch = -1
		}
		d.offset = &offsetCommit{Offset: v.Offset, LeaderEpoch: epoch, Metadata: v.Metadata, CommitTimestamp: v.CommitTimestamp}
		return d, nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: group metadata key: %v", ErrBadRecord, err)
		}
		d := decodedRecord{group: k.Group, metadataKey: true}
		if value == nil {
			return d, nil
		}
		v := kmsg.NewGroupMetadataValue()
		if err := v.ReadFrom(value); err != nil {
			return decodedRecord{}, fmt.Errorf("%w: group metadata value of %s: %v", ErrBadRecord, k.Group, err)
		}
		d.metadata = &v
		return d, nil
	case consumerGroupKeyVersion, consumerMemberKeyVersion, consumerTargetEpochKeyVersion,
		consumerTargetMemberKeyVersion, consumerCurrentKeyVersion:
		groupID, memberID, err := decodeConsumerKey(version, key)
		if err != nil {
			return decodedRecord{}, err
		}
		rec, err := decodeConsumerValue(version, memberID, value)
		if err != nil {
			return decodedRecord{}, fmt.Errorf("group %s: %w", groupID, err)
		}
		return decodedRecord{group: groupID, consumer: rec}, nil
	default:
		// Kafka's other records (consumer group partition metadata,
		// regular expressions, share and streams groups) are not used.
		return decodedRecord{skip: true}, nil
	}
}
