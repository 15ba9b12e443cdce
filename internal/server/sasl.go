package server

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/sasl"
)

// SASL on a connection, as Kafka's SaslServerAuthenticator: on a listener
// that requires it, a connection may send only ApiVersions, SaslHandshake
// and SaslAuthenticate until an exchange succeeds; anything else closes it
// unprocessed. A failed exchange answers SASL_AUTHENTICATION_FAILED and
// closes. Once authenticated, the session lasts until the mechanism's
// expiry (an OAUTHBEARER token's) or connections.max.reauth.ms, whichever
// is first; the client re-authenticates before then with a new handshake
// of the same mechanism and principal (KIP-368), and a request after the
// session ended closes the connection.

// SaslHandshake and SaslAuthenticate are served by the connection itself.
const (
	saslHandshakeKey    = 17
	saslAuthenticateKey = 36
)

// AnonymousPrincipal is the principal of an unauthenticated connection,
// as Kafka's KafkaPrincipal.ANONYMOUS.
const AnonymousPrincipal = "User:ANONYMOUS"

const anonymous = AnonymousPrincipal

// maxUnauthenticatedFrameBytes bounds frames before authentication: Kafka's
// sasl.server.max.receive.size default, so that a stranger cannot make the
// broker read large frames.
const maxUnauthenticatedFrameBytes = sasl.MaxMessageBytes

