package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metrics/metricstest"
)

// mustValue fails the test unless family's sample with exactly labels
// (name, value pairs) is want.
func mustValue(t *testing.T, reg *prometheus.Registry, want float64, family string, labels ...string) {
	t.Helper()
	if got := metricstest.Gather(t, reg).MustValue(t, family, labels...); got != want {
		t.Fatalf("%s%v = %v, want %v", family, labels, got, want)
	}
}

func produceResponse(codes ...int16) *kmsg.ProduceResponse {
	resp := kmsg.NewPtrProduceResponse()
	topic := kmsg.NewProduceResponseTopic()
	for i, c := range codes {
		p := kmsg.NewProduceResponseTopicPartition()
		p.Partition, p.ErrorCode = int32(i), c
		topic.Partitions = append(topic.Partitions, p)
	}
	resp.Topics = append(resp.Topics, topic)
	return resp
}

func TestRequestLatenciesAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	if _, ok := metricstest.Gather(t, reg).Value("fjord_requests_total", "api", "Produce"); ok {
		t.Fatal("an API never called has series")
	}
	read := time.Unix(100, 0)
	times := RequestTimes{Read: read, HandlerStart: read.Add(time.Millisecond), HandlerDone: read.Add(3 * time.Millisecond),
		Ready: read.Add(13 * time.Millisecond), SendStart: read.Add(14 * time.Millisecond), Sent: read.Add(15 * time.Millisecond)}
	api := m.API(kmsg.Produce.Int16())
	if m.API(kmsg.Produce.Int16()) != api {
		t.Fatal("API children are not cached")
	}
	api.Answered(produceResponse(0, kerr.NotLeaderForPartition.Code, kerr.NotLeaderForPartition.Code))
	api.Sent(&times)
	api.Answered(produceResponse(kerr.UnknownTopicOrPartition.Code))
	api.Sent(&times)
	api.ObserveUnanswered(&times)

	mustValue(t, reg, 3, "fjord_requests_total", "api", "Produce")
	mustValue(t, reg, 2, "fjord_request_errors_total", "api", "Produce", "error", "NOT_LEADER_OR_FOLLOWER")
	mustValue(t, reg, 1, "fjord_request_errors_total", "api", "Produce", "error", "UNKNOWN_TOPIC_OR_PARTITION")
	mustValue(t, reg, 3, "fjord_request_queue_time_seconds", "api", "Produce")
	mustValue(t, reg, 2, "fjord_request_remote_time_seconds", "api", "Produce")
	mustValue(t, reg, 2, "fjord_request_total_time_seconds", "api", "Produce")
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() != "fjord_request_remote_time_seconds" {
			continue
		}
		if sum := f.GetMetric()[0].GetHistogram().GetSampleSum(); sum < 0.0199 || sum > 0.0201 {
			t.Fatalf("remote time sum %v s, want 0.02 (two waits of 10 ms)", sum)
		}
	}
}

func TestWaitingGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	api := New(reg).API(kmsg.Fetch.Int16())
	api.WaitStarted()
	api.WaitStarted()
	api.WaitDone()
	mustValue(t, reg, 1, "fjord_requests_waiting", "api", "Fetch")
}

func TestSplicedResponseErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	api := New(reg).API(kmsg.Fetch.Int16())
	resp := kmsg.NewPtrFetchResponse()
	topic := kmsg.NewFetchResponseTopic()
	p := kmsg.NewFetchResponseTopicPartition()
	p.ErrorCode = kerr.OffsetOutOfRange.Code
	topic.Partitions = append(topic.Partitions, p)
	resp.Topics = append(resp.Topics, topic)
	api.Answered(wrapped{resp})
	mustValue(t, reg, 1, "fjord_request_errors_total", "api", "Fetch", "error", "OFFSET_OUT_OF_RANGE")
}

type wrapped struct{ *kmsg.FetchResponse }

func (w wrapped) Unwrap() kmsg.Response { return w.FetchResponse }

