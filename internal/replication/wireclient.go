package replication

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/kwire"
)

// replicaSocketTimeout is replica.socket.timeout.ms (Kafka's 30 s): how long
// a request to the leader may take beyond the time the leader may hold a
// fetch.
const replicaSocketTimeout = 30 * time.Second

// replicaDialTimeout bounds connecting to a leader, as a client's dial
// timeout does: a leader host that drops packets must not hold the fetcher
// for the kernel's minutes of SYN retries.
const replicaDialTimeout = 10 * time.Second

// fetchResponseSlackBytes is added to replica.fetch.response.max.bytes for
// the largest response accepted: KIP-74 lets a response exceed the limit by
// one batch (up to max.message.bytes), plus protocol overhead.
const fetchResponseSlackBytes = 16 << 20

// replicaClientSoftware is the ClientSoftwareName the fetcher sends in
// ApiVersions (KIP-511); its client id is "broker-N-fetcher", as Kafka's.
const replicaClientSoftware = "fjord-replica-fetcher"

// ErrLeaderConnBroken is returned once a request on a connection failed
// midway: the stream may hold half a frame, so the fetcher must redial.
var ErrLeaderConnBroken = errors.New("replication: connection to the leader is broken")

// WireDialer returns a FetcherConfig.Dial that connects to the address
// addressOf gives for a broker (its inter-broker listener) and negotiates
// API versions with it. responseMaxBytes is replica.fetch.response.max.bytes
// (zero for the default); it bounds what one response may make the
// follower read, with the KIP-74 slack.
func WireDialer(addressOf func(BrokerID) (string, error), responseMaxBytes int32, replicaID BrokerID) func(context.Context, BrokerID) (LeaderClient, error) {
	if responseMaxBytes <= 0 {
		responseMaxBytes = DefaultFetchResponseMaxBytes
	}
	return func(ctx context.Context, leader BrokerID) (LeaderClient, error) {
		addr, err := addressOf(leader)
		if err != nil {
			return nil, fmt.Errorf("address of broker %d: %w", leader, err)
		}
		return dialLeader(ctx, addr, fmt.Sprintf("broker-%d-fetcher", replicaID), int64(responseMaxBytes)+fetchResponseSlackBytes)
	}
}

// wireLeaderClient is a LeaderClient on one TCP connection: Kafka framing
// with kmsg's codecs, one request at a time, and one response buffer reused
// by every response. A follower reads megabytes every few milliseconds; a
// general client's fresh buffer per response costs an allocation, zeroing
// it, and page faults each time the runtime has returned the memory.
type wireLeaderClient struct {
	conn      net.Conn
	addr      string
	formatter *kmsg.RequestFormatter
	maxRead   int64
	// versions is the highest version of each API both sides serve.
	versions map[int16]int16

	mu          sync.Mutex // one request at a time; the fields below
	correlation int32
	broken      error
	request     []byte
	response    []byte
}

