package runtime

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// chosenPartitionKey marks, in a kgo.Record's Context, the partition a
// source task chose for it (SourceRecord.Partition).
type chosenPartitionKey struct{}

// withChosenPartition marks r to be written to partition.
func withChosenPartition(r *kgo.Record, partition int32) {
	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	r.Context = context.WithValue(ctx, chosenPartitionKey{}, partition)
}

// sourcePartitioner writes a record to the partition its source task
// chose, and otherwise as Kafka's producer does: by the murmur2 hash of
// the key, or sticky for records without one.
type sourcePartitioner struct{ fallback kgo.Partitioner }

func newSourcePartitioner() kgo.Partitioner {
	return sourcePartitioner{fallback: kgo.StickyKeyPartitioner(nil)}
}

func (p sourcePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return sourceTopicPartitioner{fallback: p.fallback.ForTopic(topic)}
}

type sourceTopicPartitioner struct{ fallback kgo.TopicPartitioner }

func chosenPartition(r *kgo.Record) (int32, bool) {
	if r.Context == nil {
		return 0, false
	}
	p, ok := r.Context.Value(chosenPartitionKey{}).(int32)
	return p, ok
}

// RequiresConsistency is true for a chosen partition: its index must be
// among all the topic's partitions, not only the writable ones.
func (p sourceTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	if _, ok := chosenPartition(r); ok {
		return true
	}
	return p.fallback.RequiresConsistency(r)
}

// Partition returns the chosen partition, which the producer refuses with
// an error when the topic has no such partition.
func (p sourceTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if chosen, ok := chosenPartition(r); ok {
		return int(chosen)
	}
	return p.fallback.Partition(r, n)
}

// OnNewBatch lets the sticky partitioner move on to another partition.
func (p sourceTopicPartitioner) OnNewBatch() {
	if nb, ok := p.fallback.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}
