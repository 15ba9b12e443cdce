// Package monitoring tests what an operator sees of a running fjord: its
// Prometheus metrics, probes and consumer lag, against the real binary
// and real clients.
package monitoring

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// Record batch v2 sizes, for bounding bytes in from records produced:
// each batch has a 61-byte header, each record 7 to 14 bytes beside its
// key and value (length, attributes, timestamp and offset deltas, key and
// value lengths, header count: varints, the timestamp delta of records
// produced within seconds of each other at most 3 bytes).
const (
	batchHeaderBytes   = 61
	minRecordOverhead  = 7
	maxRecordOverhead  = 14
	workloadTopic      = "metrics-workload"
	workloadPartitions = 3
)

// requestCounter counts the requests a franz-go client wrote, by API key.
type requestCounter struct {
	mu    sync.Mutex
	byKey map[int16]int
}

func (c *requestCounter) OnBrokerWrite(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey[key]++
}

func (c *requestCounter) count(key kmsg.Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byKey[key.Int16()]
}

// workload is what the clients of TestMetricsMatchWorkload sent.
type workload struct {
	records      int // records acked
	payloadBytes int // their keys and values
	franz        *requestCounter
}

// TestMetricsMatchWorkload runs a workload with franz-go, sarama and kcat,
// then checks the scraped figures against it: records in exactly, bytes in
// within the record-batch overhead, bytes out, requests per API at least
// what the clients sent, errors of deliberately failing requests, and
// connections.
func TestMetricsMatchWorkload(t *testing.T) {
	s := fjordtest.Start(t, fjordtest.Options{HTTP: true, Config: map[string]string{"auto.create.topics.enable": "false"}})
	checkProbes(t, s)
	s.CreateTopics(t, map[string]int32{workloadTopic: workloadPartitions})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	w := &workload{franz: &requestCounter{byKey: map[int16]int{}}}
	produceFranz(t, ctx, s.Addr, w, 500)
	produceSarama(t, s.Addr, w, 10)
	produceKcat(t, ctx, s.Addr, w, 5)
	failures := sendFailingRequests(t, ctx, s.Addr)
	consumeAll(t, ctx, s.Addr, w)

	sc := scrapeMetrics(t, s)
	topic := []string{"topic", workloadTopic}
	if got := sc.MustValue(t, "fjord_topic_messages_in_total", topic...); got != float64(w.records) {
		t.Errorf("messages in %v, want %d", got, w.records)
	}
	batches := sc.MustValue(t, "fjord_topic_produce_requests_total", topic...)
	if failed, _ := sc.Value("fjord_topic_failed_produce_requests_total", topic...); failed != 0 {
		t.Errorf("%v failed produce requests, want none", failed)
	}
	bytesIn := sc.MustValue(t, "fjord_topic_bytes_in_total", topic...)
	fixed := float64(w.payloadBytes) + batches*batchHeaderBytes
	low, high := fixed+float64(w.records*minRecordOverhead), fixed+float64(w.records*maxRecordOverhead)
	if bytesIn < low || bytesIn > high {
		t.Errorf("bytes in %v, want within [%v, %v] (%d payload bytes, %v batches, %d records)", bytesIn, low, high,
			w.payloadBytes, batches, w.records)
	}
	if out := sc.MustValue(t, "fjord_topic_bytes_out_total", topic...); out < bytesIn {
		t.Errorf("bytes out %v after consuming everything, want at least bytes in %v", out, bytesIn)
	}
	checkRequestCounts(t, sc, w)
	// Nothing waits once the clients are gone: the consumer's long poll
	// ends when the server sees its connection close.
	for _, api := range []string{"Produce", "Fetch"} {
		waitForMetric(t, s, func(v float64) bool { return v == 0 }, "fjord_requests_waiting", "api", api)
	}
	checkErrorCounts(t, sc, failures)
	// Connections: franz-go's, sarama's and kcat's at least; kcat has
	// exited, so its connection is closed once the server has seen it go.
	if acc := sc.MustValue(t, "fjord_connections_accepted_total", "listener", "PLAINTEXT"); acc < 3 {
		t.Errorf("%v connections accepted, want at least 3", acc)
	}
	waitForMetric(t, s, func(v float64) bool { return v >= 1 }, "fjord_connections_closed_total", "listener", "PLAINTEXT")
	checkRuntimeMetrics(t, sc)
}

