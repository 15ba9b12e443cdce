package metrics

import "github.com/prometheus/client_golang/prometheus"

func (m *Metrics) newTopicMetrics() {
	m.topicBytesIn = counterVec("topic_bytes_in_total",
		"Record batch bytes appended from clients (not replication), by topic (BrokerTopicMetrics BytesInPerSec).", "topic")
	m.topicBytesOut = counterVec("topic_bytes_out_total",
		"Record batch bytes sent to consumers (not followers), by topic (BrokerTopicMetrics BytesOutPerSec).", "topic")
	m.topicMessages = counterVec("topic_messages_in_total",
		"Records appended from clients, by topic (BrokerTopicMetrics MessagesInPerSec).", "topic")
	m.topicProduce = counterVec("topic_produce_requests_total",
		"Produce requests per partition led here, by topic (TotalProduceRequestsPerSec).", "topic")
	m.topicFetch = counterVec("topic_fetch_requests_total",
		"Consumer fetches per partition led here, by topic (TotalFetchRequestsPerSec).", "topic")
	m.topicProduceKO = counterVec("topic_failed_produce_requests_total",
		"Produce requests of a partition answered with an error, by topic (FailedProduceRequestsPerSec).", "topic")
	m.topicFetchKO = counterVec("topic_failed_fetch_requests_total",
		"Consumer fetches of a partition answered with an error, by topic (FailedFetchRequestsPerSec).", "topic")
	m.replBytesOut = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "replication_bytes_out_total",
		Help: "Record batch bytes sent to follower replicas (BrokerTopicMetrics ReplicationBytesOutPerSec)."})
	m.replBytesIn = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "replication_bytes_in_total",
		Help: "Record batch bytes appended from leaders by this broker's follower replicas (BrokerTopicMetrics ReplicationBytesInPerSec)."})
}

// Topic holds the bound metrics of one topic.
type Topic struct {
	bytesIn, bytesOut, messagesIn prometheus.Counter
	produce, fetch                prometheus.Counter
	failedProduce, failedFetch    prometheus.Counter
}

// Produced counts one partition of a produce request: its batch bytes and
// records when appended, else a failure. A nil Topic records nothing.
func (t *Topic) Produced(batchBytes, records int, failed bool) {
	if t == nil {
		return
	}
	t.produce.Inc()
	if failed {
		t.failedProduce.Inc()
		return
	}
	t.bytesIn.Add(float64(batchBytes))
	t.messagesIn.Add(float64(records))
}

// Fetched counts one partition of a consumer's fetch: the record bytes
// sent, or a failure.
func (t *Topic) Fetched(batchBytes int64, failed bool) {
	if t == nil {
		return
	}
	t.fetch.Inc()
	if failed {
		t.failedFetch.Inc()
		return
	}
	if batchBytes > 0 {
		t.bytesOut.Add(float64(batchBytes))
	}
}

// Topic returns the metrics of a topic, or nil for a nil Metrics. The
// first call for a name binds its children; later ones find them in a
// map without allocating.
func (m *Metrics) Topic(name string) *Topic {
	if m == nil {
		return nil
	}
	if t, ok := m.topics.Load(name); ok {
		return t.(*Topic)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.topics.Load(name); ok {
		return t.(*Topic)
	}
	t := &Topic{bytesIn: m.topicBytesIn.WithLabelValues(name), bytesOut: m.topicBytesOut.WithLabelValues(name),
		messagesIn: m.topicMessages.WithLabelValues(name), produce: m.topicProduce.WithLabelValues(name),
		fetch: m.topicFetch.WithLabelValues(name), failedProduce: m.topicProduceKO.WithLabelValues(name),
		failedFetch: m.topicFetchKO.WithLabelValues(name)}
	m.topics.Store(name, t)
	return t
}

// DropTopicsExcept removes the series of every topic for which exists
// says false (a deleted topic), so that a cluster creating and deleting
// topics does not grow its exposition forever. A topic recreated later
// starts again from zero, as a Prometheus counter reset.
func (m *Metrics) DropTopicsExcept(exists func(topic string) bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.topics.Range(func(k, _ any) bool {
		name := k.(string)
		if exists(name) {
			return true
		}
		m.topics.Delete(name)
		for _, v := range []*prometheus.CounterVec{m.topicBytesIn, m.topicBytesOut, m.topicMessages, m.topicProduce,
			m.topicFetch, m.topicProduceKO, m.topicFetchKO} {
			v.DeleteLabelValues(name)
		}
		return true
	})
}

// ReplicationBytesOut counts bytes sent to followers.
func (m *Metrics) ReplicationBytesOut(n int64) {
	if m != nil {
		m.replBytesOut.Add(float64(n))
	}
}

// ReplicationBytesIn returns what counts the bytes this broker's
// followers append, nil without metrics.
func (m *Metrics) ReplicationBytesIn() func(n int) {
	if m == nil {
		return nil
	}
	return func(n int) { m.replBytesIn.Add(float64(n)) }
}
