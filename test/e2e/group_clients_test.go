package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// saramaHandler records every message a sarama group member consumes and
// commits each one synchronously after processing.
type saramaHandler struct {
	name string
	sink *consumed

	mu     sync.Mutex
	claims map[int32]bool
}

func (h *saramaHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims = map[int32]bool{}
	for _, ps := range s.Claims() {
		for _, p := range ps {
			h.claims[p] = true
		}
	}
	return nil
}

func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		s.MarkMessage(msg, "")
		s.Commit()
		h.sink.add(h.name, []rec{{Partition: msg.Partition, Offset: msg.Offset, Key: string(msg.Key), Value: string(msg.Value)}})
	}
	return nil
}

func (h *saramaHandler) owned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.claims)
}

// startSaramaMember runs a sarama consumer group member until the test
// ends or stop is called.
func startSaramaMember(t *testing.T, addr, groupID, topic, name string, sink *consumed) (h *saramaHandler, stop func()) {
	t.Helper()
	cfg := saramaConfig()
	cfg.ClientID = name
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = 3 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRoundRobin()}
	cg, err := sarama.NewConsumerGroup([]string{addr}, groupID, cfg)
	if err != nil {
		t.Fatalf("sarama.NewConsumerGroup: %v", err)
	}
	h = &saramaHandler{name: name, sink: sink}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				t.Errorf("%s: Consume: %v", name, err)
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			if err := cg.Close(); err != nil {
				t.Errorf("%s: Close: %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return h, stop
}

// TestGroupSarama is acceptance 2 with sarama's consumer group: two members
// share six partitions, one closes and the other takes over; every record
// is consumed exactly once.
func TestGroupSarama(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "sarama")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "sarama-group"
	sink := &consumed{}

	a, stopA := startSaramaMember(t, srv.Addr, groupID, topic, "a", sink)
	b, _ := startSaramaMember(t, srv.Addr, groupID, topic, "b", sink)
	eventually(t, ctx, "split 3/3", func() (bool, string) { return a.owned() == 3 && b.owned() == 3, "" })
	produced := produceValues(t, ctx, producer, topic, "one", 120)
	eventually(t, ctx, "first records consumed", func() (bool, string) { return sink.count() >= len(produced), "" })

	stopA()
	eventually(t, ctx, "b takes over", func() (bool, string) { return b.owned() == 6, "" })
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	eventually(t, ctx, "every record consumed", func() (bool, string) { return sink.count() >= len(produced), "" })
	checkExactlyOnce(t, produced, sink.snapshot())
}

// TestGroupKcat is acceptance 2 with librdkafka's balanced consumer (kcat
// -G): a consumer that stops after part of the topic commits on close, and
// the next one in the group resumes exactly there.
func TestGroupKcat(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "kcat")
	createTopic(t, ctx, adm, topic, 1, nil)
	producer := newKgo(t, srv.Addr)
	produced := produceValues(t, ctx, producer, topic, "k", 200)
	const groupID = "kcat-group"
	// No -o: in -G mode kcat applies it on every assignment, overriding
	// the committed offsets this test is about.
	args := func(count string) []string {
		return []string{"-G", groupID, "-X", "auto.offset.reset=earliest", "-c", count, "-f", `%s\n`,
			"-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300", topic}
	}
	first := strings.Fields(kcat(t, ctx, srv.Addr, "", args("120")...))
	second := strings.Fields(kcat(t, ctx, srv.Addr, "", args("80")...))
	if len(first) != 120 || len(second) != 80 {
		t.Fatalf("consumed %d then %d records", len(first), len(second))
	}
	var got []rec
	for _, v := range append(first, second...) {
		got = append(got, rec{Key: v, Value: v})
	}
	checkExactlyOnce(t, produced, got)
	if first[0] != produced[0] || second[0] != produced[120] {
		t.Errorf("first run started at %s, second at %s; want %s and %s", first[0], second[0], produced[0], produced[120])
	}
}
