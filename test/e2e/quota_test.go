package e2e

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// quotaRate is the byte-rate quota the tests set, in bytes per second.
const quotaRate = 50_000

// quotaConfig shortens the quota windows so that a client's history is one
// window and a throttle lasts about a second: with Kafka's eleven windows a
// new client may burst ten seconds' worth before any throttle shows.
var quotaConfig = map[string]string{
	"quota.window.num":            "2",
	"quota.window.size.seconds":   "1",
	"controller.quota.window.num": "2",
}

// throttleCounter counts the throttles franz-go was told about.
type throttleCounter struct{ n atomic.Int64 }

func (c *throttleCounter) OnBrokerThrottle(_ kgo.BrokerMetadata, d time.Duration, _ bool) {
	if d > 0 {
		c.n.Add(1)
	}
}

// quotaEntity is a kadm entity of one component; name nil is the default.
func quotaEntity(typ string, name *string) kadm.ClientQuotaEntity {
	return kadm.ClientQuotaEntity{{Type: typ, Name: name}}
}

// alterQuota sets (or with remove, removes) key on entity and fails the
// test on any error.
func alterQuota(t *testing.T, ctx context.Context, adm *kadm.Client, entity kadm.ClientQuotaEntity, key string, value float64, remove bool) {
	t.Helper()
	res, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: entity,
		Ops: []kadm.AlterClientQuotaOp{{Key: key, Value: value, Remove: remove}}}})
	if err != nil {
		t.Fatalf("AlterClientQuotas %v: %v", entity, err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("AlterClientQuotas %v: %v %s", entity, r.Err, r.ErrMessage)
		}
	}
}

// describeClientID returns the quotas set on exactly client-id=name.
func describeClientID(t *testing.T, ctx context.Context, adm *kadm.Client, name string) map[string]float64 {
	t.Helper()
	found, err := adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{
		{Type: "client-id", MatchName: &name, MatchType: 0}})
	if err != nil {
		t.Fatalf("DescribeClientQuotas client-id=%s: %v", name, err)
	}
	out := map[string]float64{}
	for _, q := range found {
		if len(q.Entity) != 1 || q.Entity[0].Type != "client-id" || q.Entity[0].Name == nil || *q.Entity[0].Name != name {
			t.Fatalf("DescribeClientQuotas client-id=%s answered entity %v", name, q.Entity)
		}
		for _, v := range q.Values {
			out[v.Key] = v.Value
		}
	}
	return out
}

// rawProducer is a franz-go client for hand-built Produce requests: its
// versions stop at Kafka 3.7's, whose Produce names topics (v13 wants ids).
func rawProducer(t *testing.T, addr, clientID string, hooks ...kgo.Hook) *kgo.Client {
	opts := []kgo.Opt{kgo.ClientID(clientID), kgo.MaxVersions(kversion.V3_7_0())}
	for _, h := range hooks {
		opts = append(opts, kgo.WithHooks(h))
	}
	return newKgo(t, addr, opts...)
}

// produceThrottle sends one Produce of n 10 KB records with acks=all and
// returns its throttle_time_ms, failing the test if the write failed.
func produceThrottle(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n int) int32 {
	t.Helper()
	values := make([]string, n)
	for i := range values {
		values[i] = strings.Repeat("q", 10_000)
	}
	req := produceRequest(topic, -1, encodeBatch(values...))
	kresp, err := cl.Request(ctx, req)
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	resp := kresp.(*kmsg.ProduceResponse)
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("Produce: %v", kerr.ErrorForCode(code))
	}
	return resp.ThrottleMillis
}

