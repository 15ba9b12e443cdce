package interbroker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Security is how a broker connects to the others' inter-broker listener:
// over TLS when TLS is set (SSL, SASL_SSL), authenticating with SASL when
// SASL is set (SASL_PLAINTEXT, SASL_SSL), as Kafka's brokers do with
// security.inter.broker.protocol and sasl.mechanism.inter.broker.protocol.
// The zero value is PLAINTEXT.
type Security struct {
	// TLS returns the client configuration for a broker's host name.
	TLS func(serverName string) *tls.Config
	// SASL is the client side of the mechanism (franz-go's sasl/plain or
	// sasl/scram), with this broker's credentials.
	SASL sasl.Mechanism
}

// secure wraps conn in TLS when asked; the handshake is bounded by ctx and
// the dial timeout.
func (s Security) secure(ctx context.Context, conn net.Conn, addr string) (net.Conn, error) {
	if s.TLS == nil {
		return conn, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	tc := tls.Client(conn, s.TLS(host))
	hctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// authenticate runs the SASL exchange on a new connection, after
// ApiVersions: SaslHandshake v1, then SaslAuthenticate until the mechanism
// is done.
func (c *Conn) authenticate(ctx context.Context, mech sasl.Mechanism) error {
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Mechanism = mech.Name()
	hsResp := kmsg.NewPtrSASLHandshakeResponse()
	if err := c.RoundTrip(ctx, hs, hsResp, DefaultRequestTimeout); err != nil {
		return fmt.Errorf("SaslHandshake with %s: %w", c.addr, err)
	}
	if err := kerr.ErrorForCode(hsResp.ErrorCode); err != nil {
		return fmt.Errorf("SaslHandshake with %s for %s (enabled: %v): %w", c.addr, mech.Name(), hsResp.SupportedMechanisms, err)
	}
	host, _, _ := net.SplitHostPort(c.addr)
	session, msg, err := mech.Authenticate(ctx, host)
	if err != nil {
		return fmt.Errorf("SASL %s with %s: %w", mech.Name(), c.addr, err)
	}
	// Mechanisms end in a few steps; a server that never lets one finish
	// is refused.
	for step := 0; step < 8; step++ {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.SASLAuthBytes = msg
		resp := kmsg.NewPtrSASLAuthenticateResponse()
		if err := c.RoundTrip(ctx, req, resp, DefaultRequestTimeout); err != nil {
			return fmt.Errorf("SaslAuthenticate with %s: %w", c.addr, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			detail := ""
			if resp.ErrorMessage != nil {
				detail = ": " + *resp.ErrorMessage
			}
			return fmt.Errorf("SASL %s with %s%s: %w", mech.Name(), c.addr, detail, err)
		}
		done, next, err := session.Challenge(resp.SASLAuthBytes)
		if err != nil {
			return fmt.Errorf("SASL %s with %s: %w", mech.Name(), c.addr, err)
		}
		if done {
			if resp.SessionLifetimeMillis > 0 {
				// Renewed at 85% of the lifetime, as Kafka's clients
				// re-authenticate early: the broker's clock started first.
				lifetime := time.Duration(resp.SessionLifetimeMillis) * time.Millisecond
				c.sessionEnd = time.Now().Add(lifetime * 85 / 100)
			}
			return nil
		}
		msg = next
	}
	return fmt.Errorf("SASL %s with %s: no end after 8 steps", mech.Name(), c.addr)
}

// Expired reports whether the connection's SASL session has ended (the
// broker set connections.max.reauth.ms): its requests would be refused,
// so the owner dials again.
func (c *Conn) Expired() bool {
	return !c.sessionEnd.IsZero() && !time.Now().Before(c.sessionEnd)
}
