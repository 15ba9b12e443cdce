package broker

// ElectLeaders: versions 0-2 (KIP-460): preferred (0) or unclean (1)
// leader election for the named partitions, or for every partition when
// the topic list is null. The controller decides; this broker forwards.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/acl"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(43, 0, 2, (*Broker).handleElectLeaders) }

func (b *Broker) handleElectLeaders(_ context.Context, rc *server.RequestContext, kreq kmsg.Request) server.Result {
	req := kreq.(*kmsg.ElectLeadersRequest)
	if !b.allowedCluster(rc, acl.OpAlter) {
		resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return server.Result{Response: resp}
	}
	typ := metadata.ElectPreferred
	if req.Version >= 1 && req.ElectionType == 1 {
		typ = metadata.ElectUnclean
	} else if req.Version >= 1 && req.ElectionType != 0 {
		resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
		resp.ErrorCode = kerr.InvalidRequest.Code
		return server.Result{Response: resp}
	}
	var targets []metadata.TopicPartitions
	if req.Topics != nil {
		targets = []metadata.TopicPartitions{}
		for _, t := range req.Topics {
			targets = append(targets, metadata.TopicPartitions{Topic: t.Topic, Partitions: t.Partitions})
		}
	}
	timeout := timeoutOf(req.TimeoutMillis)
	return server.Result{Pending: func(ctx context.Context) kmsg.Response {
		resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		results, err := b.meta.ElectLeaders(ctx, typ, targets)
		if err != nil {
			resp.ErrorCode = errorCode(err)
			return resp
		}
		byTopic := map[string]int{}
		for _, r := range results {
			i, ok := byTopic[r.Topic]
			if !ok {
				i = len(resp.Topics)
				byTopic[r.Topic] = i
				t := kmsg.NewElectLeadersResponseTopic()
				t.Topic = r.Topic
				resp.Topics = append(resp.Topics, t)
			}
			p := kmsg.NewElectLeadersResponseTopicPartition()
			p.Partition, p.ErrorCode = r.Partition, r.ErrorCode
			if r.ErrorMessage != "" {
				msg := r.ErrorMessage
				p.ErrorMessage = &msg
			}
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, p)
		}
		return resp
	}}
}

// maxAdminTimeout bounds the timeout an admin request may ask for.
const maxAdminTimeout = 5 * time.Minute

// timeoutOf turns a request's timeout_ms into a bounded duration; zero or
// negative asks for the default of 30 s.
func timeoutOf(ms int32) time.Duration {
	if ms <= 0 {
		return 30 * time.Second
	}
	return min(time.Duration(ms)*time.Millisecond, maxAdminTimeout)
}
