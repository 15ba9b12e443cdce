package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metrics"
)

const apiVersionsKey = 18

// errClose marks a protocol violation after which the connection is closed,
// as Kafka does for malformed or unsupported requests.
var errClose = errors.New("closing connection")

// slot is one request's place in the response order.
type slot struct {
	correlationID  int32
	apiKey         int16
	flexibleHeader bool
	response       kmsg.Response
	pending        chan kmsg.Response // set when the response comes later
	close          bool               // close the connection after this slot
	noResponse     bool               // pending work whose response is dropped (acks=0)
	mute           time.Duration      // stop reading the connection this long after this request
	// rawToken marks a reply in a v0 SASL exchange: token is written as a
	// bare size-prefixed frame, without a response header.
	rawToken bool
	token    []byte

	// api and times are the request's metrics, when the listener has
	// any; times are written by the reader, then by the pending
	// goroutine (Ready), then by the writer, each handing over through
	// the slots or pending channel.
	api   *metrics.API
	times metrics.RequestTimes
}

type conn struct {
	srv *Server
	nc  net.Conn

	// frameBuf is reused for the next request when the last one's route
	// is FrameReusable (Produce: its handler copies the records into the
	// log before it returns). Other handlers may keep slices of their
	// request (group metadata, for one), so their frames are never reused.
	frameBuf []byte

	// slots carries responses to the writer in request order; its capacity
	// bounds requests in flight on this connection.
	slots chan *slot

	// auth is the connection's SASL authentication; tlsPrincipal the
	// principal its client certificate maps to, if any. Both belong to
	// the reader.
	auth         saslState
	tlsPrincipal string
	// frameReadAt is when the reader finished reading the current frame,
	// for request metrics (zero without them).
	frameReadAt time.Time
}

func newConn(s *Server, nc net.Conn) *conn {
	return &conn{srv: s, nc: nc, slots: make(chan *slot, s.limits.MaxInFlightPerConnection)}
}

// serve runs the reader on this goroutine and the writer on another, and
// returns when both have stopped.
func (c *conn) serve(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	raw := c.nc // under TLS too, closing the socket ends every read and write
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if c.srv.listener.TLS != nil {
		if err := c.handshakeTLS(ctx); err != nil {
			c.srv.logger.Info("TLS handshake failed", "remote", c.nc.RemoteAddr(), "err", err)
			c.nc.Close()
			return
		}
	}

	var pendingWG sync.WaitGroup
	writerDone := make(chan struct{})
	var unwritten *slot
	go func() {
		defer close(writerDone)
		unwritten = c.writeLoop(ctx)
		cancel() // a write error ends the connection
	}()
	err := c.readLoop(ctx, &pendingWG)
	c.takeKeptBuffer()
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		c.srv.logger.Debug("connection closed", "remote", c.nc.RemoteAddr(), "err", err)
	}
	close(c.slots)
	<-writerDone
	cancel()
	pendingWG.Wait()
	c.nc.Close()
	if unwritten != nil {
		releaseUnsent(oneSlot(unwritten))
	}
	releaseUnsent(c.slots)
}

