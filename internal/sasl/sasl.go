package sasl

import (
	"errors"
	"time"
)

// MaxMessageBytes bounds one client message in any mechanism. It is the
// default of Kafka's sasl.server.max.receive.size, which Kafka applies to the
// whole SASL frame; the connection code should already have refused larger
// frames, and this is the mechanisms' own guard.
const MaxMessageBytes = 524288

// Mechanism is one enabled SASL mechanism of a listener. Implementations are
// safe for concurrent Start calls.
type Mechanism interface {
	// Name is the mechanism name clients send in SaslHandshake, such as
	// "SCRAM-SHA-512".
	Name() string
	// Start begins one authentication exchange for the connection.
	Start(conn ConnInfo) Exchange
}

// Exchange is one server-side authentication exchange. It belongs to one
// connection and is not safe for concurrent use.
type Exchange interface {
	// Step consumes the client's next message and returns the server's next
	// message. done reports that the exchange completed successfully with
	// server as the last message. A non-nil err is an *AuthError; the exchange
	// is then failed for good and the connection should be closed. After done
	// or an error every further Step fails.
	Step(client []byte) (server []byte, done bool, err error)
	// Principal is the authenticated user name once done, "" before. The
	// broker makes it the principal "User:<name>".
	Principal() string
	// SessionExpiry is when the authenticated session ends (KIP-368): the
	// token's exp for OAUTHBEARER, the zero time for mechanisms without one.
	SessionExpiry() time.Time
}

// ConnInfo describes the connection an exchange authenticates. Mechanisms use
// it only to annotate errors; it exists so that a future mechanism (or a
// per-listener credential source) can see it without changing the API.
type ConnInfo struct {
	// ListenerName is the listener the connection arrived on.
	ListenerName string
	// RemoteAddr is the client's address, "host:port".
	RemoteAddr string
}

// ErrAuthentication matches every *AuthError with errors.Is.
var ErrAuthentication = errors.New("sasl authentication failed")

// AuthError is a failed authentication. Message is what the client may see,
// in Kafka's wording where Kafka has one; Err is the cause for the broker's
// log and must not be sent to the client because it can say, for example,
// that a user does not exist.
type AuthError struct {
	Mechanism string
	Message   string
	Err       error
}

func (e *AuthError) Error() string {
	if e.Err != nil {
		return e.Mechanism + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Mechanism + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *AuthError) Unwrap() error { return e.Err }

// Is reports whether target is ErrAuthentication.
func (e *AuthError) Is(target error) bool { return target == ErrAuthentication }

// invalidCredentialsMessage is what Kafka's SaslServerAuthenticator sends for
// every failure its mechanisms do not describe more precisely; using it for
// all credential failures keeps them indistinguishable.
func invalidCredentialsMessage(mechanism string) string {
	return "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism
}

// errIllegalState is the cause of a Step after the exchange ended.
var errIllegalState = errors.New("message received after the exchange ended")

// phase is where an exchange stands; shared by all mechanisms.
type phase uint8

const (
	phaseInitial phase = iota
	phaseAwaitFinal
	phaseComplete
	phaseFailed
)
