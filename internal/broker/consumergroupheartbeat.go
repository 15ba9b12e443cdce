package broker

// ConsumerGroupHeartbeat: versions 0-1. The KIP-848 consumer protocol: a
// member joins (epoch 0), heartbeats with its epoch and what it owns, and
// leaves (-1, or -2 for a static member); the coordinator answers with its
// epoch and, when it changed, its assignment. Version 1 (Kafka 4) has the
// client choose its member id and adds SubscribedTopicRegex.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(68, 0, 1, (*Broker).handleConsumerGroupHeartbeat) }

func (b *Broker) handleConsumerGroupHeartbeat(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
