package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/connect/rest"
)

// The keys of a sink connector's offsets in the offsets API (KIP-875).
const (
	sinkTopicKey     = "kafka_topic"
	sinkPartitionKey = "kafka_partition"
	sinkOffsetKey    = "kafka_offset"
)

// sinkGroup is a sink connector's consumer group, as Kafka names it.
func sinkGroup(connector string) string { return "connect-" + connector }

// connectorOffsets returns a connector's offsets: a source's from the
// offset store, a sink's from its consumer group.
func (h *herderBase) connectorOffsets(ctx context.Context, name string, plugin connect.Plugin) (rest.ConnectorOffsets, error) {
	if plugin.Type == connect.PluginSink {
		return h.sinkOffsets(ctx, name)
	}
	all, err := h.env.offsets.all(ctx, name)
	if err != nil {
		return rest.ConnectorOffsets{}, err
	}
	var out rest.ConnectorOffsets
	for _, o := range all {
		out.Offsets = append(out.Offsets, rest.ConnectorOffset{Partition: o.Partition, Offset: o.Offset})
	}
	return out, nil
}

func (h *herderBase) sinkOffsets(ctx context.Context, name string) (rest.ConnectorOffsets, error) {
	committed, err := h.admin.FetchOffsets(ctx, sinkGroup(name))
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return rest.ConnectorOffsets{}, fmt.Errorf("offsets of group %s: %w", sinkGroup(name), err)
	}
	var out rest.ConnectorOffsets
	committed.Each(func(o kadm.OffsetResponse) {
		out.Offsets = append(out.Offsets, rest.ConnectorOffset{
			Partition: map[string]any{sinkTopicKey: o.Topic, sinkPartitionKey: o.Partition},
			Offset:    map[string]any{sinkOffsetKey: o.At},
		})
	})
	return out, nil
}

// alterOffsets writes a stopped connector's offsets: a source's to the
// offset store, after the connector's own AlterOffsets accepted them; a
// sink's to its consumer group.
func (h *herderBase) alterOffsets(ctx context.Context, name string, plugin connect.Plugin, config map[string]string,
	offsets rest.ConnectorOffsets) (rest.Message, error) {
	if plugin.Type == connect.PluginSink {
		return h.alterSinkOffsets(ctx, name, offsets)
	}
	var changes []connect.SourcePartitionOffset
	for _, o := range offsets.Offsets {
		if o.Partition == nil {
			return rest.Message{}, rest.BadRequestf("Source partitions may not be null")
		}
		changes = append(changes, connect.SourcePartitionOffset{Partition: plainNumbers(o.Partition), Offset: plainNumbers(o.Offset)})
	}
	if a, ok := plugin.New().(connect.SourceOffsetAlterer); ok {
		if err := a.AlterOffsets(config, changes); err != nil {
			return rest.Message{}, rest.BadRequestf("The connector refused the offsets: %v", err)
		}
	}
	if err := h.env.offsets.put(ctx, name, changes); err != nil {
		return rest.Message{}, err
	}
	return rest.Message{Message: "The offsets for this connector have been altered successfully"}, nil
}

func (h *herderBase) alterSinkOffsets(ctx context.Context, name string, offsets rest.ConnectorOffsets) (rest.Message, error) {
	commit := kadm.Offsets{}
	var resets []kadm.TopicPartitions
	for _, o := range offsets.Offsets {
		topic, _ := o.Partition[sinkTopicKey].(string)
		partition, okP := number(o.Partition[sinkPartitionKey])
		if topic == "" || !okP || partition < 0 || partition > math.MaxInt32 {
			return rest.Message{}, rest.BadRequestf("A sink connector's partition needs %s and %s", sinkTopicKey, sinkPartitionKey)
		}
		if o.Offset == nil {
			resets = append(resets, kadm.TopicPartitions{Topic: topic, Partitions: []int32{int32(partition)}})
			continue
		}
		at, ok := number(o.Offset[sinkOffsetKey])
		if !ok || at < 0 {
			return rest.Message{}, rest.BadRequestf("A sink connector's offset needs a non-negative %s", sinkOffsetKey)
		}
		commit.Add(kadm.Offset{Topic: topic, Partition: int32(partition), At: at, LeaderEpoch: -1})
	}
	if len(commit) > 0 {
		resp, err := h.admin.CommitOffsets(ctx, sinkGroup(name), commit)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return rest.Message{}, fmt.Errorf("committing offsets of group %s: %w", sinkGroup(name), err)
		}
	}
	for _, tps := range resets {
		set := kadm.TopicsSet{}
		set.Add(tps.Topic, tps.Partitions...)
		if _, err := h.admin.DeleteOffsets(ctx, sinkGroup(name), set); err != nil {
			return rest.Message{}, fmt.Errorf("resetting offsets of group %s: %w", sinkGroup(name), err)
		}
	}
	return rest.Message{Message: "The Connect framework-managed offsets for this connector have been altered successfully. " +
		"However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."}, nil
}

// plainNumbers turns the json.Number values of a request into int64 or
// float64, as offsets read back from the store are.
func plainNumbers(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				out[k] = i
				continue
			}
			if f, err := n.Float64(); err == nil {
				out[k] = f
				continue
			}
		}
		out[k] = v
	}
	return out
}

// number reads an integer from a request value.
func number(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case float64:
		return int64(n), n == math.Trunc(n)
	}
	return 0, false
}

// offsetsAPI is the part of a herder that resetOffsets drives.
type offsetsAPI interface {
	ConnectorOffsets(ctx context.Context, name string) (rest.ConnectorOffsets, error)
	AlterConnectorOffsets(ctx context.Context, name string, offsets rest.ConnectorOffsets) (rest.Message, error)
}

// resetOffsets deletes every offset of a stopped connector (DELETE
// /connectors/{name}/offsets), through its herder's alter.
func resetOffsets(ctx context.Context, h offsetsAPI, name string) (rest.Message, error) {
	current, err := h.ConnectorOffsets(ctx, name)
	if err != nil {
		return rest.Message{}, err
	}
	for i := range current.Offsets {
		current.Offsets[i].Offset = nil
	}
	if _, err := h.AlterConnectorOffsets(ctx, name, current); err != nil {
		return rest.Message{}, err
	}
	return rest.Message{Message: "The offsets for this connector have been reset successfully"}, nil
}
