package broker

// ListPartitionReassignments: version 0. The reassignments in progress,
// for the named partitions or all of them.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(46, 0, 0, (*Broker).handleListPartitionReassignments) }

func (b *Broker) handleListPartitionReassignments(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.ListPartitionReassignmentsRequest)
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	if !b.allowedCluster(rc, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	wanted := func(topic string, partition int32) bool {
		if req.Topics == nil {
			return true
		}
		for _, t := range req.Topics {
			if t.Topic == topic && slices.Contains(t.Partitions, partition) {
				return true
			}
		}
		return false
	}
	byTopic := map[string]int{}
	for _, r := range b.meta.Image().Reassignments() {
		if !wanted(r.Topic, r.Partition) {
			continue
		}
		i, ok := byTopic[r.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[r.Topic] = i
			t := kmsg.NewListPartitionReassignmentsResponseTopic()
			t.Topic = r.Topic
			resp.Topics = append(resp.Topics, t)
		}
		p := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		p.Partition, p.Replicas, p.AddingReplicas, p.RemovingReplicas = r.Partition, r.Replicas, r.AddingReplicas, r.RemovingReplicas
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
	}
	return server.Result{Response: resp}
}
