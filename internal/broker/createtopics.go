package broker

// CreateTopics: versions 0-7 (v5+ return the resulting configs, partition
// count and replication factor; v7 the topic id). validate_only (v1+)
// checks everything and creates nothing. v0 and v1, which Kafka 4 removed
// (KIP-896), differ only in what they carry: no validate_only in v0, no
// error message in v0 and no throttle time before v2.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/replicas"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(19, 0, 7, (*Broker).handleCreateTopics) }

func (b *Broker) handleCreateTopics(ctx context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.CreateTopicsRequest)
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	mutations := b.newMutationQuota(rc, req.Version >= 6)
	seen := map[string]int{}
	for _, rt := range req.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range req.Topics {
		out := kmsg.NewCreateTopicsResponseTopic()
		out.Topic = rt.Topic
		if seen[rt.Topic] > 1 {
			// Kafka refuses a name listed twice in one request.
			out.ErrorCode = kerr.InvalidRequest.Code
			msg := "topic " + rt.Topic + " appears more than once in the request"
			out.ErrorMessage = &msg
			resp.Topics = append(resp.Topics, out)
			continue
		}
		if !b.allowedCluster(rc, acl.OpCreate) && !b.allowedTopic(rc, acl.OpCreate, rt.Topic) {
			out.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, out)
			continue
		}
		spec := metadata.CreateTopicSpec{
			Name:              rt.Topic,
			NumPartitions:     rt.NumPartitions,
			ReplicationFactor: rt.ReplicationFactor,
			Configs:           map[string]string{},
			ValidateOnly:      req.ValidateOnly,
		}
		if len(rt.ReplicaAssignment) > 0 {
			spec.Assignments = map[int32][]int32{}
			for _, a := range rt.ReplicaAssignment {
				spec.Assignments[a.Partition] = a.Replicas
			}
		}
		for _, c := range rt.Configs {
			if c.Value != nil {
				spec.Configs[c.Name] = *c.Value
			}
		}
		if err := mutations.createTopic(spec); err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), quotaMessage(err)
			resp.Topics = append(resp.Topics, out)
			continue
		}
		t, err := b.meta.CreateTopic(ctx, spec)
		if err != nil {
			out.ErrorCode, out.ErrorMessage = errorCode(err), errorMessage(err)
			resp.Topics = append(resp.Topics, out)
			continue
		}
		out.TopicID = t.ID
		out.NumPartitions = int32(len(t.Partitions))
		if len(t.Partitions) > 0 {
			out.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
		}
		if req.Version >= 5 {
			out.Configs = b.createdTopicConfigs(spec.Configs)
		}
		resp.Topics = append(resp.Topics, out)
	}
	if !req.ValidateOnly {
		b.awaitLocalApply(ctx)
	}
	return mutations.result(resp)
}

// createdTopicConfigs lists a new topic's effective configuration.
func (b *Broker) createdTopicConfigs(overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	var out []kmsg.CreateTopicsResponseTopicConfig
	for _, e := range config.DescribeTopic(replicas.BrokerProps(b.opts.StaticProps, b.meta.Image(), b.opts.NodeID), nil, overrides) {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name, c.ReadOnly, c.Source, c.IsSensitive = e.Name, e.ReadOnly, int8(e.Source), e.Sensitive
		if !e.Null {
			v := e.Value
			c.Value = &v
		}
		out = append(out, c)
	}
	return out
}
