// Package server accepts Kafka client connections, frames requests, decodes
// them with kmsg and hands them to the handlers registered by the broker.
//
// Concurrency model: per connection one reader goroutine and one writer
// goroutine. The reader reads a frame, decodes it and calls the handler for
// its API key synchronously, so requests on one connection are processed in
// the order they were sent (idempotent producers depend on it). A handler may
// return a Pending function for work that waits (fsync for acks, long-poll
// fetch); pending work runs on its own goroutine while the reader goes on,
// and the writer sends responses strictly in request order. The number of
// requests in flight per connection is bounded (MaxInFlightPerConnection),
// which is how a slow consumer or a flood of requests gets backpressure
// instead of memory growth.
//
// Every goroutine is started by the Server and joined by Serve before it
// returns: cancelling Serve's context closes the listener and every
// connection.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/metrics"
)

// RequestContext describes the request being handled.
type RequestContext struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      string
	ClientAddr    net.Addr
	// Listener is the name of the listener the request came in on:
	// Metadata and FindCoordinator answer with that listener's addresses.
	Listener string
	// Principal is who sent the request, as Kafka's principal string:
	// "User:alice" after SASL or from a client certificate, else
	// "User:ANONYMOUS".
	Principal string
	// ReceivedAt is when the frame was read, for request timeouts.
	ReceivedAt time.Time
}

// Result is what a handler returns for one request.
type Result struct {
	// Response is sent back unless NoResponse is set. Exactly one of
	// Response and Pending is set when a response is due.
	Response kmsg.Response
	// Pending runs on its own goroutine and returns the response later; it
	// must return promptly once ctx is cancelled.
	Pending func(ctx context.Context) kmsg.Response
	// NoResponse is set for requests that get none (Produce with acks=0).
	// With Pending also set, Pending still runs and its response is dropped.
	NoResponse bool
	// CloseConnection asks the server to close the connection after any
	// earlier responses are written (a protocol violation).
	CloseConnection bool
	// Mute stops reading the connection for this long once the request
	// was handled: a quota's throttle, told to the client in the
	// response's throttle_time_ms (KIP-219).
	Mute time.Duration
}

// Handler handles one decoded request. It runs on the connection's reader
// goroutine.
type Handler func(ctx context.Context, rc *RequestContext, req kmsg.Request) Result

// Route is one API served: its handler, the versions supported, and how
// its request frames are read.
type Route struct {
	MinVersion, MaxVersion int16
	Handle                 Handler
	// LargeRequests lets the API's frames reach Limits.MaxRequestBytes;
	// others are capped at Limits.MaxAdminRequestBytes.
	LargeRequests bool
	// FrameReusable says the handler keeps no reference into the request
	// frame once it returns (Produce copies its records into the log), so
	// the connection reads the next request into the same buffer.
	FrameReusable bool
	// Refuse, when set, answers requests of versions below MinVersion
	// instead of closing the connection: versions clients still send but
	// fjord will not serve (Produce and Fetch of the message formats before
	// v2). It runs like Handle, on a request decoded at its version, and
	// is not advertised. Versions above MaxVersion always close.
	Refuse Handler
	// connection marks the APIs the connection serves itself
	// (AddConnectionRoutes).
	connection bool
}

// Routes maps API keys to handlers. It is built once at start-up and only
// read afterwards.
type Routes map[int16]Route

// Limits bound what one connection may cost.
type Limits struct {
	// MaxRequestBytes is socket.request.max.bytes: a larger frame closes
	// the connection before anything is allocated.
	MaxRequestBytes int32
	// MaxAdminRequestBytes caps frames of every API whose route does not
	// ask for LargeRequests (only Produce does). kmsg
	// checks an array's length against the bytes left, but each element
	// may decode into a struct tens of times larger than its one byte on
	// the wire; a small cap keeps that amplification bounded for the
	// APIs that never need large requests.
	MaxAdminRequestBytes int32
	// MaxInFlightPerConnection bounds requests read but not yet answered.
	MaxInFlightPerConnection int
	// IdleTimeout is connections.max.idle.ms: a connection with no request
	// for this long is closed.
	IdleTimeout time.Duration
	// FrameTimeout bounds how long the rest of a frame may take once its
	// size was read, so a slow-loris client cannot hold a goroutine forever.
	FrameTimeout time.Duration
	// MaxConnections is max.connections.
	MaxConnections int
	// QueuedMaxRequestBytes is queued.max.request.bytes: the bytes of
	// request frames the listener holds at once (requestPool); <= 0 is
	// no limit.
	QueuedMaxRequestBytes int64
	// QueuedMaxRequests is queued.max.requests: requests read in full and
	// being handled at once, over all connections.
	QueuedMaxRequests int
}

