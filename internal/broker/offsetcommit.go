package broker

// OffsetCommit: versions 0-9. Commits are checked against the member and
// generation, metadata against offset.metadata.max.bytes, and answered once
// durable in __consumer_offsets. v0 and v1, which Kafka 4 removed (KIP-896):
// v0, which old Kafka kept in ZooKeeper, is stored with the group's other
// commits, as a commit from outside any generation; v1 stores the commit
// timestamp it carries (internal/group, commitTime).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/server"
)

func init() { registerAPI(8, 0, 9, (*Broker).handleOffsetCommit) }

func (b *Broker) handleOffsetCommit(ctx context.Context, rc *server.RequestContext, req kmsg.Request) server.Result {
	return b.groupRequest(ctx, rc, req)
}
