package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxSamples bounds the throughput history: 120 samples of 5 s are the
// last ten minutes.
const maxSamples = 120

// clusterSample is what one sampling saw: per topic, the records (sum of
// end offsets) and bytes (sum of replica log sizes).
type clusterSample struct {
	at     time.Time
	topics map[string]topicTotals
}

type topicTotals struct {
	records int64 // sum of log end offsets
	bytes   int64 // sum of replicas' log sizes
}

// rate is a throughput point of a chart.
type rate struct {
	TimeMs         int64   `json:"t"`
	BytesPerSec    float64 `json:"bytesPerSec"`
	RecordsPerSec  float64 `json:"recordsPerSec"`
	bytes, records int64
}

type brokerView struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack"`
}

type overviewView struct {
	ClusterID  string       `json:"clusterId"`
	Controller int32        `json:"controller"`
	Brokers    []brokerView `json:"brokers"`
	Quorum     *Quorum      `json:"quorum"`
	QuorumNote string       `json:"quorumNote,omitempty"`
	Health     healthView   `json:"health"`
	Throughput []rate       `json:"throughput"`
}

type healthView struct {
	Topics           int      `json:"topics"`
	Partitions       int      `json:"partitions"`
	Offline          int      `json:"offline"`
	UnderReplicated  int      `json:"underReplicated"`
	OfflinePartition []string `json:"offlinePartitions"`
}

// Quorum is the metadata quorum as the overview shows it.
type Quorum struct {
	LeaderID      int32           `json:"leaderId"`
	Epoch         int64           `json:"epoch"`
	HighWatermark int64           `json:"highWatermark"`
	Voters        []QuorumReplica `json:"voters"`
	Observers     []QuorumReplica `json:"observers"`
}

// QuorumReplica is a voter or observer of the quorum.
type QuorumReplica struct {
	ID           int32  `json:"id"`
	Addr         string `json:"addr,omitempty"`
	LogEndOffset int64  `json:"logEndOffset"`
	// Lag is the high watermark minus LogEndOffset; -1 when unknown.
	Lag int64 `json:"lag"`
}

// QuorumSource describes the quorum where the brokers do not answer
// DescribeQuorum to clients (fjord answers it on its controller listener).
// Handlers call it from HTTP goroutines.
type QuorumSource interface {
	Quorum(ctx context.Context) (Quorum, error)
}

func (c *Console) overview(r *http.Request) (any, error) {
	md, err := c.adm.Metadata(r.Context())
	if err != nil {
		return nil, err
	}
	out := overviewView{ClusterID: md.Cluster, Controller: md.Controller, Brokers: []brokerView{}}
	for _, b := range md.Brokers {
		bv := brokerView{ID: b.NodeID, Host: b.Host, Port: b.Port}
		if b.Rack != nil {
			bv.Rack = *b.Rack
		}
		out.Brokers = append(out.Brokers, bv)
	}
	out.Health = health(md)
	out.Quorum, out.QuorumNote = c.quorum(r.Context())
	out.Throughput = c.throughput()
	return out, nil
}

// health counts partitions without a leader and with fewer in-sync
// replicas than replicas, as Kafka's OfflinePartitionsCount and
// UnderReplicatedPartitions do.
func health(md kadm.Metadata) healthView {
	h := healthView{OfflinePartition: []string{}}
	for _, t := range md.Topics {
		h.Topics++
		for _, p := range t.Partitions {
			h.Partitions++
			if p.Leader < 0 {
				h.Offline++
				if len(h.OfflinePartition) < 20 {
					h.OfflinePartition = append(h.OfflinePartition, t.Topic+"-"+strconv.Itoa(int(p.Partition)))
				}
			}
			if len(p.ISR) < len(p.Replicas) {
				h.UnderReplicated++
			}
		}
	}
	return h
}

// quorum asks Options.Quorum when set, else DescribeQuorum (KIP-595) of
// the metadata partition; a cluster that answers neither gets a note.
func (c *Console) quorum(ctx context.Context) (*Quorum, string) {
	if c.opts.Quorum != nil {
		q, err := c.opts.Quorum.Quorum(ctx)
		if err == nil {
			return &q, ""
		}
		return nil, "The controllers did not describe the quorum: " + err.Error()
	}
	req := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = "__cluster_metadata"
	p := kmsg.NewDescribeQuorumRequestTopicPartition()
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, c.client)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return nil, "The brokers do not answer DescribeQuorum on their client listeners (" + err.Error() +
			"), so the quorum is not shown; the controller is the one Metadata names."
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, "DescribeQuorum answered without the metadata partition"
	}
	rp := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
		return nil, "DescribeQuorum: " + err.Error()
	}
	q := &Quorum{LeaderID: rp.LeaderID, Epoch: int64(rp.LeaderEpoch), HighWatermark: rp.HighWatermark,
		Voters: []QuorumReplica{}, Observers: []QuorumReplica{}}
	for _, v := range rp.CurrentVoters {
		q.Voters = append(q.Voters, QuorumReplica{ID: v.ReplicaID, LogEndOffset: v.LogEndOffset, Lag: rp.HighWatermark - v.LogEndOffset})
	}
	for _, v := range rp.Observers {
		q.Observers = append(q.Observers, QuorumReplica{ID: v.ReplicaID, LogEndOffset: v.LogEndOffset, Lag: rp.HighWatermark - v.LogEndOffset})
	}
	return q, ""
}

