package workergroup

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// transport carries single requests: the member decides what to send and
// to whom, and handles every error code itself. It is satisfied by a
// kgo.Client (kgoTransport) and, in tests, by scripted fakes.
type transport interface {
	// anyBroker sends req to whichever broker the transport picks.
	anyBroker(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	// broker sends req to the broker with the given node id.
	broker(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error)
}

// kgoTransport uses a kgo.Client as a plain transport. Group requests go
// through Broker(node).Request, which neither routes them to a coordinator
// of kgo's choosing nor retries them: the coordinator is the one the
// member found, and a NOT_COORDINATOR answer reaches the member, which
// looks the coordinator up again as Kafka's AbstractCoordinator does.
type kgoTransport struct{ client *kgo.Client }

func (k kgoTransport) anyBroker(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	return k.client.Request(ctx, req)
}

func (k kgoTransport) broker(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	return k.client.Broker(int(node)).Request(ctx, req)
}
