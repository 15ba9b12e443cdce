package kafkastore

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// waitTimeout bounds every wait of these tests; generous, as CI runs
// tests side by side on two cores.
const waitTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

// cluster is one real fjord broker and the client settings to reach it.
type cluster struct {
	srv  *fjordtest.Server
	opts []kgo.Opt
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	srv := fjordtest.Start(t, fjordtest.Options{})
	return &cluster{srv: srv, opts: []kgo.Opt{kgo.SeedBrokers(srv.Addr)}}
}

func (c *cluster) storeOptions(topic string) StoreOptions {
	return StoreOptions{Topic: TopicSpec{Name: topic, ReplicationFactor: -1}, ClientOpts: c.opts}
}

// admin returns an admin client closed at the end of the test.
func (c *cluster) admin(t *testing.T) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// produceRaw writes records as another worker (Kafka's Java one) would,
// bytes given by the test, and waits for their acknowledgement.
func (c *cluster) produceRaw(t *testing.T, topic string, records ...KeyValue) {
	t.Helper()
	cl, err := kgo.NewClient(c.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(records))
	for i, r := range records {
		recs[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
	}
	if err := cl.ProduceSync(testContext(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readRaw returns every record of topic, as Kafka's tools would see it.
func (c *cluster) readRaw(t *testing.T, topic string) []Record {
	t.Helper()
	var out []Record
	l := NewLog(LogOptions{Topic: TopicSpec{Name: topic, Partitions: -1, ReplicationFactor: -1}, ClientOpts: c.opts},
		func(r Record) { out = append(out, r) })
	if err := l.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	return out
}

func startConfigStore(t *testing.T, c *cluster, topic string, listener func(ConfigChange)) *ConfigStore {
	t.Helper()
	s := NewConfigStore(c.storeOptions(topic), listener)
	if err := s.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func startStatusStore(t *testing.T, c *cluster, topic string) *StatusStore {
	t.Helper()
	s := NewStatusStore(c.storeOptions(topic))
	if err := s.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func startOffsetStore(t *testing.T, c *cluster, topic string) *OffsetStore {
	t.Helper()
	s := NewOffsetStore(c.storeOptions(topic))
	if err := s.Start(testContext(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func kv(key, value string) KeyValue {
	out := KeyValue{Key: []byte(key)}
	if value != "" {
		out.Value = []byte(value)
	}
	return out
}
