package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Bounds of topic creation, guards against typos: brokers apply their
// own limits as well.
const (
	maxCreatePartitions  = 1 << 16
	maxReplicationFactor = 1 << 10
	maxConfigEntries     = 256
	maxConfigValueBytes  = 64 << 10
)

type topicRow struct {
	Name              string  `json:"name"`
	Internal          bool    `json:"internal"`
	Partitions        int     `json:"partitions"`
	ReplicationFactor int     `json:"replicationFactor"`
	SizeBytes         int64   `json:"sizeBytes"`
	Records           int64   `json:"records"`
	BytesPerSec       float64 `json:"bytesPerSec"`
	RecordsPerSec     float64 `json:"recordsPerSec"`
	Error             string  `json:"error,omitempty"`
}

func (c *Console) listTopics(r *http.Request) (any, error) {
	ctx := r.Context()
	md, err := c.adm.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	starts, err := c.adm.ListStartOffsets(ctx)
	if err != nil {
		return nil, err
	}
	ends, err := c.adm.ListEndOffsets(ctx)
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	if dirs, err := c.adm.DescribeAllLogDirs(ctx, nil); err == nil {
		dirs.Each(func(d kadm.DescribedLogDir) {
			for topic, parts := range d.Topics {
				for _, p := range parts {
					sizes[topic] += p.Size
				}
			}
		})
	}
	rates := c.topicRates()
	rows := []topicRow{}
	for _, t := range md.Topics {
		row := topicRow{Name: t.Topic, Internal: t.IsInternal, Partitions: len(t.Partitions), SizeBytes: sizes[t.Topic]}
		if t.Err != nil {
			row.Error = t.Err.Error()
		}
		for _, p := range t.Partitions {
			row.ReplicationFactor = max(row.ReplicationFactor, len(p.Replicas))
			s, okS := starts.Lookup(t.Topic, p.Partition)
			e, okE := ends.Lookup(t.Topic, p.Partition)
			if okS && okE && s.Err == nil && e.Err == nil {
				row.Records += max(0, e.Offset-s.Offset)
			}
		}
		rt := rates[t.Topic]
		row.BytesPerSec, row.RecordsPerSec = rt.BytesPerSec, rt.RecordsPerSec
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b topicRow) int { return strings.Compare(a.Name, b.Name) })
	return rows, nil
}