// sample records end offsets and log sizes of every topic; errors leave
// a gap in the charts and a log line.
func (c *Console) sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	totals, err := c.topicTotals(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.opts.Logger.Warn("console: sampling throughput", "err", err)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.samples = append(c.mu.samples, clusterSample{at: c.opts.Now(), topics: totals})
	if len(c.mu.samples) > maxSamples {
		c.mu.samples = slices.Delete(c.mu.samples, 0, len(c.mu.samples)-maxSamples)
	}
}

func (c *Console) topicTotals(ctx context.Context) (map[string]topicTotals, error) {
	ends, err := c.adm.ListEndOffsets(ctx)
	if err != nil {
		return nil, err
	}
	totals := map[string]topicTotals{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			t := totals[o.Topic]
			t.records += o.Offset
			totals[o.Topic] = t
		}
	})
	dirs, err := c.adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return totals, nil // sizes are optional: records still chart
	}
	dirs.Each(func(d kadm.DescribedLogDir) {
		for topic, parts := range d.Topics {
			t, ok := totals[topic]
			if !ok {
				continue
			}
			for _, p := range parts {
				t.bytes += p.Size
			}
			totals[topic] = t
		}
	})
	return totals, nil
}

// throughput turns consecutive samples into per-second rates for the
// whole cluster. A drop (a deleted topic, retention) counts as zero.
func (c *Console) throughput() []rate {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []rate{}
	for i := 1; i < len(c.mu.samples); i++ {
		prev, cur := c.mu.samples[i-1], c.mu.samples[i]
		var r rate
		for topic, t := range cur.topics {
			p, ok := prev.topics[topic]
			if !ok {
				continue
			}
			r.records += max(0, t.records-p.records)
			r.bytes += max(0, t.bytes-p.bytes)
		}
		out = append(out, ratePoint(prev.at, cur.at, r.records, r.bytes))
	}
	return out
}

// topicRates is the latest per-topic throughput.
func (c *Console) topicRates() map[string]rate {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]rate{}
	n := len(c.mu.samples)
	if n < 2 {
		return out
	}
	prev, cur := c.mu.samples[n-2], c.mu.samples[n-1]
	for topic, t := range cur.topics {
		if p, ok := prev.topics[topic]; ok {
			out[topic] = ratePoint(prev.at, cur.at, max(0, t.records-p.records), max(0, t.bytes-p.bytes))
		}
	}
	return out
}

func ratePoint(from, to time.Time, records, bytes int64) rate {
	seconds := to.Sub(from).Seconds()
	r := rate{TimeMs: to.UnixMilli()}
	if seconds > 0 {
		r.RecordsPerSec = float64(records) / seconds
		r.BytesPerSec = float64(bytes) / seconds
	}
	return r
}

type configView struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	Source    string `json:"source"`
	Sensitive bool   `json:"sensitive"`
}

func configViews(rc kadm.ResourceConfig) []configView {
	out := []configView{}
	for _, cfg := range rc.Configs {
		v := configView{Name: cfg.Key, Source: cfg.Source.String(), Sensitive: cfg.Sensitive}
		if cfg.Value != nil && !cfg.Sensitive {
			v.Value = *cfg.Value
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b configView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (c *Console) brokerConfigs(r *http.Request) (any, error) {
	id, err := parseInt(r.PathValue("broker"), "broker id", 0, 0, 1<<31-1)
	if err != nil {
		return nil, err
	}
	rcs, err := c.adm.DescribeBrokerConfigs(r.Context(), int32(id))
	if err != nil {
		return nil, err
	}
	rc, err := rcs.On(strconv.Itoa(int(id)), nil)
	if err != nil {
		return nil, err
	}
	if rc.Err != nil {
		return nil, kafkaError(rc.Err, rc.ErrMessage)
	}
	return map[string]any{"broker": id, "configs": configViews(rc)}, nil
}
