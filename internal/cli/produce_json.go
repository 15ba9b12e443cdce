package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// maxProduceTopics bounds the distinct topics the lines of one `fjord
// produce --format json` may name: each costs a metadata lookup, and a
// console producer writing to more is replaying something else's output.
const maxProduceTopics = 1000

// buildJSONRecord makes a record of one line of `--format json` input
// (see jsonRecord). TOPIC, when given, overrides the line's topic, so that
// consumed records can be copied to another topic; --partition overrides
// its partition. A record whose line chose its partition says so in its
// Context, for linePartitioner.
func buildJSONRecord(ctx context.Context, line []byte, lineNumber int, opts produceOptions) (*kgo.Record, error) {
	r, explicit, err := parseJSONRecord(line)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNumber, err)
	}
	if opts.topic != "" {
		r.Topic = opts.topic
	}
	if r.Topic == "" {
		return nil, fmt.Errorf("line %d: no topic: give TOPIC on the command line or a \"topic\" field", lineNumber)
	}
	if opts.partition >= 0 {
		r.Partition, explicit = opts.partition, false // the manual partitioner reads it
	}
	if explicit {
		r.Context = context.WithValue(ctx, linePartitionKey{}, true)
	}
	r.Headers = append(r.Headers, opts.headers...)
	return r, nil
}

// linePartitionKey marks, in a record's Context, a record whose input line
// named its partition.
type linePartitionKey struct{}

func lineChosePartition(r *kgo.Record) bool {
	return r.Context != nil && r.Context.Value(linePartitionKey{}) != nil
}

// linePartitioner sends a record whose line named a partition there, and
// any other as the client's default partitioner would (by key hash, and
// sticky for records without a key).
type linePartitioner struct{}

// defaultPartitioner is franz-go's default (its config.go), which Kafka's
// Java producer also uses since KIP-794.
func defaultPartitioner() kgo.Partitioner {
	return kgo.UniformBytesPartitioner(64<<10, true, true, nil)
}

func (linePartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &lineTopicPartitioner{inner: defaultPartitioner().ForTopic(topic)}
}

type lineTopicPartitioner struct {
	inner kgo.TopicPartitioner
}

// RequiresConsistency is true for a chosen partition: the client then
// passes the count of all partitions, so that the index returned is the
// partition itself rather than one among those writable now.
func (p *lineTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return lineChosePartition(r) || p.inner.RequiresConsistency(r)
}

func (p *lineTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if lineChosePartition(r) {
		return int(r.Partition)
	}
	return p.inner.Partition(r, n)
}

func (p *lineTopicPartitioner) PartitionByBackup(r *kgo.Record, n int, backup kgo.TopicBackupIter) int {
	if lineChosePartition(r) {
		return int(r.Partition)
	}
	if b, ok := p.inner.(kgo.TopicBackupPartitioner); ok {
		return b.PartitionByBackup(r, n, backup)
	}
	return p.inner.Partition(r, n)
}

func (p *lineTopicPartitioner) OnNewBatch() {
	if o, ok := p.inner.(kgo.TopicPartitionerOnNewBatch); ok {
		o.OnNewBatch()
	}
}

// produceTargets checks, once per topic, that a topic records go to exists
// and how many partitions it has, so that a wrong name or partition fails
// at once with a clear message instead of after the delivery timeout.
type produceTargets struct {
	adm        *kadm.Client
	seeds      []string
	conn       connFlags
	partitions map[string]int32
}

func newProduceTargets(adm *kadm.Client, seeds []string, conn connFlags) *produceTargets {
	return &produceTargets{adm: adm, seeds: seeds, conn: conn, partitions: make(map[string]int32)}
}

// check looks up topic the first time it is named and checks partition
// (-1: none chosen) against its partition count.
func (t *produceTargets) check(ctx context.Context, topic string, partition int32) error {
	count, known := t.partitions[topic]
	if !known {
		if len(t.partitions) == maxProduceTopics {
			return fmt.Errorf("more than %d topics named", maxProduceTopics)
		}
		var err error
		if count, err = t.lookup(ctx, topic); err != nil {
			return err
		}
		t.partitions[topic] = count
	}
	if partition >= count {
		return fmt.Errorf("topic %q has %d partitions, so partition %d does not exist", topic, count, partition)
	}
	return nil
}

func (t *produceTargets) lookup(ctx context.Context, topic string) (int32, error) {
	ctx, cancel := context.WithTimeout(ctx, t.conn.timeout)
	defer cancel()
	details, err := t.adm.ListTopicsWithInternal(ctx, topic)
	if err != nil {
		return 0, describeRequestError(ctx, fmt.Sprintf("looking up topic %q", topic), t.seeds, t.conn.timeout, err)
	}
	d, ok := details[topic]
	if !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
		return 0, fmt.Errorf("topic %q does not exist (%s)", topic, kerr.UnknownTopicOrPartition.Message)
	}
	if d.Err != nil {
		return 0, fmt.Errorf("looking up topic %q: %s", topic, kafkaErrorName(d.Err))
	}
	return int32(len(d.Partitions)), nil
}

// describe names where records went, for the summary line.
func (t *produceTargets) describe(topic string) string {
	if topic != "" {
		return fmt.Sprintf("topic %q", topic)
	}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(t.partitions)) {
		names = append(names, fmt.Sprintf("%q", name))
	}
	switch len(names) {
	case 0:
		return "no topic"
	case 1:
		return "topic " + names[0]
	}
	return "topics " + strings.Join(names, ", ")
}