// handshakeTLS runs the server side of the TLS handshake, bounded like a
// frame, and takes the principal of the client's certificate. The
// connection is then the TLS one.
func (c *conn) handshakeTLS(ctx context.Context) error {
	tc := tls.Server(c.nc, c.srv.listener.TLS.TLSConfig())
	if err := c.nc.SetDeadline(time.Now().Add(c.srv.limits.FrameTimeout)); err != nil {
		return err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	principal, err := c.srv.listener.TLS.Principal(tc.ConnectionState())
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	if principal != anonymous {
		c.tlsPrincipal = principal
	}
	c.nc = tc
	return nil
}

// maxReusedFrameBytes bounds the frame buffer a connection keeps between
// requests (Server.keptFrameBytes bounds the sum over connections), so
// idle connections do not pin large buffers.
const maxReusedFrameBytes = 8 << 20

// Per-connection socket buffers: what a connection costs before it holds
// any request.
const (
	readBufferBytes  = 8 << 10
	writeBufferBytes = 64 << 10
)

// frameFirstStep is the memory a frame starts with; it doubles as its
// bytes arrive, so a client that announces a large frame and sends little
// of it holds little memory (Kafka allocates a request's buffer whole
// when its size is read).
const frameFirstStep = 16 << 10

// readFrame reads a frame of size bytes, taking its memory from the
// listener's request pool: into the connection's kept buffer when that is
// large enough, else into one that grows with the bytes read. The caller
// releases the ticket once the request was handled.
func (c *conn) readFrame(ctx context.Context, r io.Reader, size int) ([]byte, *frameTicket, error) {
	buf := c.takeKeptBuffer()
	pool := c.srv.pool
	// Waiting for memory counts against the frame timeout too: a client
	// that went away while its connection waited is let go by then.
	ctx, cancel := context.WithTimeout(ctx, c.srv.limits.FrameTimeout)
	defer cancel()
	if cap(buf) >= size {
		t, err := pool.admit(ctx, int64(size))
		if err != nil {
			return nil, nil, err
		}
		if err := c.setFrameDeadline(); err != nil {
			pool.doneReading(t)
			return nil, t, err
		}
		buf = buf[:size]
		n, err := io.ReadFull(r, buf)
		pool.doneReading(t)
		return buf[:n], t, err
	}
	first := min(size, frameFirstStep)
	t, err := pool.admit(ctx, int64(first))
	if err != nil {
		return nil, nil, err
	}
	defer pool.doneReading(t)
	if err := c.setFrameDeadline(); err != nil {
		return nil, t, err
	}
	buf = make([]byte, 0, first)
	for len(buf) < size {
		if len(buf) == cap(buf) {
			more := min(size, 2*len(buf)) - len(buf)
			if err := pool.grow(ctx, t, int64(more)); err != nil {
				return buf, t, err
			}
			grown := make([]byte, len(buf), len(buf)+more)
			copy(grown, buf)
			buf = grown
		}
		n, err := io.ReadFull(r, buf[len(buf):min(size, cap(buf))])
		buf = buf[:len(buf)+n]
		if err != nil {
			return buf, t, err
		}
	}
	return buf, t, nil
}

// takeKeptBuffer hands the kept buffer to the next frame.
func (c *conn) takeKeptBuffer() []byte {
	buf := c.frameBuf
	c.frameBuf = nil
	c.srv.keptFrameBytes.Add(-int64(cap(buf)))
	return buf
}

// keepFrameBuffer keeps frame's buffer for the next request when its route
// allows, it is not too large, and the listener's kept buffers stay within
// their share of the request pool.
func (c *conn) keepFrameBuffer(frame []byte) {
	if len(frame) < 2 || !c.srv.routes[int16(binary.BigEndian.Uint16(frame))].FrameReusable || cap(frame) > maxReusedFrameBytes {
		return
	}
	if c.srv.keptFrameBytes.Add(int64(cap(frame))) > c.srv.maxKeptFrameBytes {
		c.srv.keptFrameBytes.Add(-int64(cap(frame)))
		return
	}
	c.frameBuf = frame
}

func (c *conn) readLoop(ctx context.Context, pendingWG *sync.WaitGroup) error {
	// Small: every connection has one from the start, and frames larger
	// than it are read straight into their own buffers.
	br := bufio.NewReaderSize(c.nc, readBufferBytes)
	var sizeBuf [4]byte
	for {
		if err := c.nc.SetReadDeadline(time.Now().Add(c.srv.limits.IdleTimeout)); err != nil {
			return err
		}
		if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
			return err
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 0 || size > c.srv.limits.MaxRequestBytes {
			return fmt.Errorf("%w: request size %d outside [0, %d] (socket.request.max.bytes)", errClose, size, c.srv.limits.MaxRequestBytes)
		}
		if err := c.setFrameDeadline(); err != nil {
			return err
		}
		if size > 0 {
			// Memory is taken from the pool only once the frame's
			// bytes start to arrive: a silent client holds none.
			if _, err := br.Peek(1); err != nil {
				return err
			}
		}
		frame, ticket, err := c.readFrame(ctx, br, int(size))
		if err != nil {
			if ticket != nil {
				c.srv.pool.release(ticket)
			}
			return fmt.Errorf("reading %d byte frame: %w", size, err)
		}
		if c.srv.metrics != nil {
			c.frameReadAt = time.Now()
		}
		s, err := c.handleRead(ctx, frame, pendingWG)
		c.srv.pool.release(ticket)
		c.keepFrameBuffer(frame)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		select {
		case c.slots <- s:
		case <-ctx.Done():
			return ctx.Err()
		}
		if s.close {
			return errClose
		}
		if s.mute > 0 {
			// KIP-219: a throttled client's connection is not read
			// until its throttle time has passed.
			t := time.NewTimer(s.mute)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	}
}

// setFrameDeadline bounds how long the rest of a frame may take once
// memory was admitted for it.
func (c *conn) setFrameDeadline() error {
	return c.nc.SetReadDeadline(time.Now().Add(c.srv.limits.FrameTimeout))
}

// handleRead handles a frame read in full once one of the listener's
// queued.max.requests handling slots is free.
func (c *conn) handleRead(ctx context.Context, frame []byte, pendingWG *sync.WaitGroup) (*slot, error) {
	select {
	case c.srv.handling <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.srv.handling }()
	return c.handleFrame(ctx, frame, pendingWG)
}

// handleFrame decodes one request and dispatches it. It returns the slot to
// queue for the writer, nil when no response is due, or an error that closes
// the connection.
func (c *conn) handleFrame(ctx context.Context, frame []byte, pendingWG *sync.WaitGroup) (*slot, error) {
	if c.auth.rawTokens {
		if len(frame) > maxUnauthenticatedFrameBytes {
			return nil, fmt.Errorf("%w: %d byte SASL token", errClose, len(frame))
		}
		return c.saslRawToken(frame)
	}
	hdr, body, err := parseRequestHeader(frame)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errClose, err)
	}
	if err := c.admitRequest(hdr.apiKey, len(frame)); err != nil {
		return nil, err
	}
	route, known := c.srv.routes[hdr.apiKey]
	if !route.LargeRequests && int32(len(frame)) > c.srv.limits.MaxAdminRequestBytes {
		return nil, fmt.Errorf("%w: %d byte %s request over %d bytes", errClose, len(frame), kmsg.NameForKey(hdr.apiKey), c.srv.limits.MaxAdminRequestBytes)
	}
	if hdr.apiKey == apiVersionsKey && known && hdr.apiVersion > route.MaxVersion {
		// KIP-511: answer an ApiVersions request of an unknown version with
		// v0 and UNSUPPORTED_VERSION so the client can downgrade.
		return &slot{correlationID: hdr.correlationID, apiKey: hdr.apiKey, response: c.unsupportedAPIVersions()}, nil
	}
	if !known {
		return nil, fmt.Errorf("%w: unsupported api key %d", errClose, hdr.apiKey)
	}
	// Versions below the minimum that the route refuses are answered (by
	// Route.Refuse); any other version outside the range closes.
	handle := route.Handle
	if hdr.apiVersion >= 0 && hdr.apiVersion < route.MinVersion && route.Refuse != nil {
		handle = route.Refuse
	} else if hdr.apiVersion < route.MinVersion || hdr.apiVersion > route.MaxVersion {
		return nil, fmt.Errorf("%w: %s version %d outside [%d, %d]", errClose, kmsg.NameForKey(hdr.apiKey), hdr.apiVersion, route.MinVersion, route.MaxVersion)
	}
	req := kmsg.RequestForKey(hdr.apiKey)
	req.SetVersion(hdr.apiVersion)
	if err := req.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("%w: decoding %s v%d: %v", errClose, kmsg.NameForKey(hdr.apiKey), hdr.apiVersion, err)
	}
	if route.connection {
		s := &slot{correlationID: hdr.correlationID, apiKey: hdr.apiKey, flexibleHeader: req.IsFlexible()}
		c.startTimes(s, hdr.apiKey, time.Time{})
		s.response, s.close = c.handleConnectionRequest(req)
		c.handlerDone(s)
		return s, nil
	}
	rc := &RequestContext{
		APIKey:        hdr.apiKey,
		APIVersion:    hdr.apiVersion,
		CorrelationID: hdr.correlationID,
		ClientID:      hdr.clientID,
		ClientAddr:    c.nc.RemoteAddr(),
		Listener:      c.srv.listener.Name,
		Principal:     c.principal(),
		ReceivedAt:    time.Now(),
	}
	s := &slot{correlationID: hdr.correlationID, apiKey: hdr.apiKey, flexibleHeader: req.IsFlexible() && hdr.apiKey != apiVersionsKey}
	c.startTimes(s, hdr.apiKey, rc.ReceivedAt)
	res := handle(ctx, rc, req)
	s.close, s.mute = res.CloseConnection, res.Mute
	c.handlerDone(s)
	switch {
	case res.Pending != nil:
		// With NoResponse too, the work must finish though nobody waits
		// for its answer (acks=0 records still have to become durable and
		// visible): it takes a slot like any other, so that a flood of
		// acks=0 produce meets the same in-flight bound, and the writer
		// drops its response.
		s.noResponse = res.NoResponse
		s.pending = make(chan kmsg.Response, 1)
		pendingWG.Add(1)
		s.api.WaitStarted()
		go func() {
			defer pendingWG.Done()
			resp := res.Pending(ctx)
			if s.api != nil {
				s.times.Ready = time.Now()
				s.api.WaitDone()
			}
			s.pending <- resp
		}()
	case res.NoResponse:
		if res.CloseConnection {
			return nil, errClose
		}
		if res.Mute > 0 {
			s.noResponse = true
			return s, nil
		}
		s.api.ObserveUnanswered(&s.times)
		return nil, nil
	default:
		s.response = res.Response
	}
	return s, nil
}

