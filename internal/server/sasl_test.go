package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/sasl"
)

// saslServer serves ApiVersions and a Metadata route that reports the
// principal it saw, on a listener requiring PLAIN with a fake clock.
func saslServer(t *testing.T, maxReauth time.Duration) (addr string, clock *fakeClock, principals <-chan string) {
	t.Helper()
	clock = &fakeClock{now: time.Unix(1_700_000_000, 0)}
	seen := make(chan string, 16)
	routes := apiVersionsRoutes()
	AddConnectionRoutes(routes)
	routes[3] = Route{MinVersion: 0, MaxVersion: 12, Handle: func(_ context.Context, rc *RequestContext, req kmsg.Request) Result {
		seen <- rc.Principal
		return Result{Response: req.ResponseKind()}
	}}
	cfg := ListenerConfig{Name: "SASL_PLAINTEXT", SASL: &SASLConfig{
		Mechanisms: []sasl.Mechanism{sasl.NewPlain(sasl.StaticPlainUsers{"alice": "alice-secret", "bob": "bob-secret"})},
		MaxReauth:  maxReauth, Now: clock.Now,
	}}
	return serveOn(t, NewListener(cfg, routes, DefaultLimits(), nil)), clock, seen
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *client) handshake(mechanism string, corr int32) *kmsg.SASLHandshakeResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLHandshakeRequest()
	req.Version, req.Mechanism = 1, mechanism
	c.send(req, corr)
	resp := kmsg.NewPtrSASLHandshakeResponse()
	c.read(resp, 1, corr)
	return resp
}

func (c *client) authenticate(msg string, corr int32) *kmsg.SASLAuthenticateResponse {
	c.t.Helper()
	req := kmsg.NewPtrSASLAuthenticateRequest()
	req.Version, req.SASLAuthBytes = 1, []byte(msg)
	c.send(req, corr)
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	c.read(resp, 1, corr)
	return resp
}

func (c *client) metadata(corr int32) error {
	c.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	c.send(req, corr)
	_, _, err := c.receive()
	return err
}

// read receives the response to corr into resp at version.
func (c *client) read(resp kmsg.Response, version int16, corr int32) {
	c.t.Helper()
	got, body, err := c.receive()
	if err != nil {
		c.t.Fatalf("reading the response to %d: %v", corr, err)
	}
	if got != corr {
		c.t.Fatalf("correlation %d, want %d", got, corr)
	}
	resp.SetVersion(version)
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatal(err)
	}
}

// TestSASLGatesRequests: before authentication only ApiVersions and the
// SASL exchange are served, anything else closes the connection without
// reaching its handler; a mechanism not enabled answers the enabled list,
// an exchange without a handshake ILLEGAL_SASL_STATE, a wrong password
// SASL_AUTHENTICATION_FAILED, each then closing; a frame too large for an
// unauthenticated client closes too.
func TestSASLGatesRequests(t *testing.T) {
	addr, _, principals := saslServer(t, 0)

	c := dial(t, addr)
	if err := c.metadata(1); err == nil {
		t.Fatal("Metadata answered before authentication")
	}
	c.expectClosed()

	c = dial(t, addr)
	if resp := c.handshake("SCRAM-SHA-512", 1); resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code ||
		len(resp.SupportedMechanisms) != 1 || resp.SupportedMechanisms[0] != "PLAIN" {
		t.Fatalf("handshake for a disabled mechanism: %+v", resp)
	}
	c.expectClosed()

	c = dial(t, addr)
	if resp := c.authenticate("\x00alice\x00alice-secret", 1); resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("authenticate without handshake: %+v", resp)
	}
	c.expectClosed()

	c = dial(t, addr)
	c.handshake("PLAIN", 1)
	if resp := c.authenticate("\x00alice\x00wrong", 2); resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil {
		t.Fatalf("wrong password: %+v", resp)
	}
	c.expectClosed()

	c = dial(t, addr)
	c.sendRaw(18, 3, 1, true, make([]byte, maxUnauthenticatedFrameBytes))
	c.expectClosed()

	select {
	case p := <-principals:
		t.Fatalf("a handler ran for %s before authentication", p)
	default:
	}
}

// TestSASLSessionLifetime: a session ends at connections.max.reauth.ms,
// told to the client; a re-authentication before then as the same user
// extends it, as another user fails; a request after the end closes the
// connection; the handler sees the authenticated principal.
func TestSASLSessionLifetime(t *testing.T) {
	addr, clock, principals := saslServer(t, time.Minute)
	c := dial(t, addr)
	c.handshake("PLAIN", 1)
	if resp := c.authenticate("\x00alice\x00alice-secret", 2); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 60_000 {
		t.Fatalf("authenticate: %+v", resp)
	}
	if err := c.metadata(3); err != nil {
		t.Fatal(err)
	}
	if p := <-principals; p != "User:alice" {
		t.Fatalf("principal %q, want User:alice", p)
	}
	clock.advance(50 * time.Second)
	c.handshake("PLAIN", 4)
	if resp := c.authenticate("\x00alice\x00alice-secret", 5); resp.ErrorCode != 0 || resp.SessionLifetimeMillis != 60_000 {
		t.Fatalf("re-authenticate: %+v", resp)
	}
	clock.advance(50 * time.Second) // 100 s after the first, 50 after the second
	if err := c.metadata(6); err != nil {
		t.Fatalf("request inside the extended session: %v", err)
	}
	<-principals
	clock.advance(11 * time.Second)
	if err := c.metadata(7); err == nil {
		t.Fatal("request after the session ended was answered")
	}
	c.expectClosed()

	c = dial(t, addr)
	c.handshake("PLAIN", 1)
	c.authenticate("\x00alice\x00alice-secret", 2)
	c.handshake("PLAIN", 3)
	if resp := c.authenticate("\x00bob\x00bob-secret", 4); resp.ErrorCode != kerr.SaslAuthenticationFailed.Code {
		t.Fatalf("re-authentication as another user: %+v", resp)
	}
	c.expectClosed()
}

// TestSASLHandshakeOnPlaintextListener: without SASL the handshake answers
// ILLEGAL_SASL_STATE, as Kafka's request handler does, and the connection
// stays usable.
func TestSASLHandshakeOnPlaintextListener(t *testing.T) {
	routes := apiVersionsRoutes()
	AddConnectionRoutes(routes)
	c := dial(t, testServer(t, routes, DefaultLimits()))
	if resp := c.handshake("PLAIN", 1); resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("handshake: %+v", resp)
	}
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	c.send(av, 2)
	if _, _, err := c.receive(); err != nil {
		t.Fatal(err)
	}
}
