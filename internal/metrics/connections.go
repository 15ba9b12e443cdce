package metrics

import "github.com/prometheus/client_golang/prometheus"

func (m *Metrics) newConnectionMetrics() {
	m.connections = gaugeVec("connections", "Open client connections, by listener (socket-server-metrics connection-count).", "listener")
	m.connAccepted = counterVec("connections_accepted_total",
		"Connections accepted and admitted, by listener; its rate is connection-creation-rate (socket-server-metrics connection-creation-total).", "listener")
	m.connClosed = counterVec("connections_closed_total",
		"Connections closed, by listener (socket-server-metrics connection-close-total).", "listener")
}

// Listener holds the connection metrics of one listener.
type Listener struct {
	open     prometheus.Gauge
	accepted prometheus.Counter
	closed   prometheus.Counter
}

// Listener returns the connection metrics of a listener by name, or nil
// for a nil Metrics. The server calls it once per listener.
func (m *Metrics) Listener(name string) *Listener {
	if m == nil {
		return nil
	}
	return &Listener{open: m.connections.WithLabelValues(name), accepted: m.connAccepted.WithLabelValues(name),
		closed: m.connClosed.WithLabelValues(name)}
}

// Opened counts a connection accepted and admitted.
func (l *Listener) Opened() {
	if l != nil {
		l.accepted.Inc()
		l.open.Inc()
	}
}

// Closed counts a connection Opened that closed.
func (l *Listener) Closed() {
	if l != nil {
		l.closed.Inc()
		l.open.Dec()
	}
}