// dialLeader connects to addr and learns which versions the leader serves.
func dialLeader(ctx context.Context, addr, clientID string, maxRead int64) (*wireLeaderClient, error) {
	d := net.Dialer{Timeout: replicaDialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing leader at %s: %w", addr, err)
	}
	c := &wireLeaderClient{conn: conn, addr: addr, formatter: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)),
		maxRead: maxRead, versions: map[int16]int16{}}
	if err := c.negotiate(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

// negotiate sends ApiVersions. A leader that does not serve the version
// asked answers with error UNSUPPORTED_VERSION in the v0 layout, listing
// what it serves (KIP-511); the versions are read from that too.
func (c *wireLeaderClient) negotiate(ctx context.Context) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = replicaClientSoftware, "1"
	c.versions[req.Key()] = req.MaxVersion()
	resp := kmsg.NewPtrApiVersionsResponse()
	if err := c.roundTrip(ctx, req, resp, replicaSocketTimeout); err != nil {
		return fmt.Errorf("ApiVersions to %s: %w", c.addr, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil && !errors.Is(err, kerr.UnsupportedVersion) {
		return fmt.Errorf("ApiVersions to %s: %w", c.addr, err)
	}
	for _, k := range resp.ApiKeys {
		ours := kmsg.RequestForKey(k.ApiKey)
		if ours == nil || k.MaxVersion < 0 {
			continue
		}
		v := min(k.MaxVersion, ours.MaxVersion())
		if v >= k.MinVersion {
			c.versions[k.ApiKey] = v
		}
	}
	for _, key := range []int16{kmsg.Fetch.Int16(), kmsg.OffsetForLeaderEpoch.Int16()} {
		if _, ok := c.versions[key]; !ok {
			return fmt.Errorf("leader at %s serves no version of %s", c.addr, kmsg.NameForKey(key))
		}
	}
	return nil
}

// roundTrip sends req at the negotiated version and reads its answer into
// resp. The call ends by timeout or ctx; either, or any failure on the
// stream, leaves the connection broken.
func (c *wireLeaderClient) roundTrip(ctx context.Context, req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	v, ok := c.versions[req.Key()]
	if !ok {
		return fmt.Errorf("leader at %s does not serve %s", c.addr, kmsg.NameForKey(req.Key()))
	}
	req.SetVersion(v)
	resp.SetVersion(v)
	c.correlation++
	c.request = c.formatter.AppendRequest(c.request[:0], req, c.correlation)

	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.conn.SetDeadline(deadline); err != nil {
		return c.fail(err)
	}
	// A cancelled ctx unblocks the read by moving the deadline to the past.
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	body, err := c.exchange()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return c.fail(err)
	}
	// ApiVersions answers with a v0 header whatever the version, and in the
	// v0 layout when it refuses the version (KIP-511); the error code comes
	// first in every layout.
	isVersions := req.Key() == kmsg.ApiVersions.Int16()
	body, err = parseResponseHeader(body, c.correlation, resp.IsFlexible() && !isVersions)
	if err != nil {
		return c.fail(err)
	}
	if isVersions && len(body) >= 2 && int16(binary.BigEndian.Uint16(body)) == kerr.UnsupportedVersion.Code {
		resp.SetVersion(0)
	}
	if err := resp.ReadFrom(body); err != nil {
		return c.fail(fmt.Errorf("decoding %s v%d from %s: %w", kmsg.NameForKey(req.Key()), v, c.addr, err))
	}
	return nil
}

// exchange writes the encoded request and reads one response frame into
// the reused buffer.
func (c *wireLeaderClient) exchange() ([]byte, error) {
	if _, err := c.conn.Write(c.request); err != nil {
		return nil, fmt.Errorf("writing to leader at %s: %w", c.addr, err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, fmt.Errorf("reading from leader at %s: %w", c.addr, err)
	}
	n := int64(int32(binary.BigEndian.Uint32(size[:])))
	if n < 4 || n > c.maxRead {
		return nil, fmt.Errorf("leader at %s sent a %d byte response, outside 4..%d", c.addr, n, c.maxRead)
	}
	if int64(cap(c.response)) < n {
		c.response = make([]byte, n)
	}
	body := c.response[:n]
	if _, err := io.ReadFull(c.conn, body); err != nil {
		return nil, fmt.Errorf("reading from leader at %s: %w", c.addr, err)
	}
	return body, nil
}

// parseResponseHeader checks a response's correlation id and returns the
// body after the header (v1 when flexible: tagged fields follow the id).
func parseResponseHeader(frame []byte, correlation int32, flexible bool) ([]byte, error) {
	if len(frame) < 4 {
		return nil, errors.New("response shorter than its header")
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != correlation {
		return nil, fmt.Errorf("response to request %d arrived for request %d", got, correlation)
	}
	rest := frame[4:]
	if !flexible {
		return rest, nil
	}
	rest, err := kwire.SkipTaggedFields(rest)
	if err != nil {
		return nil, fmt.Errorf("response header: %w", err)
	}
	return rest, nil
}

func (c *wireLeaderClient) fail(err error) error {
	c.broken = fmt.Errorf("%w: %w", ErrLeaderConnBroken, err)
	_ = c.conn.Close()
	return err
}

// Close closes the connection.
func (c *wireLeaderClient) Close() error {
	return c.conn.Close()
}