// DefaultLimits are Kafka's defaults where Kafka has them.
func DefaultLimits() Limits {
	return Limits{
		MaxRequestBytes:          100 * 1024 * 1024, // socket.request.max.bytes
		MaxAdminRequestBytes:     8 * 1024 * 1024,
		MaxInFlightPerConnection: 64,               // franz-go pipelines at most 5 produce requests; 64 leaves headroom
		IdleTimeout:              10 * time.Minute, // connections.max.idle.ms
		FrameTimeout:             60 * time.Second,
		MaxConnections:           10000,
		QueuedMaxRequestBytes:    256 << 20,
		QueuedMaxRequests:        500, // queued.max.requests
	}
}

// ListenerConfig is what a listener is, beside its limits.
type ListenerConfig struct {
	// Name is the listener's name (listeners, upper case).
	Name string
	// SASL, when set, requires SASL authentication (SASL_PLAINTEXT,
	// SASL_SSL).
	SASL *SASLConfig
	// TLS, when set, encrypts the listener's connections (SSL, SASL_SSL).
	TLS TLSServer
	// Connections, when set, admits each accepted connection
	// (max.connections.per.ip with its overrides, connection creation
	// rates; internal/quota provides it) and is told when it closes.
	Connections ConnectionAdmission
	// Metrics, when set, count the listener's connections and requests.
	Metrics *metrics.Metrics
}

// ConnectionAdmission decides whether a new connection from ip is served
// (after a delay, which holds the accept loop as Kafka's creation rate
// throttle does) or closed (after a delay, so that a refused client does
// not reconnect at once).
type ConnectionAdmission interface {
	Admit(ip netip.Addr, now time.Time) (ok bool, delay time.Duration, err error)
	Release(ip netip.Addr)
}

// TLSServer is a listener's TLS: the configuration of each handshake
// (certificates may be reloaded between them) and the principal a client
// certificate maps to. internal/tlsconfig provides it.
type TLSServer interface {
	TLSConfig() *tls.Config
	// Principal maps the verified client certificate, if any, to a
	// principal ("User:ANONYMOUS" without one); an error refuses the
	// connection.
	Principal(tls.ConnectionState) (string, error)
}

// Server serves the Kafka protocol on one listener.
type Server struct {
	listener ListenerConfig
	routes   Routes
	limits   Limits
	logger   *slog.Logger

	connSlots chan struct{}
	// handling holds a slot per request being handled
	// (QueuedMaxRequests).
	handling chan struct{}
	pool     *requestPool
	// keptFrameBytes counts the idle frame buffers connections keep for
	// their next produce; past maxKeptFrameBytes they are dropped instead.
	keptFrameBytes    atomic.Int64
	maxKeptFrameBytes int64
	wg                sync.WaitGroup

	// metrics are the node's, connMetrics this listener's connections;
	// both nil without metrics.
	metrics     *metrics.Metrics
	connMetrics *metrics.Listener
}

// New returns a server of an unnamed listener dispatching to routes.
func New(routes Routes, limits Limits, logger *slog.Logger) *Server {
	return NewListener(ListenerConfig{}, routes, limits, logger)
}

// NewListener returns a server of the listener l dispatching to routes.
func NewListener(l ListenerConfig, routes Routes, limits Limits, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	kept := int64(64 << 20)
	if limits.QueuedMaxRequestBytes > 0 {
		kept = limits.QueuedMaxRequestBytes / 4
	}
	return &Server{
		listener:          l,
		routes:            routes,
		limits:            limits,
		logger:            logger,
		connSlots:         make(chan struct{}, limits.MaxConnections),
		handling:          make(chan struct{}, max(1, limits.QueuedMaxRequests)),
		pool:              newRequestPool(limits.QueuedMaxRequestBytes),
		maxKeptFrameBytes: kept,
		metrics:           l.Metrics,
		connMetrics:       l.Metrics.Listener(l.Name),
	}
}

// admit asks the listener's ConnectionAdmission about nc, waiting out an
// accept delay; a refused connection is closed after its delay by a
// goroutine the Server joins.
func (s *Server) admit(ctx context.Context, nc net.Conn) (netip.Addr, bool) {
	if s.listener.Connections == nil {
		return netip.Addr{}, true
	}
	ip := remoteIP(nc)
	ok, delay, err := s.listener.Connections.Admit(ip, time.Now())
	if !ok {
		s.logger.Debug("connection refused", "remote", nc.RemoteAddr(), "err", err)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer nc.Close()
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}()
		return ip, false
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return ip, true
}

func remoteIP(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// Serve accepts connections on ln until ctx is cancelled, then closes the
// listener and every connection and waits for their goroutines.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		select {
		case s.connSlots <- struct{}{}:
		default:
			s.logger.Warn("max.connections reached, closing new connection", "remote", nc.RemoteAddr())
			nc.Close()
			continue
		}
		ip, admitted := s.admit(ctx, nc)
		if !admitted {
			<-s.connSlots
			continue
		}
		c := newConn(s, nc)
		s.connMetrics.Opened()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.connSlots }()
			defer s.connMetrics.Closed()
			if s.listener.Connections != nil {
				defer s.listener.Connections.Release(ip)
			}
			c.serve(ctx)
		}()
	}
}
