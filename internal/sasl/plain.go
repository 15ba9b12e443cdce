package sasl

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"
)

// PlainMechanismName is the SaslHandshake name of PLAIN.
const PlainMechanismName = "PLAIN"

// PlainUsers looks up the passwords PLAIN checks against. The broker backs it
// with the user_NAME="password" options of PlainLoginModule in the listener's
// JAAS config, as Kafka's PlainServerCallbackHandler does. It is called from
// many connection goroutines at once.
type PlainUsers interface {
	// PlainPassword returns user's password and true, or false when the
	// user is not configured.
	PlainPassword(user string) (password string, ok bool)
}

// StaticPlainUsers is a fixed PlainUsers: user name to password.
type StaticPlainUsers map[string]string

// PlainPassword implements PlainUsers.
func (u StaticPlainUsers) PlainPassword(user string) (string, bool) {
	password, ok := u[user]
	return password, ok
}

// Plain is the PLAIN mechanism.
type Plain struct {
	users PlainUsers
	// decoyPassword stands in for the password of an unknown user so that
	// unknown users take the same path, hashing and comparison as known ones.
	decoyPassword string
}

// NewPlain returns the PLAIN mechanism checking passwords against users.
func NewPlain(users PlainUsers) *Plain {
	decoy := make([]byte, 32)
	rand.Read(decoy) // Never fails since Go 1.24.
	return &Plain{users: users, decoyPassword: string(decoy)}
}

// Name implements Mechanism.
func (*Plain) Name() string { return PlainMechanismName }

// Start implements Mechanism.
func (p *Plain) Start(ConnInfo) Exchange { return &plainExchange{mechanism: p} }

type plainExchange struct {
	mechanism *Plain
	phase     phase
	principal string
}

func (e *plainExchange) Principal() string        { return e.principal }
func (e *plainExchange) SessionExpiry() time.Time { return time.Time{} }

func (e *plainExchange) Step(client []byte) ([]byte, bool, error) {
	if e.phase != phaseInitial {
		e.phase = phaseFailed
		return nil, false, plainError(invalidCredentialsMessage(PlainMechanismName), errIllegalState)
	}
	e.phase = phaseFailed // Until proven otherwise.
	if len(client) > MaxMessageBytes {
		return nil, false, plainError(invalidCredentialsMessage(PlainMechanismName),
			fmt.Errorf("message of %d bytes exceeds %d", len(client), MaxMessageBytes))
	}
	message, err := parsePlain(client)
	if err != nil {
		return nil, false, plainError(invalidCredentialsMessage(PlainMechanismName), err)
	}
	// Kafka sends these three messages verbatim; they reveal nothing about
	// which users exist.
	if message.authcid == "" {
		return nil, false, plainError("Authentication failed: username not specified", nil)
	}
	if message.password == "" {
		return nil, false, plainError("Authentication failed: password not specified", nil)
	}
	if message.authzid != "" && message.authzid != message.authcid {
		return nil, false, plainError("Authentication failed: Client requested an authorization id that is different from username", nil)
	}
	if !e.mechanism.check(message.authcid, message.password) {
		return nil, false, plainError("Authentication failed: Invalid username or password", nil)
	}
	e.phase = phaseComplete
	e.principal = message.authcid
	return nil, true, nil
}

// check reports whether password is user's. Digests of equal length are
// compared in constant time, and an unknown user is compared against the
// decoy password, so neither the password's length nor the user's existence
// shows in the time taken.
func (p *Plain) check(user, password string) bool {
	expected, known := p.users.PlainPassword(user)
	if !known {
		expected = p.decoyPassword
	}
	got := sha256.Sum256([]byte(password))
	want := sha256.Sum256([]byte(expected))
	equal := subtle.ConstantTimeCompare(got[:], want[:])
	return equal&boolToInt(known) == 1
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func plainError(message string, cause error) *AuthError {
	return &AuthError{Mechanism: PlainMechanismName, Message: message, Err: cause}
}

// plainMessage is a parsed PLAIN client message (RFC 4616 section 2).
type plainMessage struct {
	authzid  string
	authcid  string
	password string
}

// parsePlain splits message = [authzid] NUL authcid NUL passwd. Like Kafka it
// requires exactly three fields and leaves empty-field checks to the caller.
func parsePlain(message []byte) (plainMessage, error) {
	if n := bytes.Count(message, []byte{0}); n != 2 {
		return plainMessage{}, fmt.Errorf("invalid SASL/PLAIN response: expected 3 tokens, got %d", n+1)
	}
	first := bytes.IndexByte(message, 0)
	second := first + 1 + bytes.IndexByte(message[first+1:], 0)
	return plainMessage{
		authzid:  string(message[:first]),
		authcid:  string(message[first+1 : second]),
		password: string(message[second+1:]),
	}, nil
}
