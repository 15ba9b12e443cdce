package broker

// OffsetFetch: versions 0-9. v8+ fetches several groups at once; null topics (v2+) fetch every committed offset. require_stable (v7+) answers UNSTABLE_OFFSET_COMMIT for a partition with transactional offsets pending.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(9, 0, 9, (*Broker).handleOffsetFetch) }

func (b *Broker) handleOffsetFetch(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
