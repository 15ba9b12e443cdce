package streams

import "github.com/twmb/franz-go/pkg/kgo"

// streamsPartitioner sends a record to the partition it names, as changelog
// writes must land on their task's partition, and otherwise hashes its key
// with murmur2 as Kafka's default partitioner, so that records of a key meet
// in one partition of a repartition topic whatever client wrote them.
type streamsPartitioner struct{ byKey kgo.Partitioner }

func newStreamsPartitioner() kgo.Partitioner {
	return streamsPartitioner{byKey: kgo.StickyKeyPartitioner(nil)}
}

func (p streamsPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &streamsTopicPartitioner{byKey: p.byKey.ForTopic(topic)}
}

type streamsTopicPartitioner struct{ byKey kgo.TopicPartitioner }

func (p *streamsTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.byKey.RequiresConsistency(r)
}

func (p *streamsTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	return p.byKey.Partition(r, n)
}
