package broker

// State metrics: partitions, ISR, the metadata quorum and groups, computed
// when Prometheus scrapes, from the immutable metadata image, the replica
// manager's replicas and the group coordinator. Nothing is kept up to date
// between scrapes except the event counters the owning packages keep (ISR
// changes in replicas, rebalances in group). docs/metrics.md maps each
// metric to Kafka's.

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjordhq/fjord/internal/group"
	"github.com/fjordhq/fjord/internal/metadata"
)

// groupViewTimeout bounds the wait for the group coordinator's goroutine
// during a scrape: a coordinator busy loading a large offsets partition
// must not hold the scrape past Prometheus' own timeout. Group gauges are
// left out of that scrape.
const groupViewTimeout = time.Second

// StateCollector returns the collector of this broker's state metrics. It
// reads the broker at each scrape; register it once per broker, and serve
// scrapes only after Start returned (Start sets the group coordinator up).
func (b *Broker) StateCollector() prometheus.Collector {
	return &stateCollector{b: b, d: newStateDescs()}
}

// stateDescs are the state metrics' descriptions.
type stateDescs struct {
	partitions, partitionsLed, underReplicated, underMinISR, atMinISR, offline *prometheus.Desc
	isrShrinks, isrExpands                                                     *prometheus.Desc

	logSize, logSegments, logStart, logEnd, highWatermark *prometheus.Desc

	controllerActive, raftState, raftLeader, raftTerm           *prometheus.Desc
	raftCommitIndex, raftAppliedIndex, raftLastIndex, raftLag   *prometheus.Desc
	brokersRegistered, brokersFenced, globalTopics, globalParts *prometheus.Desc

	groups, groupProtocolTypes, groupMembers, rebalances *prometheus.Desc
}

func newStateDescs() stateDescs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("fjord_"+name, help, labels, nil)
	}
	tp := []string{"topic", "partition"}
	return stateDescs{
		partitions:      d("partitions", "Partition replicas assigned to this broker."),
		partitionsLed:   d("partitions_led", "Partitions this broker leads."),
		underReplicated: d("under_replicated_partitions", "Partitions led here whose ISR is smaller than their replicas."),
		underMinISR:     d("under_min_isr_partitions", "Partitions led here whose ISR is smaller than min.insync.replicas."),
		atMinISR:        d("at_min_isr_partitions", "Partitions led here whose ISR is exactly min.insync.replicas."),
		offline:         d("offline_partitions", "Partitions without a leader, cluster-wide; reported by the active controller, 0 elsewhere."),
		isrShrinks:      d("isr_shrinks_total", "Committed ISR shrinks of partitions led here."),
		isrExpands:      d("isr_expands_total", "Committed ISR expansions of partitions led here."),

		logSize:       d("log_size_bytes", "Bytes in the replica's log segments.", tp...),
		logSegments:   d("log_segments", "Segments of the replica's log.", tp...),
		logStart:      d("log_start_offset", "The replica's log start offset.", tp...),
		logEnd:        d("log_end_offset", "The replica's log end offset.", tp...),
		highWatermark: d("log_high_watermark", "The replica's high watermark.", tp...),

		controllerActive:  d("controller_active", "1 on the node that leads the metadata quorum (the active controller)."),
		raftState:         d("raft_state", "1 for this node's state in the metadata quorum.", "state"),
		raftLeader:        d("raft_leader_id", "Node id of the metadata quorum's leader as this node knows it; -1 for none."),
		raftTerm:          d("raft_term", "Current Raft term (epoch) of the metadata quorum."),
		raftCommitIndex:   d("raft_commit_index", "Highest Raft log index known committed."),
		raftAppliedIndex:  d("raft_applied_index", "Highest Raft log index applied to this node's metadata image."),
		raftLastIndex:     d("raft_last_log_index", "Last index in this node's Raft log."),
		raftLag:           d("raft_commit_lag_entries", "Committed Raft entries this node has not applied: commit index minus applied index."),
		brokersRegistered: d("controller_registered_brokers", "Registered brokers, fenced or not; active controller only, 0 elsewhere."),
		brokersFenced:     d("controller_fenced_brokers", "Fenced brokers; active controller only, 0 elsewhere."),
		globalTopics:      d("controller_topics", "Topics in the cluster; active controller only, 0 elsewhere."),
		globalParts:       d("controller_partitions", "Partitions in the cluster; active controller only, 0 elsewhere."),

		groups:             d("groups", "Groups this broker coordinates, by type and state.", "type", "state"),
		groupProtocolTypes: d("groups_by_protocol_type", "Groups this broker coordinates, by the protocol type their members use.", "protocol_type"),
		groupMembers:       d("group_members", "Members of the groups this broker coordinates.", "type"),
		rebalances:         d("group_rebalances_total", "Rebalances: generations completed (classic) or group epochs bumped (consumer).", "type"),
	}
}

