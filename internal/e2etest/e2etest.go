// Package e2etest holds what the end-to-end test packages (test/...) share:
// a broker started from the fjord binary per test, clients closed when the
// test ends, topics created and waited for, polled conditions, and records
// read back through franz-go, sarama and kcat (librdkafka) alike.
package e2etest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestTimeout bounds one client workload (produce or consume of one topic);
// generous because -race on two cores runs several packages at once.
const TestTimeout = 2 * time.Minute

// PollInterval is how often a polled condition is checked.
const PollInterval = 20 * time.Millisecond

// StartServer starts a broker for one test, with config as its properties.
func StartServer(t *testing.T, config map[string]string, args ...string) *fjordtest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	return fjordtest.Start(t, fjordtest.Options{Config: config, Args: args})
}

// Context is a context cancelled after d or when the test ends.
func Context(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// NewKgo returns a franz-go client seeded with addr, closed when the test ends.
func NewKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// NewAdmin returns an admin client on its own connection to addr. Its
// metadata cache lives 100ms instead of 5s so that polls for a topic to
// appear or disappear see the broker's current answer.
func NewAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	return kadm.NewClient(NewKgo(t, addr, kgo.MetadataMinAge(100*time.Millisecond)))
}

// Eventually polls cond until it reports true or ctx ends
// (clustertest.Eventually).
func Eventually(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	clustertest.Eventually(t, ctx, what, cond)
}

// CreateTopic creates a topic with replication factor 1 and waits until
// every partition has a leader in the metadata.
func CreateTopic(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32, configs map[string]string) kadm.TopicID {
	t.Helper()
	return CreateTopicRF(t, ctx, adm, topic, partitions, 1, configs)
}

// CreateTopicRF is CreateTopic with a replication factor.
func CreateTopicRF(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32, rf int16, configs map[string]string) kadm.TopicID {
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
	return WaitTopicReady(t, ctx, adm, topic, partitions)
}

// WaitTopicReady waits until the metadata lists topic with partitions
// partitions, each with a leader, and returns its topic id.
func WaitTopicReady(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partitions int32) kadm.TopicID {
	t.Helper()
	var id kadm.TopicID
	Eventually(t, ctx, "topic "+topic+" ready", func() (bool, string) {
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

// ConsumeKgo reads want records of topic from the beginning with a fresh
// franz-go consumer and returns them in the order received.
func ConsumeKgo(t *testing.T, ctx context.Context, addr, topic string, want int, opts ...kgo.Opt) []Record {
	t.Helper()
	cl := NewKgo(t, addr, append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}, opts...)...)
	defer cl.Close()
	var out []Record
	for len(out) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: got %d of %d records before %v", topic, len(out), want, ctx.Err())
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			t.Fatalf("consume %s/%d: %v", topic, partition, err)
		})
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, RecordFromKgo(r)) })
	}
	return out
}

// Record is one record as a client saw it, produced or consumed.
type Record struct {
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Timestamp time.Time
}

func RecordFromKgo(r *kgo.Record) Record {
	return Record{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Timestamp: r.Timestamp}
}

// UniqueTopic names a topic after the test so failures point at it.
func UniqueTopic(t *testing.T, suffix string) string {
	name := strings.NewReplacer("/", "-", " ", "-", "_", "-").Replace(t.Name())
	return strings.ToLower(name) + "-" + suffix
}