func TestTopicsAndDrop(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Topic("a").Produced(100, 3, false)
	m.Topic("a").Produced(50, 0, true)
	m.Topic("a").Fetched(70, false)
	m.Topic("b").Fetched(0, true)
	mustValue(t, reg, 100, "fjord_topic_bytes_in_total", "topic", "a")
	mustValue(t, reg, 3, "fjord_topic_messages_in_total", "topic", "a")
	mustValue(t, reg, 2, "fjord_topic_produce_requests_total", "topic", "a")
	mustValue(t, reg, 1, "fjord_topic_failed_produce_requests_total", "topic", "a")
	mustValue(t, reg, 70, "fjord_topic_bytes_out_total", "topic", "a")
	mustValue(t, reg, 1, "fjord_topic_failed_fetch_requests_total", "topic", "b")

	m.DropTopicsExcept(func(topic string) bool { return topic == "a" })
	if _, ok := metricstest.Gather(t, reg).Value("fjord_topic_fetch_requests_total", "topic", "b"); ok {
		t.Fatal("a deleted topic keeps its series")
	}
	mustValue(t, reg, 100, "fjord_topic_bytes_in_total", "topic", "a")
	m.Topic("b").Produced(1, 1, false)
	mustValue(t, reg, 1, "fjord_topic_bytes_in_total", "topic", "b")
}

func TestConnections(t *testing.T) {
	reg := prometheus.NewRegistry()
	l := New(reg).Listener("PLAINTEXT")
	l.Opened()
	l.Opened()
	l.Closed()
	mustValue(t, reg, 1, "fjord_connections", "listener", "PLAINTEXT")
	mustValue(t, reg, 2, "fjord_connections_accepted_total", "listener", "PLAINTEXT")
	mustValue(t, reg, 1, "fjord_connections_closed_total", "listener", "PLAINTEXT")
}

// TestNilRecordsNothing checks that a node without metrics can call every
// method.
func TestNilRecordsNothing(t *testing.T) {
	var m *Metrics
	m.API(0).Answered(produceResponse(1))
	m.API(0).Sent(&RequestTimes{})
	m.API(0).ObserveUnanswered(&RequestTimes{})
	m.API(0).WaitStarted()
	m.API(0).WaitDone()
	m.Topic("a").Produced(1, 1, false)
	m.Topic("a").Fetched(1, false)
	m.Listener("x").Opened()
	m.Listener("x").Closed()
	m.DropTopicsExcept(func(string) bool { return false })
	m.ReplicationBytesOut(1)
	if m.FlushObserver() != nil {
		t.Fatal("nil Metrics has a flush observer")
	}
	if New(prometheus.NewRegistry()).API(-1) != nil || New(prometheus.NewRegistry()).API(kmsg.MaxKey+1) != nil {
		t.Fatal("API of an unknown key")
	}
}

// TestHotPathDoesNotAllocate holds the promise of the package doc: once
// bound, recording a produce or a fetch allocates nothing.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m := New(prometheus.NewRegistry())
	resp := produceResponse(0, 0, 0)
	times := &RequestTimes{}
	m.API(0).Answered(resp)
	m.Topic("orders").Produced(1, 1, false)
	allocs := testing.AllocsPerRun(1000, func() {
		m.API(0).Answered(resp)
		m.API(0).Sent(times)
		m.Topic("orders").Produced(1000, 10, false)
		m.Topic("orders").Fetched(1000, false)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}

func TestExpositionNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.API(0).Answered(produceResponse(kerr.NotLeaderForPartition.Code))
	m.API(0).Sent(&RequestTimes{})
	m.Topic("t").Produced(1, 1, false)
	m.Listener("L").Opened()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		name := f.GetName()
		if !strings.HasPrefix(name, "fjord_") {
			t.Errorf("%s: no fjord_ prefix", name)
		}
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if f.GetType() == dto.MetricType_HISTOGRAM && !strings.HasSuffix(name, "_seconds") {
			t.Errorf("histogram %s does not end in _seconds", name)
		}
	}
}

func BenchmarkProduceRequestMetrics(b *testing.B) {
	m := New(prometheus.NewRegistry())
	resp := produceResponse(0)
	times := &RequestTimes{}
	b.ReportAllocs()
	for b.Loop() {
		m.API(0).Answered(resp)
		m.API(0).Sent(times)
		m.Topic("orders").Produced(1000, 10, false)
	}
}

func TestKafkaAPINames(t *testing.T) {
	for key, want := range map[kmsg.Key]string{kmsg.Produce: "Produce", kmsg.SASLHandshake: "SaslHandshake",
		kmsg.InitProducerID: "InitProducerId", kmsg.DescribeACLs: "DescribeAcls", kmsg.ApiVersions: "ApiVersions"} {
		if got := apiName(key.Int16()); got != want {
			t.Errorf("API %d named %q, want Kafka's %q", key, got, want)
		}
	}
}
