package lag

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, mapped to Burrow's and kafka-exporter's in docs/metrics.md.
var (
	lagOffsetsDesc = prometheus.NewDesc("fjord_consumer_group_lag_offsets",
		"Records between the group's committed offset and the partition's high watermark.",
		[]string{"group", "topic", "partition"}, nil)
	lagSecondsDesc = prometheus.NewDesc("fjord_consumer_group_lag_seconds",
		"Age of the first record the group has not consumed (0 when caught up).",
		[]string{"group", "topic", "partition"}, nil)
	committedDesc = prometheus.NewDesc("fjord_consumer_group_committed_offset",
		"The group's committed offset.", []string{"group", "topic", "partition"}, nil)
	totalLagDesc = prometheus.NewDesc("fjord_consumer_group_total_lag_offsets",
		"Sum of the group's lag over its partitions.", []string{"group"}, nil)
	maxLagSecondsDesc = prometheus.NewDesc("fjord_consumer_group_max_lag_seconds",
		"Largest lag in seconds over the group's partitions.", []string{"group"}, nil)
	statusDesc = prometheus.NewDesc("fjord_consumer_group_status",
		"1 for the group's current status (OK, UNKNOWN, WARNING, STALLED, STOPPED, ERROR), 0 for the others.",
		[]string{"group", "status"}, nil)
)

// Collector returns a Prometheus collector of the latest snapshot. Lag in
// seconds is left out where unknown (-1), and so are a partition's lag
// series while it cannot be read (its status says ERROR).
func (m *Monitor) Collector() prometheus.Collector { return collector{m} }

type collector struct{ m *Monitor }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lagOffsetsDesc, lagSecondsDesc, committedDesc, totalLagDesc,
		maxLagSecondsDesc, statusDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, g := range c.m.Groups() {
		for _, p := range g.Partitions {
			labels := []string{g.Group, p.Topic, strconv.Itoa(int(p.Partition))}
			ch <- prometheus.MustNewConstMetric(committedDesc, prometheus.GaugeValue, float64(p.Committed), labels...)
			if p.Lag >= 0 {
				ch <- prometheus.MustNewConstMetric(lagOffsetsDesc, prometheus.GaugeValue, float64(p.Lag), labels...)
			}
			if p.LagSeconds >= 0 {
				ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, p.LagSeconds, labels...)
			}
		}
		ch <- prometheus.MustNewConstMetric(totalLagDesc, prometheus.GaugeValue, float64(g.TotalLag), g.Group)
		ch <- prometheus.MustNewConstMetric(maxLagSecondsDesc, prometheus.GaugeValue, g.MaxLagSeconds, g.Group)
		for _, s := range Statuses {
			v := 0.0
			if s == g.Status {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, v, g.Group, string(s))
		}
	}
}