// stateCollector is a prometheus.Collector over a broker's state.
type stateCollector struct {
	b *Broker
	d stateDescs
}

// Describe sends every description; the set does not change.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	d := &c.d
	for _, desc := range []*prometheus.Desc{d.partitions, d.partitionsLed, d.underReplicated, d.underMinISR, d.atMinISR,
		d.offline, d.isrShrinks, d.isrExpands, d.logSize, d.logSegments, d.logStart, d.logEnd, d.highWatermark,
		d.controllerActive, d.raftState, d.raftLeader, d.raftTerm, d.raftCommitIndex, d.raftAppliedIndex,
		d.raftLastIndex, d.raftLag, d.brokersRegistered, d.brokersFenced, d.globalTopics, d.globalParts,
		d.groups, d.groupProtocolTypes, d.groupMembers, d.rebalances} {
		ch <- desc
	}
}

// Collect computes every state metric now.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	q := c.b.meta.QuorumMetrics()
	active := q.State == metadata.RaftStateLeader
	c.collectPartitions(ch, c.b.meta.Image(), active)
	c.collectLogs(ch)
	c.collectQuorum(ch, q)
	c.collectGroups(ch)
}

// partitionCounts are the partition gauges of one scrape.
type partitionCounts struct {
	partitions, led, underReplicated, underMinISR, atMinISR, offline int
	topics, clusterPartitions                                        int
}

// collectPartitions counts partitions from the metadata image. The ISR
// is the committed one, as the leader holds it; min.insync.replicas comes
// from the local replica's effective topic config.
func (c *stateCollector) collectPartitions(ch chan<- prometheus.Metric, img *metadata.Image, active bool) {
	self := c.b.opts.NodeID
	var n partitionCounts
	for _, t := range img.Topics() {
		n.topics++
		for _, p := range t.Partitions {
			n.clusterPartitions++
			if p.Leader < 0 {
				n.offline++
			}
			if slices.Contains(p.Replicas, self) {
				n.partitions++
			}
			if p.Leader != self {
				continue
			}
			n.led++
			// A reassignment's adding replicas are not yet expected in
			// the ISR, as in Kafka's replication factor.
			if len(p.ISR) < len(p.Replicas)-len(p.AddingReplicas) {
				n.underReplicated++
			}
			r := c.b.replicas.Partition(t.Name, p.Partition)
			if r == nil {
				continue // not opened yet
			}
			switch minISR := int(r.Config().MinInsyncReplicas); {
			case len(p.ISR) < minISR:
				n.underMinISR++
			case len(p.ISR) == minISR:
				n.atMinISR++
			}
		}
	}
	gauge := func(desc *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v))
	}
	gauge(c.d.partitions, n.partitions)
	gauge(c.d.partitionsLed, n.led)
	gauge(c.d.underReplicated, n.underReplicated)
	gauge(c.d.underMinISR, n.underMinISR)
	gauge(c.d.atMinISR, n.atMinISR)
	// Cluster-wide figures come from the active controller only, as in
	// Kafka, so that summing over the cluster's nodes counts them once.
	if !active {
		n.offline, n.topics, n.clusterPartitions = 0, 0, 0
	}
	gauge(c.d.offline, n.offline)
	gauge(c.d.globalTopics, n.topics)
	gauge(c.d.globalParts, n.clusterPartitions)
	registered, fenced := 0, 0
	if active {
		for _, br := range img.Brokers() {
			registered++
			if br.Fenced {
				fenced++
			}
		}
	}
	gauge(c.d.brokersRegistered, registered)
	gauge(c.d.brokersFenced, fenced)
	shrinks, expands := c.b.replicas.ISRChanges()
	ch <- prometheus.MustNewConstMetric(c.d.isrShrinks, prometheus.CounterValue, float64(shrinks))
	ch <- prometheus.MustNewConstMetric(c.d.isrExpands, prometheus.CounterValue, float64(expands))
}

