package sasl

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ScramCredentials looks up stored SCRAM credentials. The broker implements
// it from its metadata image; it is called from many connection goroutines
// at once and must not block on I/O.
type ScramCredentials interface {
	// ScramCredential returns user's credential for mechanism and true, or
	// false when the user has none for that mechanism.
	ScramCredential(mechanism ScramMechanism, user string) (ScramCredential, bool)
}

// ScramOptions tunes a SCRAM mechanism. The zero value is ready to use.
type ScramOptions struct {
	// FakeSaltSecret keys the HMAC that derives an unknown user's salt and
	// keys. Nil means 32 random bytes chosen by NewScram, which keeps the
	// fake salt stable for the life of the mechanism; a secret kept across
	// restarts keeps it stable across them too, so that a user's absence
	// cannot be seen by the salt changing.
	FakeSaltSecret []byte
	// FakeIterations is the count offered to unknown users; set it to what
	// the cluster's credentials use. Zero means ScramDefaultIterations.
	FakeIterations int
}

// Scram is a SCRAM-SHA-256 or SCRAM-SHA-512 mechanism.
type Scram struct {
	mechanism      ScramMechanism
	credentials    ScramCredentials
	fakeSecret     []byte
	fakeIterations int
}

// NewScram returns the server side of mechanism, verifying users against
// credentials.
func NewScram(mechanism ScramMechanism, credentials ScramCredentials, options ScramOptions) (*Scram, error) {
	if !mechanism.Valid() {
		return nil, fmt.Errorf("new SCRAM mechanism: unknown mechanism %d", int8(mechanism))
	}
	s := &Scram{
		mechanism:      mechanism,
		credentials:    credentials,
		fakeSecret:     options.FakeSaltSecret,
		fakeIterations: options.FakeIterations,
	}
	if s.fakeIterations == 0 {
		s.fakeIterations = ScramDefaultIterations
	}
	if s.fakeIterations < ScramMinIterations || s.fakeIterations > ScramMaxIterations {
		return nil, fmt.Errorf("new %s mechanism: fake iterations %d outside [%d, %d]",
			mechanism, s.fakeIterations, ScramMinIterations, ScramMaxIterations)
	}
	if s.fakeSecret == nil {
		s.fakeSecret = make([]byte, 32)
		rand.Read(s.fakeSecret) // Never fails since Go 1.24.
	}
	return s, nil
}

// Name implements Mechanism.
func (s *Scram) Name() string { return s.mechanism.String() }

// Start implements Mechanism.
func (s *Scram) Start(ConnInfo) Exchange { return &scramExchange{scram: s} }

// fakeCredential is what an unknown user is checked against: a salt and keys
// derived from the secret and the user name, so that repeated attempts see
// the same salt, as they would for a real user. No password matches it
// except by breaking HMAC.
func (s *Scram) fakeCredential(user string) ScramCredential {
	label := func(purpose string) []byte {
		return []byte(purpose + "\x00" + s.mechanism.String() + "\x00" + user)
	}
	newHash := s.mechanism.newHash()
	return ScramCredential{
		Mechanism:  s.mechanism,
		Salt:       kafkaStyleSalt(hmacSum(newHash, s.fakeSecret, label("salt"))),
		StoredKey:  hmacSum(newHash, s.fakeSecret, label("stored key")),
		ServerKey:  hmacSum(newHash, s.fakeSecret, label("server key")),
		Iterations: s.fakeIterations,
	}
}

// Causes of SCRAM failures, for the broker's log only.
var (
	errScramUnknownUser     = errors.New("unknown user")
	errScramTokenAuth       = errors.New("delegation token authentication is not supported")
	errScramNonceMismatch   = errors.New("invalid client nonce in the final client message")
	errScramBadBinding      = errors.New("channel binding data does not match the gs2 header")
	errScramInvalidProof    = errors.New("invalid client credentials")
	errScramAuthzidMismatch = errors.New("authorization id differs from username")
)

type scramExchange struct {
	scram *Scram
	phase phase

	user        string
	clientFirst scramClientFirst
	serverFirst string
	nonce       string // client nonce + server nonce
	credential  ScramCredential
	// rejection, when set, is why the proof step must fail whatever the
	// proof: the user is unknown or its stored credential is unusable. The
	// exchange still runs the same computations as for a wrong password.
	rejection error
	principal string
}

func (e *scramExchange) Principal() string        { return e.principal }
func (e *scramExchange) SessionExpiry() time.Time { return time.Time{} }

func (e *scramExchange) Step(client []byte) ([]byte, bool, error) {
	current := e.phase
	e.phase = phaseFailed // Until the step succeeds.
	if len(client) > MaxMessageBytes {
		return nil, false, e.fail(fmt.Errorf("message of %d bytes exceeds %d", len(client), MaxMessageBytes))
	}
	switch current {
	case phaseInitial:
		server, err := e.clientFirstStep(string(client))
		if err != nil {
			return nil, false, err
		}
		e.phase = phaseAwaitFinal
		return server, false, nil
	case phaseAwaitFinal:
		server, err := e.clientFinalStep(string(client))
		if err != nil {
			return nil, false, err
		}
		e.phase = phaseComplete
		e.principal = e.user
		return server, true, nil
	default:
		// A second client-final, or anything after completion or failure.
		return nil, false, e.fail(errIllegalState)
	}
}

