package interbroker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DialTimeout bounds connecting to a broker, as a client's dial timeout
// does: a host that drops packets must not hold the caller for the
// kernel's minutes of SYN retries.
const DialTimeout = 10 * time.Second

// DefaultRequestTimeout is request.timeout.ms's default (Kafka's 30 s): how
// long a broker may take to answer. Dial's ApiVersions uses it.
const DefaultRequestTimeout = 30 * time.Second

// clientSoftwareVersion is the ClientSoftwareVersion sent in ApiVersions
// (KIP-511).
const clientSoftwareVersion = "1"

// ErrBroken marks a request that failed midway, and every later one on the
// same Conn: the stream may hold half a frame, so the caller must dial
// again.
var ErrBroken = errors.New("interbroker: connection is broken")

// Conn is one connection to a broker: Kafka framing with kmsg's codecs,
// versions negotiated with ApiVersions at dial, one request at a time.
type Conn struct {
	conn             net.Conn
	addr             string
	formatter        *kmsg.RequestFormatter
	maxResponseBytes int64
	// versions is the highest version of each API both sides serve;
	// written by Dial only, read-only after.
	versions map[int16]int16
	// sessionEnd is when the SASL session should be renewed by dialing
	// again (before the broker's connections.max.reauth.ms ends it);
	// zero without one. Written by Dial only.
	sessionEnd time.Time

	// turn admits one request at a time; a channel rather than a mutex so
	// that a caller waiting its turn leaves when its context ends. The
	// holder of the turn owns held.
	turn chan struct{}
	held struct {
		correlation int32
		broken      error // wraps ErrBroken once a request failed midway
		reuse       bool  // decode every response from response
		request     []byte
		response    []byte
		// callbacks counts the context callback of the request in flight,
		// so that RoundTrip returns only once it is no longer running.
		callbacks sync.WaitGroup
	}
}

// Dial connects to addr and learns which versions the broker serves.
// clientID and softwareName name the caller in request headers and in
// ApiVersions (KIP-511); maxResponseBytes bounds the frame of any response,
// checked before the frame is read.
func Dial(ctx context.Context, addr, clientID, softwareName string, maxResponseBytes int64, sec Security) (*Conn, error) {
	d := net.Dialer{Timeout: DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dialing broker at %s: %w", addr, err)
	}
	conn, err := sec.secure(ctx, raw, addr)
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	c := &Conn{conn: conn, addr: addr, formatter: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)),
		maxResponseBytes: maxResponseBytes, versions: map[int16]int16{}, turn: make(chan struct{}, 1)}
	if err := c.negotiate(ctx, softwareName); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if sec.SASL != nil {
		if err := c.authenticate(ctx, sec.SASL); err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return c, nil
}

// negotiate sends ApiVersions. A broker that does not serve the version
// asked answers with error UNSUPPORTED_VERSION in the v0 layout, listing
// the ApiVersions versions it serves (KIP-511): the request is sent once
// more at the highest of those.
func (c *Conn) negotiate(ctx context.Context, softwareName string) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = softwareName, clientSoftwareVersion
	c.versions[req.Key()] = req.MaxVersion()
	resp := kmsg.NewPtrApiVersionsResponse()
	for attempt := 0; ; attempt++ {
		if err := c.RoundTrip(ctx, req, resp, DefaultRequestTimeout); err != nil {
			return fmt.Errorf("ApiVersions to %s: %w", c.addr, err)
		}
		err := kerr.ErrorForCode(resp.ErrorCode)
		if err == nil {
			break
		}
		if !errors.Is(err, kerr.UnsupportedVersion) || attempt > 0 {
			return fmt.Errorf("ApiVersions to %s: %w", c.addr, err)
		}
		served, ok := apiVersionsRange(resp, req.Key())
		if !ok || served >= c.versions[req.Key()] {
			return fmt.Errorf("ApiVersions to %s: %w, and no lower version offered", c.addr, err)
		}
		c.versions[req.Key()] = served
		resp = kmsg.NewPtrApiVersionsResponse()
	}
	delete(c.versions, req.Key())
	for _, k := range resp.ApiKeys {
		ours := kmsg.RequestForKey(k.ApiKey)
		if ours == nil || k.MaxVersion < 0 {
			continue
		}
		if v := min(k.MaxVersion, ours.MaxVersion()); v >= k.MinVersion {
			c.versions[k.ApiKey] = v
		}
	}
	return nil
}