// SASLConfig is a listener's SASL settings.
type SASLConfig struct {
	// Mechanisms are sasl.enabled.mechanisms, in the order advertised.
	Mechanisms []sasl.Mechanism
	// MaxReauth is connections.max.reauth.ms; zero leaves sessions
	// without an end but the mechanism's.
	MaxReauth time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// AddConnectionRoutes adds to routes the APIs the connection serves itself
// (SaslHandshake v0-1, SaslAuthenticate v0-2), so that ApiVersions advertises
// them with the rest. After a v0 handshake the client sends the mechanism's
// tokens as bare size-prefixed frames instead of SaslAuthenticate requests
// (before KIP-152): Kafka 4 refuses that, fjord serves it for the clients
// that still send it (sarama before 1.41, kafka-python 2.0).
func AddConnectionRoutes(routes Routes) {
	routes[saslHandshakeKey] = Route{MinVersion: 0, MaxVersion: 1, connection: true}
	routes[saslAuthenticateKey] = Route{MinVersion: 0, MaxVersion: 2, connection: true}
}

// saslState is a connection's authentication, owned by its reader.
type saslState struct {
	principal string
	// authenticated is set once an exchange succeeded; expiry, when not
	// zero, is when that session ends.
	authenticated bool
	expiry        time.Time
	mechanism     string
	// exchange is the exchange in progress after a handshake, if any.
	exchange sasl.Exchange
	// rawTokens is set while the exchange of a v0 handshake runs: the
	// next frames are bare tokens, not requests.
	rawTokens bool
}

func (c *conn) now() time.Time {
	if cfg := c.srv.listener.SASL; cfg != nil && cfg.Now != nil {
		return cfg.Now()
	}
	return time.Now()
}

// admitRequest decides, before a request is decoded, whether the
// connection's authentication allows it.
func (c *conn) admitRequest(apiKey int16, frameBytes int) error {
	if c.srv.listener.SASL == nil {
		return nil
	}
	st := &c.auth
	if st.authenticated && st.exchange == nil {
		if !st.expiry.IsZero() && !c.now().Before(st.expiry) && apiKey != saslHandshakeKey {
			return fmt.Errorf("%w: %s after the SASL session expired", errClose, kmsg.NameForKey(apiKey))
		}
		return nil
	}
	if frameBytes > maxUnauthenticatedFrameBytes {
		return fmt.Errorf("%w: %d byte frame before authentication", errClose, frameBytes)
	}
	switch apiKey {
	case apiVersionsKey, saslHandshakeKey, saslAuthenticateKey:
		return nil
	}
	return fmt.Errorf("%w: unexpected %s request during SASL authentication", errClose, kmsg.NameForKey(apiKey))
}

// handleConnectionRequest serves SaslHandshake and SaslAuthenticate.
func (c *conn) handleConnectionRequest(req kmsg.Request) (kmsg.Response, bool) {
	switch r := req.(type) {
	case *kmsg.SASLHandshakeRequest:
		return c.saslHandshake(r)
	case *kmsg.SASLAuthenticateRequest:
		return c.saslAuthenticate(r)
	}
	return nil, true
}

func (c *conn) saslHandshake(req *kmsg.SASLHandshakeRequest) (kmsg.Response, bool) {
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	cfg := c.srv.listener.SASL
	if cfg == nil {
		// As Kafka's KafkaApis on a listener without SASL.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, false
	}
	for _, m := range cfg.Mechanisms {
		resp.SupportedMechanisms = append(resp.SupportedMechanisms, m.Name())
	}
	st := &c.auth
	if st.exchange != nil || (req.Version < 1 && st.authenticated) {
		// A v0 exchange has no way to re-authenticate (KIP-368 needs
		// SaslAuthenticate's session lifetime).
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, true
	}
	var mech sasl.Mechanism
	for _, m := range cfg.Mechanisms {
		if m.Name() == req.Mechanism {
			mech = m
		}
	}
	if mech == nil {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return resp, true
	}
	if st.authenticated && mech.Name() != st.mechanism {
		// KIP-368: a re-authentication keeps the mechanism.
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, true
	}
	st.exchange = mech.Start(sasl.ConnInfo{ListenerName: c.srv.listener.Name, RemoteAddr: c.nc.RemoteAddr().String()})
	st.mechanism = mech.Name()
	st.rawTokens = req.Version < 1
	return resp, false
}

// saslRawToken takes one token of a v0 handshake's exchange and answers
// with the mechanism's reply as a bare size-prefixed frame, as Kafka's
// SaslServerAuthenticator did before SaslAuthenticate: an empty one when
// the mechanism has nothing to say (PLAIN). A failure closes the
// connection unanswered, since a bare frame has no error field.
func (c *conn) saslRawToken(token []byte) (*slot, error) {
	st := &c.auth
	reply, done, err := st.exchange.Step(token)
	if err != nil {
		c.srv.logger.Info("SASL authentication failed", "remote", c.nc.RemoteAddr(), "mechanism", st.mechanism, "err", err)
		return nil, fmt.Errorf("%w: SASL authentication failed", errClose)
	}
	s := &slot{rawToken: true, token: append([]byte{}, reply...)}
	if !done {
		return s, nil
	}
	st.principal, st.authenticated = "User:"+st.exchange.Principal(), true
	if maxReauth := c.srv.listener.SASL.MaxReauth; maxReauth > 0 {
		st.expiry = c.now().Add(maxReauth)
	}
	if expiry := st.exchange.SessionExpiry(); !expiry.IsZero() && (st.expiry.IsZero() || expiry.Before(st.expiry)) {
		st.expiry = expiry
	}
	st.exchange, st.rawTokens = nil, false
	return s, nil
}

func (c *conn) saslAuthenticate(req *kmsg.SASLAuthenticateRequest) (kmsg.Response, bool) {
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	st := &c.auth
	if c.srv.listener.SASL == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, false
	}
	if st.exchange == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return resp, true
	}
	reply, done, err := st.exchange.Step(req.SASLAuthBytes)
	if err != nil {
		c.srv.logger.Info("SASL authentication failed", "remote", c.nc.RemoteAddr(), "mechanism", st.mechanism, "err", err)
		return authFailed(resp, err, st.mechanism), true
	}
	resp.SASLAuthBytes = reply
	if !done {
		return resp, false
	}
	principal := "User:" + st.exchange.Principal()
	if st.authenticated && principal != st.principal {
		return authFailed(resp, fmt.Errorf("re-authentication as %s on a connection of %s", principal, st.principal), st.mechanism), true
	}
	now := c.now()
	st.expiry = st.exchange.SessionExpiry()
	if maxReauth := c.srv.listener.SASL.MaxReauth; maxReauth > 0 && (st.expiry.IsZero() || now.Add(maxReauth).Before(st.expiry)) {
		st.expiry = now.Add(maxReauth)
	}
	if !st.expiry.IsZero() {
		resp.SessionLifetimeMillis = max(st.expiry.Sub(now).Milliseconds(), 1)
	}
	st.principal, st.authenticated, st.exchange = principal, true, nil
	return resp, false
}

// authFailed answers a failed exchange with Kafka's code and the message
// the mechanism chose for clients (the cause stays in the log).
func authFailed(resp *kmsg.SASLAuthenticateResponse, err error, mechanism string) *kmsg.SASLAuthenticateResponse {
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism
	if ae, ok := err.(*sasl.AuthError); ok && ae.Message != "" {
		msg = ae.Message
	}
	resp.ErrorMessage = &msg
	resp.SASLAuthBytes = nil
	return resp
}

// principal is who the connection's requests are from.
func (c *conn) principal() string {
	if c.auth.authenticated {
		return c.auth.principal
	}
	if c.tlsPrincipal != "" {
		return c.tlsPrincipal
	}
	return anonymous
}