// TestClientQuotaAdmin sets, describes (with franz-go and sarama), validates
// and removes client quotas, and checks the error codes of bad entities,
// keys and filters.
func TestClientQuotaAdmin(t *testing.T) {
	s := startServer(t, nil)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)

	alterQuota(t, ctx, adm, quotaEntity("client-id", kadm.StringPtr("described")), "producer_byte_rate", quotaRate, false)
	if got := describeClientID(t, ctx, adm, "described"); len(got) != 1 || got["producer_byte_rate"] != quotaRate {
		t.Fatalf("kadm describes client-id=described as %v, want producer_byte_rate=%d", got, quotaRate)
	}
	sa, err := sarama.NewClusterAdmin([]string{s.Addr}, saramaConfig())
	if err != nil {
		t.Fatalf("sarama.NewClusterAdmin: %v", err)
	}
	defer sa.Close()
	entries, err := sa.DescribeClientQuotas([]sarama.QuotaFilterComponent{
		{EntityType: sarama.QuotaEntityClientID, MatchType: sarama.QuotaMatchExact, Match: "described"}}, true)
	if err != nil {
		t.Fatalf("sarama DescribeClientQuotas: %v", err)
	}
	if len(entries) != 1 || entries[0].Values["producer_byte_rate"] != quotaRate || entries[0].Entity[0].Name != "described" {
		t.Fatalf("sarama describes client-id=described as %+v", entries)
	}
	// sarama alters through its own request encoding; the default entity
	// is a null name.
	if err := sa.AlterClientQuotas([]sarama.QuotaEntityComponent{{EntityType: sarama.QuotaEntityUser, MatchType: sarama.QuotaMatchDefault}},
		sarama.ClientQuotasOp{Key: "request_percentage", Value: 200}, false); err != nil {
		t.Fatalf("sarama AlterClientQuotas user=<default>: %v", err)
	}
	defaults, err := adm.DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 1}})
	if err != nil || len(defaults) != 1 || defaults[0].Entity[0].Name != nil || defaults[0].Values[0].Value != 200 {
		t.Fatalf("describe user=<default>: %v, %v", defaults, err)
	}

	// validate_only checks and writes nothing.
	res, err := adm.ValidateAlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{Entity: quotaEntity("client-id", kadm.StringPtr("validated")),
		Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: 1000}}}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("validate_only AlterClientQuotas: %v %v", res, err)
	}
	if got := describeClientID(t, ctx, adm, "validated"); len(got) != 0 {
		t.Fatalf("validate_only wrote %v", got)
	}

	// Each entry is answered on its own: the good one is written.
	ip := "10.0.0.1"
	bad := []struct {
		what   string
		entity kadm.ClientQuotaEntity
		op     kadm.AlterClientQuotaOp
	}{
		{"unknown entity type", quotaEntity("group", kadm.StringPtr("g")), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 1}},
		{"unknown key", quotaEntity("client-id", kadm.StringPtr("c")), kadm.AlterClientQuotaOp{Key: "bytes_per_fortnight", Value: 1}},
		{"ip key on a user", quotaEntity("user", kadm.StringPtr("u")), kadm.AlterClientQuotaOp{Key: "connection_creation_rate", Value: 1}},
		{"client key on an ip", quotaEntity("ip", &ip), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 1}},
		{"negative value", quotaEntity("client-id", kadm.StringPtr("c")), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: -5}},
		{"fractional byte rate", quotaEntity("client-id", kadm.StringPtr("c")), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 1.5}},
		{"empty name", quotaEntity("client-id", kadm.StringPtr("")), kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 1}},
		{"ip with a user", kadm.ClientQuotaEntity{{Type: "ip", Name: &ip}, {Type: "user", Name: kadm.StringPtr("u")}},
			kadm.AlterClientQuotaOp{Key: "connection_creation_rate", Value: 1}},
		{"empty entity", kadm.ClientQuotaEntity{}, kadm.AlterClientQuotaOp{Key: "producer_byte_rate", Value: 1}},
	}
	var entries2 []kadm.AlterClientQuotaEntry
	for _, b := range bad {
		entries2 = append(entries2, kadm.AlterClientQuotaEntry{Entity: b.entity, Ops: []kadm.AlterClientQuotaOp{b.op}})
	}
	entries2 = append(entries2, kadm.AlterClientQuotaEntry{Entity: quotaEntity("client-id", kadm.StringPtr("good")),
		Ops: []kadm.AlterClientQuotaOp{{Key: "consumer_byte_rate", Value: 1000}}})
	res, err = adm.AlterClientQuotas(ctx, entries2)
	if err != nil || len(res) != len(entries2) {
		t.Fatalf("AlterClientQuotas of %d entries: %d results, %v", len(entries2), len(res), err)
	}
	for i, b := range bad {
		if !errors.Is(res[i].Err, kerr.InvalidRequest) {
			t.Errorf("%s: %v (%s), want INVALID_REQUEST", b.what, res[i].Err, res[i].ErrMessage)
		}
	}
	if last := res[len(res)-1]; last.Err != nil {
		t.Errorf("valid entry beside bad ones: %v %s", last.Err, last.ErrMessage)
	}
	if got := describeClientID(t, ctx, adm, "good"); got["consumer_byte_rate"] != 1000 {
		t.Errorf("valid entry beside bad ones wrote %v", got)
	}
	if got := describeClientID(t, ctx, adm, "c"); len(got) != 0 {
		t.Errorf("refused entries wrote %v", got)
	}

	// Refused filters fail the whole describe.
	for _, f := range []struct {
		what string
		comp []kadm.DescribeClientQuotaComponent
		want *kerr.Error
	}{
		{"empty entity type", []kadm.DescribeClientQuotaComponent{{Type: "", MatchType: 2}}, kerr.InvalidRequest},
		{"type twice", []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 2}, {Type: "user", MatchType: 1}}, kerr.InvalidRequest},
		{"exact without a name", []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: 0}}, kerr.InvalidRequest},
		{"ip with user", []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: 2}, {Type: "user", MatchType: 2}}, kerr.InvalidRequest},
	} {
		if _, err := adm.DescribeClientQuotas(ctx, false, f.comp); !errors.Is(err, f.want) {
			t.Errorf("describe with %s: %v, want %v", f.what, err, f.want)
		}
	}

	// Removing the last key removes the entity.
	alterQuota(t, ctx, adm, quotaEntity("client-id", kadm.StringPtr("described")), "producer_byte_rate", 0, true)
	if got := describeClientID(t, ctx, adm, "described"); len(got) != 0 {
		t.Fatalf("removed quota still described: %v", got)
	}
}