func (e *scramExchange) clientFirstStep(message string) ([]byte, error) {
	first, err := parseScramClientFirst(message)
	if err != nil {
		return nil, e.fail(err)
	}
	if first.tokenAuth() {
		return nil, e.fail(errScramTokenAuth)
	}
	if first.authzid != "" && first.authzid != first.user {
		// Kafka's own message; it depends only on what the client sent.
		return nil, &AuthError{
			Mechanism: e.scram.Name(),
			Message:   "Authentication failed: Client requested an authorization id that is different from username",
			Err:       errScramAuthzidMismatch,
		}
	}
	e.user = first.user
	e.clientFirst = first
	credential, known := e.scram.credentials.ScramCredential(e.scram.mechanism, first.user)
	switch {
	case !known:
		e.rejection = errScramUnknownUser
	case credential.Mechanism != e.scram.mechanism:
		e.rejection = fmt.Errorf("stored credential is for %s", credential.Mechanism)
	default:
		// Includes Kafka's refusal of a credential below the minimum
		// iterations, but at the proof step, so it looks like any failure.
		if err := credential.Validate(); err != nil {
			e.rejection = fmt.Errorf("stored credential refused: %w", err)
		}
	}
	// The fake is derived for known users too, so that client-first takes
	// the same time whether or not the user exists.
	fake := e.scram.fakeCredential(first.user)
	if e.rejection != nil {
		credential = fake
	}
	e.credential = credential

	serverNonce := make([]byte, 24)
	rand.Read(serverNonce) // Never fails since Go 1.24.
	e.nonce = first.nonce + base64.RawURLEncoding.EncodeToString(serverNonce)
	var b strings.Builder
	b.Grow(len(e.nonce) + base64.StdEncoding.EncodedLen(len(credential.Salt)) + 16)
	b.WriteString("r=")
	b.WriteString(e.nonce)
	b.WriteString(",s=")
	b.WriteString(base64.StdEncoding.EncodeToString(credential.Salt))
	b.WriteString(",i=")
	b.WriteString(strconv.Itoa(credential.Iterations))
	e.serverFirst = b.String()
	return []byte(e.serverFirst), nil
}

func (e *scramExchange) clientFinalStep(message string) ([]byte, error) {
	final, err := parseScramClientFinal(message)
	if err != nil {
		return nil, e.fail(err)
	}
	if !e.validChannelBinding(final.channelBinding) {
		return nil, e.fail(errScramBadBinding)
	}
	// The whole nonce must match, not just end with the server's part
	// (CVE-2024-56128): otherwise a client-final could be spliced from
	// another exchange. librdkafka before 2.6.1 (Debian's kcat among its
	// users) sends its own nonce again in front of the combined one; that
	// exact form is accepted too, since it is as bound to this exchange's
	// fresh server nonce as the right one. Kafka 4 refuses it, which
	// locks those clients out.
	if final.nonce != e.nonce && final.nonce != e.clientFirst.nonce+e.nonce {
		return nil, e.fail(errScramNonceMismatch)
	}
	mechanism := e.scram.mechanism
	if len(final.proof) != mechanism.KeyBytes() {
		return nil, e.fail(errScramInvalidProof)
	}
	authMessage := make([]byte, 0, len(e.clientFirst.bare)+len(e.serverFirst)+len(final.withoutProof)+2)
	authMessage = append(authMessage, e.clientFirst.bare...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, e.serverFirst...)
	authMessage = append(authMessage, ',')
	authMessage = append(authMessage, final.withoutProof...)

	newHash := mechanism.newHash()
	// ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof is
	// good when H(ClientKey) is the StoredKey. Compared in constant time
	// (CVE-2021-38153), and computed the same way for unknown users.
	clientKey := hmacSum(newHash, e.credential.StoredKey, authMessage)
	for i := range clientKey {
		clientKey[i] ^= final.proof[i]
	}
	h := newHash()
	h.Write(clientKey)
	proofValid := hmac.Equal(h.Sum(nil), e.credential.StoredKey)
	serverSignature := hmacSum(newHash, e.credential.ServerKey, authMessage)
	if e.rejection != nil {
		return nil, e.fail(e.rejection)
	}
	if !proofValid {
		return nil, e.fail(errScramInvalidProof)
	}
	e.credential = ScramCredential{}
	return []byte("v=" + base64.StdEncoding.EncodeToString(serverSignature)), nil
}

// validChannelBinding accepts c= carrying the client's own gs2 header, as
// RFC 5802 requires, and also "biws" (base64 of "n,,") when the header
// named an authzid: franz-go sends "biws" regardless, and the authzid has
// already been required to equal the user, so nothing is lost.
func (e *scramExchange) validChannelBinding(binding string) bool {
	return binding == "biws" || binding == base64.StdEncoding.EncodeToString([]byte(e.clientFirst.gs2Header))
}

// fail ends the exchange with the generic message Kafka sends for every
// SCRAM credential failure.
func (e *scramExchange) fail(cause error) *AuthError {
	e.phase = phaseFailed
	e.credential = ScramCredential{}
	return &AuthError{Mechanism: e.scram.Name(), Message: invalidCredentialsMessage(e.scram.Name()), Err: cause}
}
