package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Defaults of ServerConfig.
const (
	// DefaultRequestTimeout is Kafka's REST request timeout
	// (RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS): how long a herder
	// operation, forwarding included, may take before the client gets a
	// 500 "Request timed out".
	DefaultRequestTimeout = 90 * time.Second
	// DefaultHealthCheckTimeout is Kafka's DEFAULT_HEALTH_CHECK_TIMEOUT_MS.
	DefaultHealthCheckTimeout = 10 * time.Second
	// DefaultShutdownTimeout is how long Shutdown lets requests in flight
	// finish before cancelling them: Kafka's REST server waits 60 s.
	DefaultShutdownTimeout = 60 * time.Second
	// DefaultReadHeaderTimeout bounds how long a client may take to send
	// its request headers, so that slow clients cannot hold connections.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes keep-alive connections idle this long:
	// the idle timeout of the Jetty connectors Kafka's worker listens with.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxRequestBytes bounds a request body. Kafka sets no limit;
	// the largest legitimate bodies (configurations, offsets) are a few
	// kilobytes, and a megabyte leaves room for big offset alterations.
	DefaultMaxRequestBytes = 1 << 20
	// DefaultMaxForwardResponseBytes bounds the leader's answer to a
	// forwarded request, which is read whole before it is relayed.
	DefaultMaxForwardResponseBytes = 16 << 20
)

// ServerConfig configures a Server. The zero value of each field means its
// default.
type ServerConfig struct {
	// Version and Commit are reported by GET /.
	Version string
	Commit  string

	RequestTimeout          time.Duration
	HealthCheckTimeout      time.Duration
	ShutdownTimeout         time.Duration
	ReadHeaderTimeout       time.Duration
	IdleTimeout             time.Duration
	MaxRequestBytes         int64
	MaxForwardResponseBytes int64

	// TopicTrackingDisabled answers 403 to the topics endpoints, as a
	// Kafka worker with topic.tracking.enable=false does.
	TopicTrackingDisabled bool
	// TopicTrackingResetDisabled answers 403 to PUT .../topics/reset, as
	// topic.tracking.allow.reset=false does.
	TopicTrackingResetDisabled bool

	// ForwardClient sends requests forwarded to the leader. Nil means a
	// client of the server's own with no settings but the per-request
	// context (give one with TLS settings for an https leader).
	ForwardClient *http.Client
	// Logger receives what the server cannot tell a client (failures to
	// write an answer, forwarding). Nil discards.
	Logger *slog.Logger
}

