package txn

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The __transaction_state records, as Kafka writes them (TransactionLog):
//
//	key   = int16 version (0) | string transactional id
//	value = int16 version (1; 0 readable) | int64 producer id | int16 epoch
//	        | int32 timeout ms | int8 state
//	        | [topic, [partition]] (null when Empty)
//	        | int64 last update ms | int64 start ms (-1: none)
//	        | v1 tagged fields: 0 previous producer id, 1 next producer id,
//	          2 client transaction version, 3 next producer epoch
//
// A null value is a tombstone: the id expired. kmsg's TxnMetadataKey and
// TxnMetadataValue encode and decode them.

const (
	keyVersion   int16 = 0
	valueVersion int16 = 1
	// maxValueBytes bounds one value: Kafka's message.max.bytes default
	// (1048588) less room for the batch header. A transaction with more
	// partitions than fit is refused as Kafka answers MESSAGE_TOO_LARGE:
	// UNKNOWN_SERVER_ERROR.
	maxValueBytes = 1 << 20
)

// ErrCorruptRecord marks a __transaction_state record that cannot be
// decoded; loading logs and skips it.
var ErrCorruptRecord = errors.New("corrupt __transaction_state record")

// errUnknownKey marks a key of another version, which Kafka skips too.
var errUnknownKey = fmt.Errorf("%w: unknown key version", ErrCorruptRecord)

func encodeKey(id string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version, k.TransactionalID = keyVersion, id
	return k.AppendTo(nil)
}

func encodeValue(s *txnState) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = valueVersion
	v.ProducerID, v.ProducerEpoch = s.producerID, s.producerEpoch
	v.TimeoutMillis = int32(min(s.timeout.Milliseconds(), 1<<31-1))
	v.State = s.state
	if s.state != kmsg.TransactionStateEmpty {
		v.Topics = encodeTopics(s.partitions)
	}
	v.LastUpdateTimestamp = toMillis(s.lastUpdate)
	v.StartTimestamp = toMillis(s.startTime)
	v.PreviousProducerID, v.NextProducerID = s.previousProducerID, s.nextProducerID
	v.ClientTransactionVersion, v.NextProducerEpoch = s.clientTransactionVersion, s.nextProducerEpoch
	return v.AppendTo(nil)
}

// encodeTopics groups partitions by topic, sorted so that equal states
// encode to equal bytes.
func encodeTopics(partitions map[TopicPartition]struct{}) []kmsg.TxnMetadataValueTopic {
	tps := sortedPartitions(partitions)
	topics := []kmsg.TxnMetadataValueTopic{}
	for _, tp := range tps {
		if n := len(topics); n == 0 || topics[n-1].Topic != tp.Topic {
			topics = append(topics, kmsg.TxnMetadataValueTopic{Topic: tp.Topic})
		}
		last := &topics[len(topics)-1]
		last.Partitions = append(last.Partitions, tp.Partition)
	}
	return topics
}

func sortedPartitions(partitions map[TopicPartition]struct{}) []TopicPartition {
	tps := make([]TopicPartition, 0, len(partitions))
	for tp := range partitions {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return tps
}

// toMillis is a time as Kafka stores it: -1 for none.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == -1 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// decodeRecord reads one __transaction_state record: the transactional id
// and its state, nil for a tombstone. It never panics, and allocates in
// proportion to the record's bytes.
func decodeRecord(key, value []byte) (string, *txnState, error) {
	if len(key) < 2 || int16(uint16(key[0])<<8|uint16(key[1])) != keyVersion {
		return "", nil, errUnknownKey
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", nil, fmt.Errorf("%w: key: %v", ErrCorruptRecord, err)
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	s, err := decodeValue(value)
	if err != nil {
		return k.TransactionalID, nil, fmt.Errorf("%w: value of %q: %v", ErrCorruptRecord, k.TransactionalID, err)
	}
	return k.TransactionalID, s, nil
}

func decodeValue(value []byte) (*txnState, error) {
	if len(value) < 2 {
		return nil, errors.New("short value")
	}
	if version := int16(binary.BigEndian.Uint16(value)); version != 0 && version != valueVersion {
		return nil, fmt.Errorf("unknown value version %d", version)
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return nil, err
	}
	if v.State < kmsg.TransactionStateEmpty || v.State > kmsg.TransactionStatePrepareEpochFence {
		return nil, fmt.Errorf("unknown state %d", v.State)
	}
	s := &txnState{
		producerID: v.ProducerID, previousProducerID: v.PreviousProducerID, nextProducerID: v.NextProducerID,
		producerEpoch: v.ProducerEpoch, lastProducerEpoch: noProducerEpoch, nextProducerEpoch: v.NextProducerEpoch,
		timeout: time.Duration(v.TimeoutMillis) * time.Millisecond, state: v.State,
		startTime: fromMillis(v.StartTimestamp), lastUpdate: fromMillis(v.LastUpdateTimestamp),
		clientTransactionVersion: v.ClientTransactionVersion,
	}
	if v.State != kmsg.TransactionStateEmpty {
		for _, t := range v.Topics {
			for _, p := range t.Partitions {
				if s.partitions == nil {
					s.partitions = map[TopicPartition]struct{}{}
				}
				s.partitions[TopicPartition{Topic: t.Topic, Partition: p}] = struct{}{}
			}
		}
	}
	return s, nil
}