type createTopicRequest struct {
	Name              string            `json:"name"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int16             `json:"replicationFactor"`
	Configs           map[string]string `json:"configs"`
}

func (c *Console) createTopic(r *http.Request) (any, error) {
	var req createTopicRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := validTopic(req.Name); err != nil {
		return nil, err
	}
	if req.Partitions == 0 || req.Partitions < -1 || req.Partitions > maxCreatePartitions {
		return nil, badRequest("partitions must be from 1 to %d, or -1 for the broker default", maxCreatePartitions)
	}
	if req.ReplicationFactor == 0 || req.ReplicationFactor < -1 || req.ReplicationFactor > maxReplicationFactor {
		return nil, badRequest("replicationFactor must be from 1 to %d, or -1 for the broker default", maxReplicationFactor)
	}
	configs, err := configMap(req.Configs)
	if err != nil {
		return nil, err
	}
	resps, err := c.adm.CreateTopics(r.Context(), req.Partitions, req.ReplicationFactor, configs, req.Name)
	if err != nil {
		return nil, err
	}
	resp, err := resps.On(req.Name, nil)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, kafkaError(resp.Err, resp.ErrMessage)
	}
	return map[string]any{"name": resp.Topic, "partitions": resp.NumPartitions, "replicationFactor": resp.ReplicationFactor}, nil
}

func configMap(in map[string]string) (map[string]*string, error) {
	if len(in) > maxConfigEntries {
		return nil, badRequest("at most %d configs", maxConfigEntries)
	}
	out := map[string]*string{}
	for k, v := range in {
		if k == "" || len(k) > 255 || len(v) > maxConfigValueBytes {
			return nil, badRequest("invalid config %q: names of 1 to 255 bytes, values up to %d bytes", k, maxConfigValueBytes)
		}
		out[k] = &v
	}
	return out, nil
}

func (c *Console) deleteTopic(r *http.Request) (any, error) {
	name := r.PathValue("topic")
	if err := validTopic(name); err != nil {
		return nil, err
	}
	resps, err := c.adm.DeleteTopics(r.Context(), name)
	if err != nil {
		return nil, err
	}
	resp, err := resps.On(name, nil)
	if err != nil {
		return nil, err
	}
	if resp.Err != nil {
		return nil, kafkaError(resp.Err, resp.ErrMessage)
	}
	return map[string]any{"deleted": name}, nil
}

type partitionRow struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leaderEpoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	Offline     []int32 `json:"offlineReplicas"`
	StartOffset int64   `json:"startOffset"`
	EndOffset   int64   `json:"endOffset"`
	Error       string  `json:"error,omitempty"`
}

func (c *Console) describeTopic(r *http.Request) (any, error) {
	name := r.PathValue("topic")
	if err := validTopic(name); err != nil {
		return nil, err
	}
	ctx := r.Context()
	md, err := c.adm.Metadata(ctx, name)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[name]
	if !ok {
		return nil, badRequest("no metadata for topic %q", name)
	}
	if td.Err != nil {
		return nil, td.Err
	}
	starts, err := c.adm.ListStartOffsets(ctx, name)
	if err != nil {
		return nil, err
	}
	ends, err := c.adm.ListEndOffsets(ctx, name)
	if err != nil {
		return nil, err
	}
	rows := []partitionRow{}
	for _, p := range td.Partitions.Sorted() {
		row := partitionRow{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
			Replicas: nonNil(p.Replicas), ISR: nonNil(p.ISR), Offline: nonNil(p.OfflineReplicas), StartOffset: -1, EndOffset: -1}
		if p.Err != nil {
			row.Error = p.Err.Error()
		}
		if s, ok := starts.Lookup(name, p.Partition); ok && s.Err == nil {
			row.StartOffset = s.Offset
		}
		if e, ok := ends.Lookup(name, p.Partition); ok && e.Err == nil {
			row.EndOffset = e.Offset
		}
		rows = append(rows, row)
	}
	out := map[string]any{"name": name, "internal": td.IsInternal, "id": td.ID.String(), "partitions": rows}
	rcs, err := c.adm.DescribeTopicConfigs(ctx, name)
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = rcs.On(name, nil); err == nil && rc.Err == nil {
			out["configs"] = configViews(rc)
		} else if err == nil {
			err = rc.Err
		}
	}
	if err != nil {
		out["configsError"] = err.Error()
	}
	return out, nil
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

type alterConfigsRequest struct {
	Set    map[string]string `json:"set"`
	Delete []string          `json:"delete"`
}

// alterTopicConfigs sets and deletes topic configs with
// IncrementalAlterConfigs, leaving the others as they are.
func (c *Console) alterTopicConfigs(r *http.Request) (any, error) {
	name := r.PathValue("topic")
	if err := validTopic(name); err != nil {
		return nil, err
	}
	var req alterConfigsRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	set, err := configMap(req.Set)
	if err != nil {
		return nil, err
	}
	if len(set) == 0 && len(req.Delete) == 0 {
		return nil, badRequest("nothing to alter: give set or delete")
	}
	if len(req.Delete) > maxConfigEntries {
		return nil, badRequest("at most %d configs", maxConfigEntries)
	}
	var alters []kadm.AlterConfig
	for k, v := range set {
		alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: v})
	}
	for _, k := range req.Delete {
		alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	resps, err := c.adm.AlterTopicConfigs(r.Context(), alters, name)
	if err != nil {
		return nil, err
	}
	for _, resp := range resps {
		if resp.Err != nil {
			return nil, kafkaError(resp.Err, resp.ErrMessage)
		}
	}
	return map[string]any{"altered": name}, nil
}
