package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/interbroker"
)

// replicaSocketTimeout is replica.socket.timeout.ms (Kafka's 30 s): how long
// a request to the leader may take beyond the time the leader may hold a
// fetch.
const replicaSocketTimeout = 30 * time.Second

// fetchResponseSlackBytes is added to replica.fetch.response.max.bytes for
// the largest response accepted: KIP-74 lets a response exceed the limit by
// one batch (up to max.message.bytes), plus protocol overhead.
const fetchResponseSlackBytes = 16 << 20

// replicaClientSoftware is the ClientSoftwareName the fetcher sends in
// ApiVersions (KIP-511); its client id is "broker-N-fetcher", as Kafka's.
const replicaClientSoftware = "fjord-replica-fetcher"

// leaderAPIs are the APIs a follower needs from its leader: a broker that
// serves no version of one cannot be followed.
var leaderAPIs = []int16{kmsg.Fetch.Int16(), kmsg.OffsetForLeaderEpoch.Int16()}

// ErrLeaderConnBroken is returned once a request on a connection failed
// midway: the stream may hold half a frame, so the fetcher must redial. It
// is interbroker.ErrBroken.
var ErrLeaderConnBroken = interbroker.ErrBroken

// WireDialer returns a FetcherConfig.Dial that connects to the address
// addressOf gives for a broker (its inter-broker listener) and negotiates
// API versions with it. responseMaxBytes is replica.fetch.response.max.bytes
// (zero for the default); it bounds what one response may make the
// follower read, with the KIP-74 slack.
func WireDialer(addressOf func(BrokerID) (string, error), responseMaxBytes int32, replicaID BrokerID, sec interbroker.Security) func(context.Context, BrokerID) (LeaderClient, error) {
	if responseMaxBytes <= 0 {
		responseMaxBytes = DefaultFetchResponseMaxBytes
	}
	return func(ctx context.Context, leader BrokerID) (LeaderClient, error) {
		addr, err := addressOf(leader)
		if err != nil {
			return nil, fmt.Errorf("address of broker %d: %w", leader, err)
		}
		return dialLeader(ctx, addr, fmt.Sprintf("broker-%d-fetcher", replicaID), int64(responseMaxBytes)+fetchResponseSlackBytes, sec)
	}
}

// wireLeaderClient is a LeaderClient on one interbroker.Conn whose
// responses all decode from one reused buffer: a follower reads megabytes
// every few milliseconds (see Conn.ReuseResponseBuffer).
type wireLeaderClient struct {
	conn *interbroker.Conn
}

// dialLeader connects to addr, learns which versions the leader serves,
// and checks that it serves the APIs a follower needs.
func dialLeader(ctx context.Context, addr, clientID string, maxResponseBytes int64, sec interbroker.Security) (*wireLeaderClient, error) {
	conn, err := interbroker.Dial(ctx, addr, clientID, replicaClientSoftware, maxResponseBytes, sec)
	if err != nil {
		return nil, err
	}
	for _, key := range leaderAPIs {
		if _, ok := conn.Version(key); !ok {
			_ = conn.Close()
			return nil, fmt.Errorf("leader at %s serves no version of %s", addr, kmsg.NameForKey(key))
		}
	}
	conn.ReuseResponseBuffer()
	return &wireLeaderClient{conn: conn}, nil
}

// roundTrip sends req at the negotiated version and reads its answer into
// resp, whose byte fields alias the connection's buffer until the next
// call. Any failure midway leaves the connection broken.
func (c *wireLeaderClient) roundTrip(ctx context.Context, req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	if c.conn.Expired() {
		// The leader would close the connection at this request; the
		// fetcher dials again, authenticating anew.
		return fmt.Errorf("SASL session to the leader is ending: %w", ErrLeaderConnBroken)
	}
	return c.conn.RoundTrip(ctx, req, resp, timeout)
}

// Close closes the connection.
func (c *wireLeaderClient) Close() error {
	return c.conn.Close()
}
