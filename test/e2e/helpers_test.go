// Package e2e holds fjord's acceptance tests. Each test starts the real
// fjord binary (internal/fjordtest) on a free loopback port with its own data
// directory and drives it with unmodified Kafka clients (franz-go, sarama,
// librdkafka through the kcat binary) or with raw protocol frames, asserting
// Kafka's semantics on what comes back rather than fjord's internals.
//
// Concurrency: a test owns every goroutine it starts; each one stops when a
// context cancelled in t.Cleanup ends, and is joined before the test returns.
// Tests wait on events (a counter, a response, a polled condition) with a
// deadline, never on the clock alone.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetsOf lists start or end offsets of every partition of topic.
func offsetsOf(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, end bool) map[int32]int64 {
	t.Helper()
	list := adm.ListStartOffsets
	if end {
		list = adm.ListEndOffsets
	}
	listed, err := list(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatalf("ListOffsets %s (end=%v): %v", topic, end, err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// sumOffsets adds up the offsets of every partition.
func sumOffsets(offsets map[int32]int64) int64 {
	var n int64
	for _, o := range offsets {
		n += o
	}
	return n
}

// consumePartitionKgo reads want records of one partition from offset from.
func consumePartitionKgo(t *testing.T, ctx context.Context, addr, topic string, partition int32, from int64, want int) []rec {
	t.Helper()
	cl := newKgo(t, addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	var out []rec
	for len(out) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s/%d from %d: got %d of %d records before %v", topic, partition, from, len(out), want, ctx.Err())
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			t.Fatalf("consume %s/%d: %v", topic, partition, err)
		})
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, recFromKgo(r)) })
	}
	return out
}

// keyedWorkload is n records over keys distinct keys; value i is "v%06d" so
// the producing order can be read back from any value.
func keyedWorkload(n, keys int, baseTimestamp time.Time) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{
			Key:       fmt.Sprintf("key-%03d", i%keys),
			Value:     fmt.Sprintf("v%06d", i),
			Timestamp: baseTimestamp.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return out
}

// checkTimestamps is passed to checkConsumed when the producer set each
// record's timestamp itself and they must round-trip.
const (
	checkTimestamps  = true
	ignoreTimestamps = false
)

// checkConsumed asserts Kafka's guarantees for a keyed workload read back in
// full: count exact, each value once with its key, one partition per key,
// offsets contiguous from 0 in each partition, and the producing order of
// values kept within a partition. It returns the records by partition,
// ordered by offset.
func checkConsumed(t *testing.T, produced, consumed []rec, timestamps bool) map[int32][]rec {
	t.Helper()
	if len(consumed) != len(produced) {
		t.Errorf("consumed %d records, produced %d", len(consumed), len(produced))
	}
	byValue := make(map[string]rec, len(produced))
	for _, r := range produced {
		byValue[r.Value] = r
	}
	seen := make(map[string]bool, len(consumed))
	keyPartition := map[string]int32{}
	byPartition := map[int32][]rec{}
	for _, r := range consumed {
		want, ok := byValue[r.Value]
		switch {
		case !ok:
			t.Fatalf("consumed a value never produced: %+v", r)
		case seen[r.Value]:
			t.Fatalf("value %s consumed twice (second at %d/%d)", r.Value, r.Partition, r.Offset)
		case r.Key != want.Key:
			t.Fatalf("value %s has key %q, produced with %q", r.Value, r.Key, want.Key)
		case timestamps && !r.Timestamp.Equal(want.Timestamp):
			t.Fatalf("value %s has timestamp %v, produced with %v", r.Value, r.Timestamp, want.Timestamp)
		}
		seen[r.Value] = true
		if p, ok := keyPartition[r.Key]; ok && p != r.Partition {
			t.Fatalf("key %s in partitions %d and %d", r.Key, p, r.Partition)
		}
		keyPartition[r.Key] = r.Partition
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	if len(byPartition) < 2 {
		t.Errorf("all keys went to %d partition(s); want them spread", len(byPartition))
	}
	for p, rs := range byPartition {
		slices.SortFunc(rs, func(a, b rec) int { return int(a.Offset - b.Offset) })
		for i, r := range rs {
			if r.Offset != int64(i) {
				t.Fatalf("partition %d: record %d has offset %d; offsets not contiguous from 0", p, i, r.Offset)
			}
			if i > 0 && rs[i-1].Value >= r.Value {
				t.Fatalf("partition %d: %s at offset %d after %s; producing order lost", p, r.Value, r.Offset, rs[i-1].Value)
			}
		}
	}
	return byPartition
}

// timestampProbe picks, in the busiest partition, a timestamp with records
// both before and at or after it, and the offset ListOffsets must return for
// it: the first record whose timestamp is at or after it.
func timestampProbe(t *testing.T, byPartition map[int32][]rec) (partition int32, millis, offset int64) {
	t.Helper()
	for p, rs := range byPartition {
		if len(rs) > len(byPartition[partition]) {
			partition = p
		}
	}
	rs := byPartition[partition]
	if len(rs) < 2 {
		t.Fatalf("no partition with two records to probe timestamps: %d", len(rs))
	}
	// Take the timestamp of a record in the middle, then the first record at
	// or after it: timestamps may repeat and need not be monotonic.
	millis = rs[len(rs)/2].Timestamp.UnixMilli()
	for _, r := range rs {
		if r.Timestamp.UnixMilli() >= millis {
			return partition, millis, r.Offset
		}
	}
	panic("unreachable: the probed record itself qualifies")
}

// deleteTopicAndWait deletes topic and waits until the metadata no longer
// lists it.
func deleteTopicAndWait(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) {
	t.Helper()
	resp, err := adm.DeleteTopic(ctx, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("DeleteTopics %s: %v", topic, err)
	}
	waitTopicGone(t, ctx, adm, topic)
}

// waitTopicGone waits until the metadata answers UNKNOWN_TOPIC_OR_PARTITION
// for topic.
func waitTopicGone(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) {
	t.Helper()
	eventually(t, ctx, "topic "+topic+" deleted", func() (bool, string) {
		tds, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		td, ok := tds[topic]
		if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
			return true, ""
		}
		return false, fmt.Sprintf("still listed: %d partitions, err %v", len(td.Partitions), td.Err)
	})
}

// recreateTopic creates topic again after a delete, retrying while the
// broker still reports the old one as existing (deletion is asynchronous
// in Kafka).
func recreateTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32) kadm.TopicID {
	t.Helper()
	eventually(t, ctx, "re-create "+topic, func() (bool, string) {
		resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err == nil {
			return true, ""
		}
		if errors.Is(err, kerr.TopicAlreadyExists) {
			return false, err.Error()
		}
		t.Fatalf("CreateTopics %s again: %v", topic, err)
		return false, ""
	})
	return waitTopicReady(t, ctx, adm, topic, partitions)
}