// unsupportedAPIVersions answers an ApiVersions at a version not served:
// v0 with UNSUPPORTED_VERSION and only ApiVersions' own range, as Kafka
// (KIP-511), so that the client asks again at a version it can read in
// full. A client that took a full list here as final would miss what only
// later versions carry (supported and finalized features).
func (c *conn) unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	for _, k := range AdvertisedVersions(c.srv.routes) {
		if k.ApiKey == kmsg.ApiVersions.Int16() {
			resp.ApiKeys = append(resp.ApiKeys, k)
		}
	}
	return resp
}

// writeLoop writes responses in request order until the slots channel is
// closed and drained, or a write fails. It returns a slot it took but did
// not finish, whose response the caller must release.
func (c *conn) writeLoop(ctx context.Context) *slot {
	// Made on the first response: a connection that only connects, or
	// only sends acks=0 produce, holds no write buffer.
	var bw *bufio.Writer
	defer func() {
		if bw != nil {
			bw.Flush()
		}
	}()
	var buf []byte
	for s := range c.slots {
		if bw == nil {
			bw = bufio.NewWriterSize(c.nc, writeBufferBytes)
		}
		resp := s.response
		if s.pending != nil {
			select {
			case resp = <-s.pending:
			case <-ctx.Done():
				return s
			}
		}
		if s.noResponse {
			resp = nil
		}
		if s.rawToken {
			buf = append(binary.BigEndian.AppendUint32(buf[:0], uint32(len(s.token))), s.token...)
			if _, err := bw.Write(buf); err != nil || bw.Flush() != nil {
				return nil
			}
			continue
		}
		if resp == nil {
			s.api.ObserveUnanswered(&s.times)
			if s.close {
				return nil
			}
			continue
		}
		if s.api != nil {
			s.api.Answered(resp)
			s.times.SendStart = time.Now()
		}
		if sr, ok := resp.(SplicedResponse); ok {
			var splices []Splice
			buf, splices = sr.AppendSpliced(appendResponseHeader(buf[:0], s))
			err := writeSpliced(bw, bw.Flush, c.nc, buf, splices)
			sr.Release()
			if err != nil {
				return nil
			}
		} else {
			buf = resp.AppendTo(appendResponseHeader(buf[:0], s))
			binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
			if _, err := bw.Write(buf); err != nil {
				return nil
			}
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large fetch response's buffer per connection
		}
		if len(c.slots) == 0 {
			if err := bw.Flush(); err != nil {
				return nil
			}
		}
		if s.api != nil {
			s.times.Sent = time.Now()
			s.api.Sent(&s.times)
		}
		if s.close {
			return nil
		}
	}
	return nil
}