// apiVersionsRange is the highest ApiVersions version a refusal lists.
func apiVersionsRange(resp *kmsg.ApiVersionsResponse, key int16) (int16, bool) {
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key && k.MaxVersion >= k.MinVersion && k.MaxVersion >= 0 {
			return k.MaxVersion, true
		}
	}
	return 0, false
}

// Version returns the version requests with this API key are sent at: the
// highest both sides serve. It is false when the broker serves none.
func (c *Conn) Version(key int16) (int16, bool) {
	v, ok := c.versions[key]
	return v, ok
}

// ReuseResponseBuffer makes every later response decode from one buffer the
// Conn keeps, so that byte fields of a response (a Fetch's records) alias
// it until the next RoundTrip. A follower reads megabytes every few
// milliseconds; a fresh buffer per response costs an allocation, zeroing
// it, and page faults each time the runtime has returned the memory.
// Without it each response has its own buffer, as a Pool's must. Call it
// before sharing the Conn: it waits for the request in flight.
func (c *Conn) ReuseResponseBuffer() {
	c.turn <- struct{}{}
	c.held.reuse = true
	<-c.turn
}

// RoundTrip sends req at the highest version both sides serve and reads
// the answer into resp. It fails without sending when the broker serves no
// version of req (the error wraps kerr.UnsupportedVersion). The call ends
// after timeout or when ctx ends; a failure once the request was being
// sent wraps ErrBroken and leaves the Conn broken.
func (c *Conn) RoundTrip(ctx context.Context, req kmsg.Request, resp kmsg.Response, timeout time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.turn }()
	if c.held.broken != nil {
		return c.held.broken
	}
	v, ok := c.versions[req.Key()]
	if !ok {
		return fmt.Errorf("broker at %s serves no version of %s: %w", c.addr, kmsg.NameForKey(req.Key()), kerr.UnsupportedVersion)
	}
	req.SetVersion(v)
	resp.SetVersion(v)
	c.held.correlation++
	c.held.request = c.formatter.AppendRequest(c.held.request[:0], req, c.held.correlation)
	frame, err := c.exchangeWithin(ctx, timeout)
	if err != nil {
		return c.fail(err)
	}
	if err := c.decode(req.Key(), frame, resp); err != nil {
		return c.fail(fmt.Errorf("decoding %s v%d from %s: %w", kmsg.NameForKey(req.Key()), v, c.addr, err))
	}
	return nil
}

// exchangeWithin runs exchange until it is done, timeout passed, or ctx
// ended: the end of either moves the socket's deadline to the past, which
// unblocks the I/O.
func (c *Conn) exchangeWithin(ctx context.Context, timeout time.Duration) ([]byte, error) {
	bounded, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.conn.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	c.held.callbacks.Add(1)
	stop := context.AfterFunc(bounded, func() {
		defer c.held.callbacks.Done()
		_ = c.conn.SetDeadline(time.Unix(1, 0))
	})
	defer func() {
		if stop() {
			c.held.callbacks.Done()
		}
		c.held.callbacks.Wait()
	}()
	frame, err := c.exchange()
	if err != nil && bounded.Err() != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("broker at %s sent no answer within %v: %w", c.addr, timeout, context.DeadlineExceeded)
	}
	return frame, err
}

// decode reads a response frame into resp. ApiVersions answers with a v0
// header whatever the version, and in the v0 layout when it refuses the
// version (KIP-511); the error code comes first in every layout.
func (c *Conn) decode(key int16, frame []byte, resp kmsg.Response) error {
	isVersions := key == kmsg.ApiVersions.Int16()
	body, err := parseResponseHeader(frame, c.held.correlation, resp.IsFlexible() && !isVersions)
	if err != nil {
		return err
	}
	if isVersions && len(body) >= 2 && int16(binary.BigEndian.Uint16(body)) == kerr.UnsupportedVersion.Code {
		resp.SetVersion(0)
	}
	return resp.ReadFrom(body)
}

func (c *Conn) fail(err error) error {
	c.held.broken = fmt.Errorf("%w: %w", ErrBroken, err)
	_ = c.conn.Close()
	return c.held.broken
}

// Close closes the connection, unblocking a request in flight.
func (c *Conn) Close() error {
	return c.conn.Close()
}