func (c ServerConfig) withDefaults() ServerConfig {
	setDuration := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDuration(&c.RequestTimeout, DefaultRequestTimeout)
	setDuration(&c.HealthCheckTimeout, DefaultHealthCheckTimeout)
	setDuration(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDuration(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDuration(&c.IdleTimeout, DefaultIdleTimeout)
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.MaxForwardResponseBytes <= 0 {
		c.MaxForwardResponseBytes = DefaultMaxForwardResponseBytes
	}
	if c.ForwardClient == nil {
		c.ForwardClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ErrServerClosed is returned by Serve once the server is shut down.
var ErrServerClosed = errors.New("connect rest: server closed")

// Server serves Kafka Connect's REST API over a Herder. It is an
// http.Handler, and Serve runs it on a listener. A Server is used once:
// after Shutdown it answers every request with a 503.
type Server struct {
	cfg    ServerConfig
	herder Herder
	mux    *http.ServeMux

	// stopCtx is cancelled when the shutdown grace period ends: every
	// request's context derives from it, so herder calls and forwarded
	// requests still running are cancelled then.
	stopCtx        context.Context
	cancelRequests context.CancelFunc

	// idle is closed, under mu, once the server is closing and no request
	// is in flight; shutdownDone once the first Shutdown has finished.
	idle         chan struct{}
	shutdownDone chan struct{}

	// mu guards the serving state.
	mu struct {
		sync.Mutex
		httpServer  *http.Server
		closing     bool // no new requests are admitted
		inFlight    int  // requests being handled
		shutdownErr error
	}
}

// New returns a Server answering with herder.
func New(herder Herder, cfg ServerConfig) (*Server, error) {
	if herder == nil {
		return nil, errors.New("connect rest: nil herder")
	}
	s := &Server{cfg: cfg.withDefaults(), herder: herder, mux: http.NewServeMux()}
	s.stopCtx, s.cancelRequests = context.WithCancel(context.Background())
	s.idle = make(chan struct{})
	s.shutdownDone = make(chan struct{})
	s.routes()
	return s, nil
}

// Serve accepts connections on listener and serves them until ctx ends or
// Shutdown is called, then shuts down gracefully (within
// ServerConfig.ShutdownTimeout when ctx ended) and returns once every request
// has been answered or cancelled. It closes listener. It returns the error
// that stopped the listener, or the error of the shutdown it started when
// ctx ended (requests cancelled after the grace period); nil after a
// Shutdown called elsewhere, whose caller hears how it went.
func (s *Server) Serve(ctx context.Context, listener net.Listener) error {
	httpServer := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.stopCtx },
	}
	if err := s.attach(httpServer); err != nil {
		return errors.Join(err, listener.Close())
	}
	serveErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serveErr <- httpServer.Serve(listener)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		if errors.Is(err, http.ErrServerClosed) {
			// Shutdown was called: its caller hears how it went.
			wg.Wait()
			<-s.shutdownDone
			return nil
		}
		err = fmt.Errorf("connect rest: serve: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := s.Shutdown(shutdownCtx)
	wg.Wait()
	return errors.Join(err, shutdownErr)
}

// attach records the http.Server that Serve runs, for Shutdown.
func (s *Server) attach(httpServer *http.Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.mu.closing:
		return ErrServerClosed
	case s.mu.httpServer != nil:
		return errors.New("connect rest: Serve called twice")
	}
	s.mu.httpServer = httpServer
	return nil
}

// Shutdown stops admitting requests, waits until those in flight are
// answered or ctx ends, then cancels those left (their herder calls see
// their context end) and waits for their handlers to return. Calls after
// the first wait for the first one to finish, or for their own ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.mu.closing
	s.mu.closing = true
	httpServer := s.mu.httpServer
	if first && s.mu.inFlight == 0 {
		close(s.idle)
	}
	s.mu.Unlock()
	if !first {
		select {
		case <-s.shutdownDone:
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.mu.shutdownErr
		case <-ctx.Done():
			return fmt.Errorf("connect rest: waiting for shutdown: %w", ctx.Err())
		}
	}
	err := s.drain(ctx, httpServer)
	s.mu.Lock()
	s.mu.shutdownErr = err
	s.mu.Unlock()
	close(s.shutdownDone)
	return err
}

// drain waits for requests in flight, gracefully until ctx ends and then
// by cancelling them.
func (s *Server) drain(ctx context.Context, httpServer *http.Server) error {
	var graceErr error
	if httpServer != nil {
		graceErr = httpServer.Shutdown(ctx)
	}
	select {
	case <-s.idle:
	case <-ctx.Done():
		graceErr = ctx.Err()
	}
	// Cancel what is left, then wait for it: handlers return promptly once
	// their context ends, as the Herder contract requires.
	s.cancelRequests()
	var closeErr error
	if httpServer != nil {
		closeErr = httpServer.Close()
	}
	<-s.idle
	if graceErr != nil {
		graceErr = fmt.Errorf("connect rest: requests cancelled at shutdown: %w", graceErr)
	}
	return errors.Join(graceErr, closeErr)
}

// admit counts a request in, unless the server is shutting down.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closing {
		return false
	}
	s.mu.inFlight++
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.inFlight--
	if s.mu.closing && s.mu.inFlight == 0 {
		close(s.idle)
	}
}

// ServeHTTP answers one request. Every answer but 202 and 204 carries a
// JSON body; errors an ErrorMessage.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.admit() {
		s.writeJSON(w, http.StatusServiceUnavailable,
			ErrorMessage{ErrorCode: http.StatusServiceUnavailable, Message: "The worker is shutting down"})
		return
	}
	defer s.release()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.stopCtx, cancel)
	defer stop()
	r = r.WithContext(ctx)

	// Refuse paths that are not canonical rather than let the mux
	// redirect: an API client gains nothing from a redirect, and every
	// answer stays JSON.
	if !isCanonicalPath(r.URL.EscapedPath()) {
		s.writeError(w, &Error{Kind: ErrNotFound, Message: "HTTP 404 Not Found"})
		return
	}
	handler, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // the mux, not handler, sets the path values
		return
	}
	// No route: the mux's own answer tells 404 from 405 (with the Allow
	// header); give it as an ErrorMessage, as Kafka's JAX-RS server does.
	probe := &statusProbe{header: http.Header{}}
	handler.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeError(w, &Error{Kind: errMethodNotAllowed, Message: "HTTP 405 Method Not Allowed"})
		return
	}
	s.writeError(w, &Error{Kind: ErrNotFound, Message: "HTTP 404 Not Found"})
}

// isCanonicalPath reports whether the mux would serve p without
// redirecting: absolute, with no empty, "." or ".." segment.
func isCanonicalPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// statusProbe records the status and headers a handler writes and drops
// the body.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }

func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}

func (p *statusProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}

// writeJSON writes value as the JSON body of a status answer.
func (s *Server) writeJSON(w http.ResponseWriter, status int, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		status, value = http.StatusInternalServerError, ErrorMessage{
			ErrorCode: http.StatusInternalServerError, Message: "Cannot encode the answer: " + err.Error()}
		body, _ = json.Marshal(value) // an ErrorMessage always encodes
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(append(body, '\n')); err != nil {
		s.cfg.Logger.Debug("connect rest: writing answer", "error", err)
	}
}

// writeError writes err's status and ErrorMessage.
func (s *Server) writeError(w http.ResponseWriter, err error) {
	status, message := errorAnswer(err)
	if status == http.StatusInternalServerError {
		s.cfg.Logger.Warn("connect rest: request failed", "error", err)
	}
	s.writeJSON(w, status, message)
}