// TestProduceQuota throttles a client id over producer_byte_rate: the
// response says how long in throttle_time_ms, franz-go sees the throttle,
// and the rate achieved stays near the quota. A default client-id quota
// throttles an unknown client id, and removing it lifts the throttle.
func TestProduceQuota(t *testing.T) {
	s := startServer(t, quotaConfig)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "quota")
	createTopic(t, ctx, adm, topic, 1, nil)

	alterQuota(t, ctx, adm, quotaEntity("client-id", kadm.StringPtr("throttled")), "producer_byte_rate", quotaRate, false)
	// 150 KB at once is three times the rate over the one-second window.
	raw := rawProducer(t, s.Addr, "throttled")
	if ms := produceThrottle(t, ctx, raw, topic, 15); ms <= 0 || ms > 10_000 {
		t.Fatalf("produce of 3x the quota: throttle_time_ms %d, want about 2000", ms)
	}

	// A producer running flat out is held near the quota: what it gets
	// acknowledged over a few seconds stays under three times the quota
	// over that time plus one window of burst.
	var throttles throttleCounter
	cl := newKgo(t, s.Addr, kgo.ClientID("throttled"), kgo.DefaultProduceTopic(topic), kgo.WithHooks(&throttles),
		kgo.ProducerBatchMaxBytes(16_000), kgo.MaxBufferedRecords(16), kgo.ProducerLinger(0),
		// The quota counts bytes as they travel: compressed, this
		// repetitive value would be a hundredth of its size.
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	var acked atomic.Int64
	value := []byte(strings.Repeat("r", 1000))
	start := time.Now()
	for time.Since(start) < 3*time.Second {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(r *kgo.Record, err error) {
			if err == nil {
				acked.Add(int64(len(r.Value)))
			}
		})
	}
	got, elapsed := acked.Load(), time.Since(start)
	if limit := int64(3 * quotaRate * (elapsed.Seconds() + 1)); got > limit || got == 0 {
		t.Fatalf("acknowledged %d bytes in %v at a quota of %d/s, want 0 < bytes <= %d", got, elapsed, quotaRate, limit)
	}
	if throttles.n.Load() == 0 {
		t.Fatalf("franz-go saw no throttle producing %d bytes in %v", got, elapsed)
	}
	t.Logf("acknowledged %d bytes in %v at a quota of %d/s", got, elapsed, quotaRate)

	// client-id=<default> covers any client id without its own quota.
	alterQuota(t, ctx, adm, quotaEntity("client-id", nil), "producer_byte_rate", quotaRate, false)
	stranger := rawProducer(t, s.Addr, "never-configured")
	if ms := produceThrottle(t, ctx, stranger, topic, 15); ms <= 0 {
		t.Fatalf("produce of 3x the default quota: throttle_time_ms %d, want > 0", ms)
	}
	alterQuota(t, ctx, adm, quotaEntity("client-id", nil), "producer_byte_rate", 0, true)
	if ms := produceThrottle(t, ctx, stranger, topic, 15); ms != 0 {
		t.Fatalf("produce after the default quota was removed: throttle_time_ms %d, want 0", ms)
	}
}

