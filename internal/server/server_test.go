package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testServer serves routes on a loopback listener until the test ends.
func testServer(t *testing.T, routes Routes, limits Limits) string {
	t.Helper()
	addr, _ := testServerWith(t, routes, limits)
	return addr
}

func testServerWith(t *testing.T, routes Routes, limits Limits) (string, *Server) {
	t.Helper()
	srv := New(routes, limits, nil)
	return serveOn(t, srv), srv
}

// serveOn serves srv on a loopback listener until the test ends.
func serveOn(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// send writes a request with a v1 or v2 header as its version requires.
func (c *client) send(req kmsg.Request, correlationID int32) {
	c.t.Helper()
	c.sendRaw(req.Key(), req.GetVersion(), correlationID, req.IsFlexible(), req.AppendTo(nil))
}

func (c *client) sendRaw(key, version int16, correlationID int32, flexible bool, body []byte) {
	c.t.Helper()
	frame := binary.BigEndian.AppendUint16(nil, uint16(key))
	frame = binary.BigEndian.AppendUint16(frame, uint16(version))
	frame = binary.BigEndian.AppendUint32(frame, uint32(correlationID))
	frame = binary.BigEndian.AppendUint16(frame, 4)
	frame = append(frame, "test"...)
	if flexible {
		frame = append(frame, 0)
	}
	frame = append(frame, body...)
	if _, err := c.nc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(frame)))); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(frame); err != nil {
		c.t.Fatal(err)
	}
}

// receive reads one response frame: its correlation id and body.
func (c *client) receive() (int32, []byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.br, size[:]); err != nil {
		return 0, nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c.br, frame); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(frame)), frame[4:], nil
}

func (c *client) expectClosed() {
	c.t.Helper()
	if _, _, err := c.receive(); err == nil {
		c.t.Fatal("expected the connection to be closed, got a response")
	} else if errors.Is(err, context.DeadlineExceeded) {
		c.t.Fatalf("connection still open: %v", err)
	}
}

func apiVersionsRoutes() Routes {
	r := Routes{}
	r[18] = Route{MinVersion: 0, MaxVersion: 4, Handle: func(_ context.Context, _ *RequestContext, req kmsg.Request) Result {
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = AdvertisedVersions(r)
		return Result{Response: resp}
	}}
	return r
}

func TestApiVersionsUnsupportedVersionGetsV0(t *testing.T) {
	c := dial(t, testServer(t, apiVersionsRoutes(), DefaultLimits()))
	// A version far newer than served: the body cannot be decoded, so the
	// server must answer v0 with UNSUPPORTED_VERSION and its ranges.
	c.sendRaw(18, 99, 7, true, []byte{0, 0, 0})
	corr, body, err := c.receive()
	if err != nil {
		t.Fatal(err)
	}
	if corr != 7 {
		t.Fatalf("correlation id %d, want 7", corr)
	}
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code || len(resp.ApiKeys) != 1 || resp.ApiKeys[0].MaxVersion != 4 {
		t.Fatalf("got %+v", resp)
	}
}

func TestUnknownAPIKeyClosesConnection(t *testing.T) {
	addr := testServer(t, apiVersionsRoutes(), DefaultLimits())
	c := dial(t, addr)
	c.sendRaw(9999, 0, 1, false, nil)
	c.expectClosed()
	// Other connections are unaffected.
	c2 := dial(t, addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	c2.send(req, 2)
	if _, _, err := c2.receive(); err != nil {
		t.Fatal(err)
	}
}

func TestUnsupportedVersionOfServedAPIClosesConnection(t *testing.T) {
	routes := apiVersionsRoutes()
	routes[3] = Route{MinVersion: 4, MaxVersion: 12, Handle: routes[18].Handle}
	c := dial(t, testServer(t, routes, DefaultLimits()))
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	c.send(req, 1)
	c.expectClosed()
}

// TestRefusedVersionsAreAnswered: a route with Refuse answers the versions
// below its minimum through it, decoded at their version, and still closes
// on versions above its maximum.
func TestRefusedVersionsAreAnswered(t *testing.T) {
	routes := apiVersionsRoutes()
	// Set on the connection's goroutine: the network is no
	// happens-before edge the race detector sees.
	var refusedVersion atomic.Int32
	refusedVersion.Store(-1)
	routes[0] = Route{MinVersion: 3, MaxVersion: 13,
		Handle: func(context.Context, *RequestContext, kmsg.Request) Result {
			t.Error("a refused version reached the handler")
			return Result{CloseConnection: true, NoResponse: true}
		},
		Refuse: func(_ context.Context, rc *RequestContext, req kmsg.Request) Result {
			refusedVersion.Store(int32(rc.APIVersion))
			resp := req.ResponseKind().(*kmsg.ProduceResponse)
			for _, rt := range req.(*kmsg.ProduceRequest).Topics {
				resp.Topics = append(resp.Topics, kmsg.ProduceResponseTopic{Topic: rt.Topic,
					Partitions: []kmsg.ProduceResponseTopicPartition{{ErrorCode: kerr.UnsupportedVersion.Code}}})
			}
			return Result{Response: resp}
		}}
	addr := testServer(t, routes, DefaultLimits())
	c := dial(t, addr)
	produce := kmsg.NewPtrProduceRequest()
	produce.Version, produce.Acks = 2, 1
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Records: []byte{1}}}}}
	c.send(produce, 5)
	corr, body, err := c.receive()
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = 2
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if corr != 5 || refusedVersion.Load() != 2 || len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("correlation %d, refused version %d, response %+v", corr, refusedVersion.Load(), resp)
	}
	// Not advertised: ApiVersions lists the served range only.
	for _, k := range AdvertisedVersions(routes) {
		if k.ApiKey == 0 && k.MinVersion != 3 {
			t.Fatalf("advertised Produce from v%d", k.MinVersion)
		}
	}
	c.sendRaw(0, 14, 6, true, []byte{0})
	c.expectClosed()
}