// collectLogs reports each local replica's log. Every figure is read
// under the log's or replica's own short lock, one at a time, never all
// logs at once.
func (c *stateCollector) collectLogs(ch chan<- prometheus.Metric) {
	for _, r := range c.b.replicas.All() {
		labels := []string{r.Topic, strconv.Itoa(int(r.Index))}
		log := r.Log()
		gauge := func(desc *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
		}
		gauge(c.d.logSize, float64(log.Size()))
		gauge(c.d.logSegments, float64(log.SegmentCount()))
		gauge(c.d.logStart, float64(log.LogStartOffset()))
		gauge(c.d.logEnd, float64(log.LogEndOffset()))
		gauge(c.d.highWatermark, float64(r.HighWatermark()))
	}
}

// collectQuorum reports this node's view of the metadata quorum.
func (c *stateCollector) collectQuorum(ch chan<- prometheus.Metric, q metadata.QuorumMetrics) {
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	active := 0.0
	if q.State == metadata.RaftStateLeader {
		active = 1
	}
	gauge(c.d.controllerActive, active)
	for _, s := range metadata.RaftStates() {
		v := 0.0
		if s == q.State {
			v = 1
		}
		gauge(c.d.raftState, v, s)
	}
	gauge(c.d.raftLeader, float64(q.LeaderID))
	gauge(c.d.raftTerm, float64(q.Term))
	gauge(c.d.raftCommitIndex, float64(q.CommitIndex))
	gauge(c.d.raftAppliedIndex, float64(q.AppliedIndex))
	gauge(c.d.raftLastIndex, float64(q.LastLogIndex))
	gauge(c.d.raftLag, float64(q.CommitLag()))
}

// collectGroups reports the groups this broker coordinates. The counts
// come from the coordinator's goroutine; if it does not answer within
// groupViewTimeout only the rebalance counters are reported.
func (c *stateCollector) collectGroups(ch chan<- prometheus.Metric) {
	coord := c.b.groups
	if coord == nil {
		return // not started
	}
	classic, consumer := coord.Rebalances()
	ch <- prometheus.MustNewConstMetric(c.d.rebalances, prometheus.CounterValue, float64(classic), group.TypeClassic)
	ch <- prometheus.MustNewConstMetric(c.d.rebalances, prometheus.CounterValue, float64(consumer), group.TypeConsumer)
	ctx, cancel := context.WithTimeout(context.Background(), groupViewTimeout)
	defer cancel()
	v, err := coord.MetricsView(ctx)
	if err != nil {
		c.b.logger.Debug("group metrics left out of this scrape", "err", err)
		return
	}
	gauge := func(desc *prometheus.Desc, n int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(n), labels...)
	}
	for typ, states := range map[string][]string{group.TypeClassic: group.ClassicStates(), group.TypeConsumer: group.ConsumerStates()} {
		for _, s := range states {
			gauge(c.d.groups, v.Groups[group.GroupTypeState{Type: typ, State: s}], typ, s)
		}
		gauge(c.d.groupMembers, v.Members[typ], typ)
	}
	for protocolType, n := range v.ProtocolTypes {
		gauge(c.d.groupProtocolTypes, n, protocolType)
	}
}