func oneSlot(s *slot) <-chan *slot {
	ch := make(chan *slot, 1)
	ch <- s
	close(ch)
	return ch
}

// appendResponseHeader appends a size placeholder and the response header.
func appendResponseHeader(dst []byte, s *slot) []byte {
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(s.correlationID))
	if s.flexibleHeader {
		dst = append(dst, 0) // no tagged fields in the response header
	}
	return dst
}

// releaseUnsent frees responses that will never be written because the
// connection ended: spliced responses hold segment references.
func releaseUnsent(slots <-chan *slot) {
	for s := range slots {
		resp := s.response
		if s.pending != nil {
			select {
			case resp = <-s.pending:
			default:
			}
		}
		if sr, ok := resp.(SplicedResponse); ok {
			sr.Release()
		}
	}
}

// AdvertisedVersions lists the routes as ApiVersions entries, sorted by key.
func AdvertisedVersions(routes Routes) []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(routes))
	for key := int16(0); key <= kmsg.MaxKey; key++ {
		r, ok := routes[key]
		if !ok {
			continue
		}
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: key, MinVersion: r.MinVersion, MaxVersion: r.MaxVersion})
	}
	return keys
}

// startTimes binds the slot's request metrics, when the listener has
// any: the frame's read time and the handler's start (now when zero).
func (c *conn) startTimes(s *slot, apiKey int16, handlerStart time.Time) {
	if c.srv.metrics == nil {
		return
	}
	if handlerStart.IsZero() {
		handlerStart = time.Now()
	}
	s.api = c.srv.metrics.API(apiKey)
	s.times.Read, s.times.HandlerStart = c.frameReadAt, handlerStart
}

// handlerDone marks the handler's return; the response is ready then
// unless it waits (Pending).
func (c *conn) handlerDone(s *slot) {
	if s.api == nil {
		return
	}
	s.times.HandlerDone = time.Now()
	s.times.Ready = s.times.HandlerDone
}