func checkProbes(t *testing.T, s *fjordtest.Server) {
	t.Helper()
	if code, body := httpGetBody(t, s.HTTPURL(t, "/healthz")); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := httpGetBody(t, s.HTTPURL(t, "/readyz")); code != http.StatusOK || strings.TrimSpace(body) != "ready" {
		t.Errorf("/readyz: %d %s", code, body)
	}
}

func produceFranz(t *testing.T, ctx context.Context, addr string, w *workload, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.WithHooks(w.franz), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.DefaultProduceTopic(workloadTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	value := strings.Repeat("v", 100)
	records := make([]*kgo.Record, n)
	for i := range records {
		records[i] = &kgo.Record{Key: fmt.Appendf(nil, "franz-%04d", i), Value: []byte(value)}
		w.payloadBytes += len(records[i].Key) + len(records[i].Value)
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("franz-go produce: %v", err)
	}
	w.records += n
}

func produceSarama(t *testing.T, addr string, w *workload, n int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	producer, err := sarama.NewSyncProducer([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer producer.Close()
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		key, value := fmt.Sprintf("sarama-%04d", i), strings.Repeat("s", 50)
		msgs[i] = &sarama.ProducerMessage{Topic: workloadTopic, Key: sarama.StringEncoder(key), Value: sarama.StringEncoder(value)}
		w.payloadBytes += len(key) + len(value)
	}
	if err := producer.SendMessages(msgs); err != nil {
		t.Fatalf("sarama produce: %v", err)
	}
	w.records += n
}

func produceKcat(t *testing.T, ctx context.Context, addr string, w *workload, n int) {
	t.Helper()
	var in strings.Builder
	for i := range n {
		line := fmt.Sprintf("kcat-value-%d", i)
		in.WriteString(line + "\n")
		w.payloadBytes += len(line)
	}
	cmd := exec.CommandContext(ctx, "kcat", "-P", "-b", addr, "-t", workloadTopic, "-X", "compression.codec=none")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	w.records += n
}

// sendFailingRequests sends, straight to the broker, a ListOffsets for a
// partition that does not exist and a Produce to a topic that does not
// exist (auto-creation is off), and returns the Kafka error name each got
// by API (UNKNOWN_TOPIC_OR_PARTITION, or UNKNOWN_TOPIC_ID for a Produce
// v13, which names topics by id).
func sendFailingRequests(t *testing.T, ctx context.Context, addr string) map[string]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seed := cl.SeedBrokers()[0]

	lo := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = workloadTopic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Partition, lp.Timestamp = 99, -1
	lt.Partitions = append(lt.Partitions, lp)
	lo.Topics = append(lo.Topics, lt)
	loResp, err := lo.RequestWith(ctx, seed)
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	loCode := loResp.Topics[0].Partitions[0].ErrorCode
	if loCode == 0 {
		t.Fatal("ListOffsets of a missing partition succeeded")
	}

	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "metrics-missing-topic"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = []byte{} // refused before its records are read
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)
	prResp, err := pr.RequestWith(ctx, seed)
	if err != nil {
		t.Fatalf("Produce: %v", err)
	}
	prCode := prResp.Topics[0].Partitions[0].ErrorCode
	if prCode == 0 {
		t.Fatal("Produce to a missing topic succeeded")
	}
	return map[string]string{"ListOffsets": kerr.TypedErrorForCode(loCode).Message, "Produce": kerr.TypedErrorForCode(prCode).Message}
}

func consumeAll(t *testing.T, ctx context.Context, addr string, w *workload) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.WithHooks(w.franz), kgo.ConsumeTopics(workloadTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < w.records {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, w.records, err)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		got += fetches.NumRecords()
	}
}

