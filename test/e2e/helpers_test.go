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
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// testTimeout bounds one client workload (produce or consume of one topic);
// generous because -race on two cores runs several packages at once.
const testTimeout = 2 * time.Minute

// pollInterval is how often a polled condition is checked.
const pollInterval = 20 * time.Millisecond

// startServer starts a broker for one test, with config as its properties.
func startServer(t *testing.T, config map[string]string, args ...string) *fjordtest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	return fjordtest.Start(t, fjordtest.Options{Config: config, Args: args})
}

// testContext is a context cancelled after d or when the test ends.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newKgo returns a franz-go client seeded with addr, closed when the test ends.
func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// newAdmin returns an admin client on its own connection to addr. Its
// metadata cache lives 100ms instead of 5s so that polls for a topic to
// appear or disappear see the broker's current answer.
func newAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newKgo(t, addr, kgo.MetadataMinAge(100*time.Millisecond)))
}

// eventually polls cond until it reports true or ctx ends
// (clustertest.Eventually).
func eventually(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	clustertest.Eventually(t, ctx, what, cond)
}

// createTopic creates a topic with replication factor 1 and waits until
// every partition has a leader in the metadata.
func createTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]string) kadm.TopicID {
	t.Helper()
	return createTopicRF(t, ctx, adm, topic, partitions, 1, configs)
}

// createTopicRF is createTopic with a replication factor.
func createTopicRF(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32, rf int16, configs map[string]string) kadm.TopicID {
	t.Helper()
	var ptrs map[string]*string
	if len(configs) > 0 {
		ptrs = make(map[string]*string, len(configs))
		for k, v := range configs {
			ptrs[k] = kadm.StringPtr(v)
		}
	}
	resp, err := adm.CreateTopic(ctx, partitions, rf, ptrs, topic)
	if err != nil {
		t.Fatalf("CreateTopics %s (%d partitions, %v): %v", topic, partitions, configs, err)
	}
	if resp.Err != nil {
		t.Fatalf("CreateTopics %s (%d partitions, %v): %v %s", topic, partitions, configs, resp.Err, resp.ErrMessage)
	}
	return waitTopicReady(t, ctx, adm, topic, partitions)
}

// waitTopicReady waits until the metadata lists topic with partitions
// partitions, each with a leader, and returns its topic id.
func waitTopicReady(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32) kadm.TopicID {
	t.Helper()
	var id kadm.TopicID
	eventually(t, ctx, "topic "+topic+" ready", func() (bool, string) {
		tds, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		td, ok := tds[topic]
		switch {
		case !ok:
			return false, "not in metadata"
		case td.Err != nil:
			return false, td.Err.Error()
		case int32(len(td.Partitions)) != partitions:
			return false, fmt.Sprintf("%d partitions", len(td.Partitions))
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false, fmt.Sprintf("partition %d: leader %d, %v", p.Partition, p.Leader, p.Err)
			}
		}
		id = td.ID
		return true, ""
	})
	return id
}

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

// consumeKgo reads want records of topic from the beginning with a fresh
// franz-go consumer and returns them in the order received.
func consumeKgo(t *testing.T, ctx context.Context, addr, topic string, want int, opts ...kgo.Opt) []rec {
	t.Helper()
	cl := newKgo(t, addr, append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)...)
	defer cl.Close()
	var out []rec
	for len(out) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: got %d of %d records before %v", topic, len(out), want, ctx.Err())
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			t.Fatalf("consume %s/%d: %v", topic, partition, err)
		})
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, recFromKgo(r)) })
	}
	return out
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

// rec is one record as a client saw it, produced or consumed.
type rec struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Timestamp time.Time
}

func recFromKgo(r *kgo.Record) rec {
	return rec{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Timestamp: r.Timestamp}
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

// uniqueTopic names a topic after the test so failures point at it.
func uniqueTopic(t *testing.T, suffix string) string {
	name := strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name())
	return strings.ToLower(name) + "-" + suffix
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
