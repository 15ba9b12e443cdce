package kafkastore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTopicsCreatedAsKafkaDoes checks the three topics a worker creates:
// compacted, the config topic with one partition, the others with
// Kafka's default counts or the ones configured, replication factor -1
// taken as the broker's default, extra topic configs applied.
func TestTopicsCreatedAsKafkaDoes(t *testing.T) {
	c := startCluster(t)
	configs := startConfigStore(t, c, "connect-configs", nil)
	startStatusStore(t, c, "connect-status")
	startOffsetStore(t, c, "connect-offsets")
	custom := c.storeOptions("custom-offsets")
	custom.Topic.Partitions = 3
	custom.Topic.Configs = map[string]string{"cleanup.policy": "delete", "min.compaction.lag.ms": "1000"}
	offsets := NewOffsetStore(custom)
	if err := offsets.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	defer offsets.Close()
	if got := configs.log.Partitions(); got != 1 {
		t.Errorf("config log partitions %d, want 1", got)
	}

	adm := c.admin(t)
	ctx := testContext(t)
	details, err := adm.ListTopics(ctx, "connect-configs", "connect-status", "connect-offsets", "custom-offsets")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"connect-configs": 1, "connect-status": DefaultStatusPartitions,
		"connect-offsets": DefaultOffsetPartitions, "custom-offsets": 3}
	for topic, n := range want {
		if got := len(details[topic].Partitions); got != n {
			t.Errorf("%s: %d partitions, want %d", topic, got, n)
		}
	}
	described, err := adm.DescribeTopicConfigs(ctx, "connect-configs", "connect-status", "connect-offsets", "custom-offsets")
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range described {
		if rc.Err != nil {
			t.Fatalf("%s: %v", rc.Name, rc.Err)
		}
		values := configValues(rc.Configs)
		if values["cleanup.policy"] != "compact" {
			t.Errorf("%s: cleanup.policy=%q, want compact", rc.Name, values["cleanup.policy"])
		}
		if rc.Name == "custom-offsets" && values["min.compaction.lag.ms"] != "1000" {
			t.Errorf("%s: min.compaction.lag.ms=%q, want 1000", rc.Name, values["min.compaction.lag.ms"])
		}
	}
}

func configValues(configs []kadm.Config) map[string]string {
	out := map[string]string{}
	for _, c := range configs {
		out[c.Key] = c.MaybeValue()
	}
	return out
}

// TestUnsuitableTopicsRefused checks that existing topics that would lose
// or reorder records are refused, with Kafka's explanation.
func TestUnsuitableTopicsRefused(t *testing.T) {
	c := startCluster(t)
	adm := c.admin(t)
	ctx := testContext(t)
	mustCreate := func(topic string, partitions int32, configs map[string]*string) {
		t.Helper()
		if _, err := adm.CreateTopic(ctx, partitions, 1, configs, topic); err != nil {
			t.Fatal(err)
		}
	}
	compact, del := "compact", "delete"
	both := "compact,delete"
	mustCreate("two-partitions", 2, map[string]*string{"cleanup.policy": &compact})
	mustCreate("deleting", 1, map[string]*string{"cleanup.policy": &del})
	mustCreate("both-policies", 5, map[string]*string{"cleanup.policy": &both})

	cases := []struct {
		name  string
		start func() error
		want  string
	}{
		{"config topic with two partitions", func() error {
			return NewConfigStore(c.storeOptions("two-partitions"), nil).Start(ctx)
		}, "required to have a single partition"},
		{"config topic that deletes", func() error {
			return NewConfigStore(c.storeOptions("deleting"), nil).Start(ctx)
		}, "'cleanup.policy=compact'"},
		{"status topic with compact,delete", func() error {
			return NewStatusStore(c.storeOptions("both-policies")).Start(ctx)
		}, "cleanup.policy=compact,delete"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.start()
			if !errors.Is(err, ErrTopicSettings) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want ErrTopicSettings saying %q", err, tc.want)
			}
		})
	}
	// A compacted topic of several partitions suits the status store.
	startStatusStore(t, c, "two-partitions")
}