// checkRequestCounts: the server counted at least the requests the
// franz-go clients wrote, plus the two failing ones and sarama's and
// kcat's produce. The consumer's last fetch, a long poll cut short when
// it closed, got no answer and is not counted.
func checkRequestCounts(t *testing.T, sc scrape, w *workload) {
	t.Helper()
	want := map[kmsg.Key]int{
		kmsg.Produce:     w.franz.count(kmsg.Produce) + 1 + 2, // + the failing one, sarama's and kcat's
		kmsg.Fetch:       w.franz.count(kmsg.Fetch) - 1,
		kmsg.ListOffsets: w.franz.count(kmsg.ListOffsets) + 1,
		kmsg.Metadata:    w.franz.count(kmsg.Metadata) + 2,
		kmsg.ApiVersions: w.franz.count(kmsg.ApiVersions) + 2,
	}
	for key, n := range want {
		api := kmsg.NameForKey(key.Int16())
		got := sc.MustValue(t, "fjord_requests_total", "api", api)
		if got < float64(n) {
			t.Errorf("requests_total{api=%s} = %v, want at least %d", api, got, n)
		}
		// A request is counted before its response is written, its
		// latencies after: the last few may not be in yet.
		if total := sc.MustValue(t, "fjord_request_total_time_seconds", "api", api); total > got || total < 1 {
			t.Errorf("request_total_time_seconds{api=%s} has %v samples for %v requests", api, total, got)
		}
	}
}

func checkErrorCounts(t *testing.T, sc scrape, failures map[string]string) {
	t.Helper()
	for api, name := range failures {
		if got, _ := sc.Value("fjord_request_errors_total", "api", api, "error", name); got != 1 {
			t.Errorf("request_errors_total{api=%s,error=%s} = %v, want 1", api, name, got)
		}
	}
	if _, ok := sc.Value("fjord_topic_failed_produce_requests_total", "topic", "metrics-missing-topic"); ok {
		t.Error("a topic that does not exist got series")
	}
}

func checkRuntimeMetrics(t *testing.T, sc scrape) {
	t.Helper()
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total",
		"process_open_fds", "process_resident_memory_bytes"} {
		if sc[name] == nil {
			t.Errorf("no %s in /metrics", name)
		}
	}
}

// TestHTTPListenerSurvivesRestart: a restarted server listens on the same
// HTTP port, so scrapers keep their target, and is ready again.
func TestHTTPListenerSurvivesRestart(t *testing.T) {
	s := fjordtest.Start(t, fjordtest.Options{HTTP: true})
	before := s.HTTPAddr()
	if before == "" || strings.HasSuffix(before, ":0") {
		t.Fatalf("HTTPAddr %q", before)
	}
	s.Restart(t)
	if after := s.HTTPAddr(); after != before {
		t.Fatalf("HTTP listener moved from %s to %s on restart", before, after)
	}
	checkProbes(t, s)
	sc := scrapeMetrics(t, s)
	if sc["process_start_time_seconds"] == nil {
		t.Fatal("no process metrics after restart")
	}
}

// TestDeletedTopicLosesSeries: a deleted topic's series leave the
// exposition, so that creating and deleting topics does not grow it.
func TestDeletedTopicLosesSeries(t *testing.T) {
	s := fjordtest.Start(t, fjordtest.Options{HTTP: true})
	const topic = "metrics-deleted"
	s.CreateTopics(t, map[string]int32{topic: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := scrapeMetrics(t, s).MustValue(t, "fjord_topic_messages_in_total", "topic", topic); got != 1 {
		t.Fatalf("messages in %v, want 1", got)
	}
	if _, err := kadm.NewClient(cl).DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(metricsTimeout)
	for {
		if _, ok := scrapeMetrics(t, s).Value("fjord_topic_messages_in_total", "topic", topic); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s deleted %v ago still has series", topic, metricsTimeout)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