func TestOversizedFrameClosesBeforeAllocating(t *testing.T) {
	limits := DefaultLimits()
	limits.MaxRequestBytes = 1024
	c := dial(t, testServer(t, apiVersionsRoutes(), limits))
	// Claims 2 GiB but sends nothing more: closed at once, not after a read.
	c.nc.Write([]byte{0x7f, 0xff, 0xff, 0xff})
	c.expectClosed()
	c = dial(t, testServer(t, apiVersionsRoutes(), limits))
	c.nc.Write([]byte{0xff, 0xff, 0xff, 0xff}) // negative size
	c.expectClosed()
}

func TestTruncatedBodyClosesConnection(t *testing.T) {
	c := dial(t, testServer(t, apiVersionsRoutes(), DefaultLimits()))
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 3
	body := req.AppendTo(nil)
	c.sendRaw(18, 3, 1, true, body[:1]) // compact strings cut short
	c.expectClosed()
}

// TestHugeTagCountClosesConnection: a body whose tagged-field count
// claims 2^32 fields with no bytes behind them closes the connection at
// once; kmsg before v1.15.1 looped over the count, a minute of CPU for
// seven bytes.
func TestHugeTagCountClosesConnection(t *testing.T) {
	c := dial(t, testServer(t, apiVersionsRoutes(), DefaultLimits()))
	start := time.Now()
	c.sendRaw(18, 3, 1, true, []byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	c.expectClosed()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closing took %v", d)
	}
}

// TestResponsesInRequestOrder pipelines requests whose responses complete
// in reverse order and checks they are written in request order.
func TestResponsesInRequestOrder(t *testing.T) {
	var mu sync.Mutex
	gates := map[int32]chan struct{}{}
	gate := func(id int32) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if gates[id] == nil {
			gates[id] = make(chan struct{})
		}
		return gates[id]
	}
	routes := Routes{}
	routes[18] = Route{MinVersion: 0, MaxVersion: 4, Handle: func(_ context.Context, rc *RequestContext, req kmsg.Request) Result {
		resp := req.ResponseKind()
		g := gate(rc.CorrelationID)
		return Result{Pending: func(ctx context.Context) kmsg.Response {
			select {
			case <-g:
			case <-ctx.Done():
			}
			return resp
		}}
	}}
	c := dial(t, testServer(t, routes, DefaultLimits()))
	const n = 5
	for i := int32(0); i < n; i++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version = 3
		c.send(req, i)
	}
	for i := int32(n - 1); i >= 0; i-- {
		close(gate(i))
	}
	for i := int32(0); i < n; i++ {
		corr, _, err := c.receive()
		if err != nil {
			t.Fatal(err)
		}
		if corr != i {
			t.Fatalf("response %d has correlation id %d", i, corr)
		}
	}
}

func TestNoResponseForAcksZeroStyleHandlers(t *testing.T) {
	routes := apiVersionsRoutes()
	routes[0] = Route{MinVersion: 3, MaxVersion: 13, Handle: func(context.Context, *RequestContext, kmsg.Request) Result {
		return Result{NoResponse: true}
	}}
	c := dial(t, testServer(t, routes, DefaultLimits()))
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 9
	produce.Acks = 0
	c.send(produce, 1)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	c.send(av, 2)
	corr, _, err := c.receive()
	if err != nil {
		t.Fatal(err)
	}
	if corr != 2 {
		t.Fatalf("got correlation id %d, want 2 (no response for the produce)", corr)
	}
}

func TestParseRequestHeaderRejectsBadClientID(t *testing.T) {
	frame := []byte{0, 18, 0, 3, 0, 0, 0, 1, 0x7f, 0xff}
	if _, _, err := parseRequestHeader(frame); err == nil {
		t.Fatal("client id longer than the frame accepted")
	}
	if _, _, err := parseRequestHeader(frame[:5]); err == nil {
		t.Fatal("short header accepted")
	}
}

// TestLargeRequestsOnlyWhereTheRouteAllows: a frame above
// MaxAdminRequestBytes closes the connection unless its route asks for
// LargeRequests, and then it is served up to MaxRequestBytes.
func TestLargeRequestsOnlyWhereTheRouteAllows(t *testing.T) {
	answered := func(context.Context, *RequestContext, kmsg.Request) Result {
		return Result{Response: kmsg.NewPtrProduceResponse()}
	}
	limits := DefaultLimits()
	limits.MaxAdminRequestBytes = 1024
	for _, large := range []bool{false, true} {
		routes := apiVersionsRoutes()
		routes[0] = Route{MinVersion: 3, MaxVersion: 13, Handle: answered, LargeRequests: large}
		c := dial(t, testServer(t, routes, limits))
		produce := kmsg.NewPtrProduceRequest()
		produce.Version, produce.Acks = 9, 1
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = make([]byte, 4096)
		rt.Partitions = append(rt.Partitions, rp)
		produce.Topics = append(produce.Topics, rt)
		c.send(produce, 1)
		if !large {
			c.expectClosed()
			continue
		}
		if corr, _, err := c.receive(); err != nil || corr != 1 {
			t.Fatalf("large request on a LargeRequests route: correlation %d, %v", corr, err)
		}
	}
}