// TestLogReadToEndAndClose checks the barrier over several partitions
// and that Close joins the consuming goroutine and fails later calls.
func TestLogReadToEndAndClose(t *testing.T) {
	c := startCluster(t)
	var mu sync.Mutex
	seen := map[string]string{}
	l := NewLog(LogOptions{Topic: TopicSpec{Name: "log", Partitions: 4, ReplicationFactor: -1}, ClientOpts: c.opts},
		func(r Record) {
			mu.Lock()
			defer mu.Unlock()
			seen[string(r.Key)] = string(r.Value)
		})
	ctx := testContext(t)
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var records []KeyValue
	for i := range 50 {
		records = append(records, kv(strings.Repeat("k", i+1), "v"))
	}
	c.produceRaw(t, "log", records...)
	pos, err := l.Send(ctx, []byte("last"), []byte("value"))
	if err != nil {
		t.Fatal(err)
	}
	if pos.Offset < 0 || pos.Partition < 0 || pos.Partition >= 4 {
		t.Fatalf("Send position %+v", pos)
	}
	if err := l.ReadToEnd(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != 51 || seen["last"] != "value" {
		t.Errorf("after ReadToEnd the consumer saw %d records (last=%q), want 51", len(seen), seen["last"])
	}
	mu.Unlock()

	l.Close()
	select {
	case <-l.done:
	default:
		t.Fatal("Close returned with the consuming goroutine running")
	}
	if err := l.ReadToEnd(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadToEnd after Close: %v, want ErrClosed", err)
	}
	if _, err := l.Send(ctx, []byte("k"), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	l.Close() // a second Close is harmless
}

// TestReadToEndPastTransactionMarkers writes the config topic in a
// transaction, as a Java leader with exactly-once support does: the
// commit marker takes the last offset, and ReadToEnd must count it.
func TestReadToEndPastTransactionMarkers(t *testing.T) {
	c := startCluster(t)
	store := startConfigStore(t, c, "connect-configs", nil)
	ctx := testContext(t)
	cl, err := kgo.NewClient(append(slices.Clone(c.opts), kgo.TransactionalID("connect-cluster-leader"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	rec := &kgo.Record{Topic: "connect-configs", Key: []byte("connector-foo"), Value: []byte(`{"properties":{"a":"b"}}`)}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// The coordinator writes the commit marker after EndTxn has answered,
	// and the store reads committed records only: until the marker is
	// written the last stable offset stays before the record, and
	// ReadToEnd has nothing to wait for. Once it is, ReadToEnd must read
	// the record and count the marker.
	for {
		if err := store.ReadToEnd(ctx); err != nil {
			t.Fatal(err)
		}
		if store.Snapshot().Offset >= 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the committed record never became readable")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if got := store.Snapshot(); got.ConnectorConfigs["foo"]["a"] != "b" || got.Offset != 1 {
		t.Fatalf("snapshot %+v", got)
	}
	// The marker, at offset 1, is why the end offset is 2.
	if ends, err := store.log.endOffsets(ctx); err != nil || ends[0] != 2 {
		t.Fatalf("end offsets %v (%v), want [0:2]", ends, err)
	}
}

// TestReadToEndGivesUpWithItsContext holds the consumer inside its
// function so that a ReadToEnd waits, and checks that the waiter whose
// context ends fails with the context's error and leaves no trace.
func TestReadToEndGivesUpWithItsContext(t *testing.T) {
	c := startCluster(t)
	release := make(chan struct{})
	l := NewLog(LogOptions{Topic: TopicSpec{Name: "held", Partitions: 1, ReplicationFactor: -1}, ClientOpts: c.opts},
		func(Record) { <-release })
	if err := l.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer close(release)
	if _, err := l.Send(testContext(t), []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	// Whether the deadline strikes while the end offsets are listed or
	// while the waiter waits, the outcome must be the same.
	ctx, cancel := context.WithTimeout(testContext(t), 500*time.Millisecond)
	defer cancel()
	if err := l.ReadToEnd(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ReadToEnd past its deadline: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.mu.waiters) != 0 {
		t.Fatalf("%d waiters left", len(l.mu.waiters))
	}
}
