package broker

// DescribeGroups: versions 0-5. Unknown groups are described as Dead with no error, as Kafka does before v6.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(15, 0, 5, (*Broker).handleDescribeGroups) }

func (b *Broker) handleDescribeGroups(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
