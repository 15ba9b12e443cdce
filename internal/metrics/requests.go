package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (m *Metrics) newRequestMetrics() {
	m.requests = counterVec("requests_total", "Requests received, by API (Kafka's RequestsPerSec).", "api")
	m.queueTime = latencyVec("request_queue_time_seconds",
		"From the request read in full to its handler starting: waiting for a handling slot and decoding (RequestQueueTimeMs).")
	m.localTime = latencyVec("request_local_time_seconds", "Time in the handler (LocalTimeMs).")
	m.remoteTime = latencyVec("request_remote_time_seconds",
		"Time the request waited after its handler: fsync and ISR acks of a produce, a fetch's long poll, a group join (RemoteTimeMs).")
	m.sendTime = latencyVec("response_send_time_seconds", "Time to encode and write the response (ResponseSendTimeMs).")
	m.totalTime = latencyVec("request_total_time_seconds",
		"From the request read in full to its response written, including waiting behind earlier responses of the connection (TotalTimeMs).")
	m.waiting = gaugeVec("requests_waiting",
		"Requests whose handler returned and whose response waits (fsync, acks=all, long-poll fetch, group join), by API; Kafka's PurgatorySize for Produce and Fetch.",
		"api")
	m.requestErrors = counterVec("request_errors_total",
		"Error codes in responses, by API and Kafka error name; each partition's error counts once (ErrorsPerSec, without NONE).",
		"api", "error")
}

// API holds the bound metrics of one API key.
type API struct {
	m          *Metrics
	key        int16
	name       string
	requests   prometheus.Counter
	queueTime  prometheus.Observer
	localTime  prometheus.Observer
	remoteTime prometheus.Observer
	sendTime   prometheus.Observer
	totalTime  prometheus.Observer
	waiting    prometheus.Gauge
}

// API returns the metrics of an API key, or nil for a nil Metrics or a key
// kmsg does not know.
func (m *Metrics) API(key int16) *API {
	if m == nil || key < 0 || int(key) >= len(m.apis) {
		return nil
	}
	if a := m.apis[key].Load(); a != nil {
		return a
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.apis[key].Load(); a != nil {
		return a
	}
	name := apiName(key)
	a := &API{m: m, key: key, name: name, requests: m.requests.WithLabelValues(name),
		queueTime: m.queueTime.WithLabelValues(name), localTime: m.localTime.WithLabelValues(name),
		remoteTime: m.remoteTime.WithLabelValues(name), sendTime: m.sendTime.WithLabelValues(name),
		totalTime: m.totalTime.WithLabelValues(name), waiting: m.waiting.WithLabelValues(name)}
	m.apis[key].Store(a)
	return a
}

// RequestTimes are the instants of one request's life, as the server saw
// them.
type RequestTimes struct {
	Read         time.Time // the frame was read in full
	HandlerStart time.Time // decoded, the handler called
	HandlerDone  time.Time // the handler returned
	Ready        time.Time // the response was ready (after a wait, if any)
	SendStart    time.Time // the writer took the response
	Sent         time.Time // the response was written
}

// Answered counts a request whose response is about to be written, and
// the error codes in that response. It runs before the write, so that a
// client that got its answer finds it counted. A nil API records nothing.
func (a *API) Answered(resp kmsg.Response) {
	if a == nil {
		return
	}
	a.requests.Inc()
	countErrors(resp, a.countError)
}

// Sent records the latencies of a request Answered, once its response
// was written.
func (a *API) Sent(t *RequestTimes) {
	if a == nil {
		return
	}
	a.queueTime.Observe(seconds(t.HandlerStart.Sub(t.Read)))
	a.localTime.Observe(seconds(t.HandlerDone.Sub(t.HandlerStart)))
	a.remoteTime.Observe(seconds(t.Ready.Sub(t.HandlerDone)))
	a.sendTime.Observe(seconds(t.Sent.Sub(t.SendStart)))
	a.totalTime.Observe(seconds(t.Sent.Sub(t.Read)))
}

// ObserveUnanswered records a request that gets no response (Produce with
// acks=0): its count and the latencies up to its handler.
func (a *API) ObserveUnanswered(t *RequestTimes) {
	if a == nil {
		return
	}
	a.requests.Inc()
	a.queueTime.Observe(seconds(t.HandlerStart.Sub(t.Read)))
	a.localTime.Observe(seconds(t.HandlerDone.Sub(t.HandlerStart)))
}

// WaitStarted and WaitDone count a request whose response waits.
func (a *API) WaitStarted() {
	if a != nil {
		a.waiting.Inc()
	}
}

// WaitDone ends what WaitStarted counted.
func (a *API) WaitDone() {
	if a != nil {
		a.waiting.Dec()
	}
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Seconds()
}

// countError counts one non-zero error code of this API's responses.
func (a *API) countError(code int16) {
	key := uint32(uint16(a.key))<<16 | uint32(uint16(code))
	if c, ok := a.m.errorCounters.Load(key); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	// A code kerr does not know gets one name, so that the label set
	// stays bounded.
	name := "UNKNOWN_CODE"
	if e := kerr.TypedErrorForCode(code); e != nil {
		name = e.Message
	}
	if code == kerr.NotLeaderForPartition.Code {
		name = "NOT_LEADER_OR_FOLLOWER" // Kafka's name since 2.6 (KIP-392); kerr keeps the old one
	}
	c, _ := a.m.errorCounters.LoadOrStore(key, a.m.requestErrors.WithLabelValues(a.name, name))
	c.(prometheus.Counter).Inc()
}

// kafkaAPINames are Kafka's names (ApiKeys' "name", the request tag of its
// RequestMetrics) where kmsg spells them otherwise.
var kafkaAPINames = map[kmsg.Key]string{
	kmsg.LeaderAndISR:                 "LeaderAndIsr",
	kmsg.SASLHandshake:                "SaslHandshake",
	kmsg.InitProducerID:               "InitProducerId",
	kmsg.DescribeACLs:                 "DescribeAcls",
	kmsg.CreateACLs:                   "CreateAcls",
	kmsg.DeleteACLs:                   "DeleteAcls",
	kmsg.SASLAuthenticate:             "SaslAuthenticate",
	kmsg.DescribeUserSCRAMCredentials: "DescribeUserScramCredentials",
	kmsg.AlterUserSCRAMCredentials:    "AlterUserScramCredentials",
	kmsg.AllocateProducerIDs:          "AllocateProducerIds",
}

// apiName is Kafka's name of an API key.
func apiName(key int16) string {
	if name, ok := kafkaAPINames[kmsg.Key(key)]; ok {
		return name
	}
	return kmsg.NameForKey(key)
}
