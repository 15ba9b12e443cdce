// Package metrics holds one node's Prometheus metrics of traffic: requests
// per API with their latencies split as Kafka splits them, errors per API
// and error code, connections per listener, bytes and records per topic,
// requests waiting, and log flush latency. Names follow Prometheus'
// conventions with a fjord_ prefix; docs/metrics.md maps each to Kafka's
// MBean.
//
// Model: the node creates one Metrics, registers it in its own
// prometheus.Registry (never the global one), and passes it down to the
// server and the broker. A nil *Metrics is valid and records nothing, so
// tests and tools that do not care pass none.
//
// Cost: the hot path (Produce, Fetch) must not allocate for metrics. Label
// children are bound once and cached: per API in an array indexed by API
// key, per topic in a sync.Map keyed by name, per listener in the server's
// own struct. Counters and histograms of client_golang are lock-free.
//
// Concurrency: every method is safe for concurrent use.
package metrics

import (
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// namespace prefixes every metric.
const namespace = "fjord"

// latencyBuckets are the request latency buckets, in seconds: from 100 µs
// (a produce answered from memory) to 30 s (maxFetchWait, long polls).
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// fsyncBuckets are the fsync latency buckets, in seconds: from 50 µs (a
// write-back cache) to 10 s (a disk in trouble).
var fsyncBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}

// Metrics are one node's traffic metrics.
type Metrics struct {
	requests       *prometheus.CounterVec
	queueTime      *prometheus.HistogramVec
	localTime      *prometheus.HistogramVec
	remoteTime     *prometheus.HistogramVec
	sendTime       *prometheus.HistogramVec
	totalTime      *prometheus.HistogramVec
	waiting        *prometheus.GaugeVec
	requestErrors  *prometheus.CounterVec
	connections    *prometheus.GaugeVec
	connAccepted   *prometheus.CounterVec
	connClosed     *prometheus.CounterVec
	topicBytesIn   *prometheus.CounterVec
	topicBytesOut  *prometheus.CounterVec
	topicMessages  *prometheus.CounterVec
	topicProduce   *prometheus.CounterVec
	topicFetch     *prometheus.CounterVec
	topicProduceKO *prometheus.CounterVec
	topicFetchKO   *prometheus.CounterVec
	replBytesOut   prometheus.Counter
	replBytesIn    prometheus.Counter
	logFlush       prometheus.Histogram

	// apis are the bound children of each API key, made on its first
	// request so that an API never called exposes no series.
	apis [kmsg.MaxKey + 1]atomic.Pointer[API]
	// errorCounters caches the error counters by errorKey(api, code).
	errorCounters sync.Map
	// topics caches *Topic by topic name.
	topics sync.Map
	// mu serializes creating children (API, Topic) and dropping topics,
	// so a topic dropped is not re-added half-made.
	mu sync.Mutex
}

// New creates the metrics and registers them in reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{}
	m.newRequestMetrics()
	m.newConnectionMetrics()
	m.newTopicMetrics()
	m.logFlush = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "log_flush_duration_seconds",
		Help: "Time to fsync a log segment (and its indexes), as Kafka's LogFlushRateAndTimeMs.", Buckets: fsyncBuckets})
	reg.MustRegister(m.requests, m.queueTime, m.localTime, m.remoteTime, m.sendTime, m.totalTime, m.waiting,
		m.requestErrors, m.connections, m.connAccepted, m.connClosed, m.topicBytesIn, m.topicBytesOut,
		m.topicMessages, m.topicProduce, m.topicFetch, m.topicProduceKO, m.topicFetchKO, m.replBytesOut, m.replBytesIn, m.logFlush)
	return m
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
}

func latencyVec(name, help string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help,
		Buckets: latencyBuckets}, []string{"api"})
}

// FlushObserver receives the duration of each log flush (fsync) in
// seconds; it is what internal/storage is given, so that storage does
// not depend on Prometheus. Nil on a nil Metrics.
func (m *Metrics) FlushObserver() FlushObserver {
	if m == nil {
		return nil
	}
	return m.logFlush
}

// FlushObserver is the one method of a histogram that storage calls.
type FlushObserver interface{ Observe(seconds float64) }