// TestFetchQuota throttles a consumer over consumer_byte_rate: a fetch is
// answered with no records and a throttle once the client is over its
// quota, and a consumer still reads everything, throttled.
func TestFetchQuota(t *testing.T) {
	s := startServer(t, quotaConfig)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	topic := uniqueTopic(t, "fetch-quota")
	id := createTopic(t, ctx, adm, topic, 1, nil)
	producer := rawProducer(t, s.Addr, "filler")
	const batches = 20 // of 10 KB each
	for range batches {
		produceThrottle(t, ctx, producer, topic, 1)
	}
	alterQuota(t, ctx, adm, quotaEntity("client-id", kadm.StringPtr("slow-consumer")), "consumer_byte_rate", quotaRate, false)

	// Each fetch is cut to a window's worth of the quota; the second
	// overdraws it and comes back empty with a throttle.
	fetcher := rawProducer(t, s.Addr, "slow-consumer")
	offset, throttled := int64(0), false
	for i := 0; i < 5 && !throttled; i++ {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = -1, 10<<20, 0
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, id
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LogStartOffset = offset, 10<<20, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		kresp, err := fetcher.Request(ctx, req)
		if err != nil {
			t.Fatalf("Fetch: %v", err)
		}
		resp := kresp.(*kmsg.FetchResponse)
		if resp.ThrottleMillis > 0 {
			if len(resp.Topics) != 0 {
				t.Fatalf("throttled fetch carries %d topics, want none", len(resp.Topics))
			}
			throttled = true
			break
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || len(p.RecordBatches) > quotaRate+11_000 {
			t.Fatalf("fetch at %d: %v, %d bytes over a quota window of %d", offset, kerr.ErrorForCode(p.ErrorCode), len(p.RecordBatches), quotaRate)
		}
		offset = nextOffset(t, p.RecordBatches, offset)
	}
	if !throttled {
		t.Fatalf("no fetch was throttled reading %d bytes at a quota of %d/s", offset*10_000, quotaRate)
	}

	var throttles throttleCounter
	got := consumeKgo(t, ctx, s.Addr, topic, batches, kgo.ClientID("slow-consumer"), kgo.WithHooks(&throttles))
	if len(got) != batches {
		t.Fatalf("consumed %d records, want %d", len(got), batches)
	}
	if throttles.n.Load() == 0 {
		t.Fatalf("franz-go saw no throttle consuming %d bytes", batches*10_000)
	}
}

// TestControllerMutationQuota refuses topics over controller_mutation_rate
// with THROTTLING_QUOTA_EXCEEDED in CreateTopics v6+, and only throttles
// older versions.
func TestControllerMutationQuota(t *testing.T) {
	s := startServer(t, quotaConfig)
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, s.Addr)
	// 10 partitions a second; two one-second windows allow a burst of 20.
	alterQuota(t, ctx, adm, quotaEntity("client-id", kadm.StringPtr("mutator")), "controller_mutation_rate", 10, false)
	// CreateTopics v7 (Kafka 3.7's), and v5 (Kafka 2.6's), which predates
	// THROTTLING_QUOTA_EXCEEDED.
	clients := map[int16]*kgo.Client{
		7: rawProducer(t, s.Addr, "mutator"),
		5: newKgo(t, s.Addr, kgo.ClientID("mutator"), kgo.MaxVersions(kversion.V2_6_0())),
	}
	create := func(version int16, partitions map[string]int32, order ...string) *kmsg.CreateTopicsResponse {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.TimeoutMillis = 30_000
		for _, name := range order {
			rt := kmsg.NewCreateTopicsRequestTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions[name], 1
			req.Topics = append(req.Topics, rt)
		}
		kresp, err := clients[version].Request(ctx, req)
		if err != nil {
			t.Fatalf("CreateTopics v%d: %v", version, err)
		}
		resp := kresp.(*kmsg.CreateTopicsResponse)
		if resp.Version != version {
			t.Fatalf("CreateTopics sent as v%d, want v%d", resp.Version, version)
		}
		return resp
	}
	codes := func(resp *kmsg.CreateTopicsResponse) map[string]int16 {
		out := map[string]int16{}
		for _, rt := range resp.Topics {
			out[rt.Topic] = rt.ErrorCode
		}
		return out
	}
	big, small := uniqueTopic(t, "big"), uniqueTopic(t, "small")
	// The first topic overdraws the bucket and is created; while it is
	// negative the next one is refused.
	resp := create(7, map[string]int32{big: 25, small: 1}, big, small)
	got := codes(resp)
	wantCode(t, "topic overdrawing the bucket", got[big], nil)
	wantCode(t, "topic while the bucket is negative", got[small], kerr.ThrottlingQuotaExceeded)
	if resp.ThrottleMillis <= 0 {
		t.Fatalf("CreateTopics over controller_mutation_rate: throttle_time_ms %d, want > 0", resp.ThrottleMillis)
	}
	// CreateTopics v5 predates the error: it is only throttled.
	older := uniqueTopic(t, "older")
	resp = create(5, map[string]int32{older: 30}, older)
	wantCode(t, "CreateTopics v5 over the quota", codes(resp)[older], nil)
	if resp.ThrottleMillis <= 0 {
		t.Fatalf("CreateTopics v5 over controller_mutation_rate: throttle_time_ms %d, want > 0", resp.ThrottleMillis)
	}
}

// nextOffset is the offset after the last of batches, a fetch's record
// bytes; from when there are none.
func nextOffset(t *testing.T, batches []byte, from int64) int64 {
	t.Helper()
	for len(batches) >= 27 {
		base := int64(binary.BigEndian.Uint64(batches[0:8]))
		length := int(binary.BigEndian.Uint32(batches[8:12]))
		lastDelta := int64(binary.BigEndian.Uint32(batches[23:27]))
		if 12+length > len(batches) {
			break // a partial batch at the end of the response
		}
		from = base + lastDelta + 1
		batches = batches[12+length:]
	}
	return from
}
