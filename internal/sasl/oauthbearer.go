package sasl

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// OAuthBearerMechanismName is the SaslHandshake name of OAUTHBEARER.
const OAuthBearerMechanismName = "OAUTHBEARER"

// oauthMaxExtensions bounds the SASL extensions of one initial response.
const oauthMaxExtensions = 32

// oauthInvalidTokenResponse is the error challenge for a token that fails
// validation: Kafka's validator reports only the status, never why.
const oauthInvalidTokenResponse = `{"status":"invalid_token"}`

var errOAuthMalformed = errors.New("invalid OAUTHBEARER client first message")

// OAuthBearer is the OAUTHBEARER mechanism with JWT validation.
type OAuthBearer struct {
	validator *tokenValidator
}

// NewOAuthBearer returns the OAUTHBEARER mechanism validating tokens with
// config against keys.
func NewOAuthBearer(config OAuthConfig, keys KeySource) (*OAuthBearer, error) {
	validator, err := newTokenValidator(config, keys)
	if err != nil {
		return nil, fmt.Errorf("new OAUTHBEARER mechanism: %w", err)
	}
	return &OAuthBearer{validator: validator}, nil
}

// Name implements Mechanism.
func (*OAuthBearer) Name() string { return OAuthBearerMechanismName }

// Start implements Mechanism.
func (o *OAuthBearer) Start(ConnInfo) Exchange { return &OAuthBearerExchange{mechanism: o} }

// OAuthBearerExchange is one OAUTHBEARER exchange. Beyond Exchange it exposes
// what the token and the client's SASL extensions said, for the broker to
// use once the exchange is done.
type OAuthBearerExchange struct {
	mechanism *OAuthBearer
	phase     phase
	// invalidToken is why the token was refused; the client has been sent
	// the error challenge and must answer with a lone %x01.
	invalidToken error
	token        validatedToken
	extensions   map[string]string
}

// Principal implements Exchange: the token's subject claim.
func (e *OAuthBearerExchange) Principal() string {
	if e.phase != phaseComplete {
		return ""
	}
	return e.token.principal
}

// SessionExpiry implements Exchange: the token's exp.
func (e *OAuthBearerExchange) SessionExpiry() time.Time {
	if e.phase != phaseComplete {
		return time.Time{}
	}
	return e.token.expiry
}

// Scope returns the token's scope claim, nil before the exchange is done.
func (e *OAuthBearerExchange) Scope() []string {
	if e.phase != phaseComplete {
		return nil
	}
	return e.token.scope
}

// Extensions returns the SASL extensions of the client's initial response
// (RFC 7628 key=value pairs other than auth), nil before the exchange is
// done. Like Kafka's default validator, every extension is accepted.
func (e *OAuthBearerExchange) Extensions() map[string]string {
	if e.phase != phaseComplete {
		return nil
	}
	return e.extensions
}

// Step implements Exchange.
func (e *OAuthBearerExchange) Step(client []byte) ([]byte, bool, error) {
	current := e.phase
	e.phase = phaseFailed // Until the step succeeds.
	switch current {
	case phaseInitial:
		return e.initialStep(client)
	case phaseAwaitFinal:
		// RFC 7628 section 3.2.3: after the error challenge the client sends
		// %x01 and the server fails the exchange. Kafka sends the JSON error
		// as the failure message, which is what its clients log.
		cause := e.invalidToken
		if len(client) != 1 || client[0] != 0x01 {
			cause = fmt.Errorf("client did not acknowledge the error challenge: %w", cause)
		}
		return nil, false, &AuthError{Mechanism: OAuthBearerMechanismName, Message: oauthInvalidTokenResponse, Err: cause}
	default:
		return nil, false, oauthGenericError(errIllegalState)
	}
}

func (e *OAuthBearerExchange) initialStep(client []byte) ([]byte, bool, error) {
	if len(client) > MaxMessageBytes {
		return nil, false, oauthGenericError(fmt.Errorf("message of %d bytes exceeds %d", len(client), MaxMessageBytes))
	}
	response, err := parseOAuthInitialResponse(string(client))
	if err != nil {
		return nil, false, oauthGenericError(err)
	}
	token, err := e.mechanism.validator.validate(response.token)
	if err != nil {
		e.invalidToken = err
		e.phase = phaseAwaitFinal
		return []byte(oauthInvalidTokenResponse), false, nil
	}
	if response.authzid != "" && response.authzid != token.principal {
		return nil, false, &AuthError{
			Mechanism: OAuthBearerMechanismName,
			Message: fmt.Sprintf("Authentication failed: Client requested an authorization id (%s) that is different from the token's principal name (%s)",
				response.authzid, token.principal),
		}
	}
	e.token = token
	e.extensions = response.extensions
	e.phase = phaseComplete
	return []byte{}, true, nil
}

func oauthGenericError(cause error) *AuthError {
	return &AuthError{Mechanism: OAuthBearerMechanismName, Message: invalidCredentialsMessage(OAuthBearerMechanismName), Err: cause}
}

// oauthInitialResponse is a parsed client initial response (RFC 7628
// section 3.1).
type oauthInitialResponse struct {
	authzid    string
	token      string
	extensions map[string]string
}

// parseOAuthInitialResponse parses
//
//	"n," ["a=" saslname] "," %x01 *(key "=" value %x01) %x01
//
// with Kafka's grammar: keys are letters, values are printable ASCII plus
// space, tab, CR and LF, "auth" is required and is "Bearer <token>" with the
// scheme compared case-insensitively. Only the "n" channel-binding flag is
// accepted.
func parseOAuthInitialResponse(message string) (oauthInitialResponse, error) {
	var r oauthInitialResponse
	flag, rest, ok := strings.Cut(message, ",")
	if !ok || flag != "n" {
		return r, fmt.Errorf("%w: gs2 header must start with n", errOAuthMalformed)
	}
	authzidField, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return r, fmt.Errorf("%w: gs2 header not terminated", errOAuthMalformed)
	}
	if authzidField != "" {
		value, ok := strings.CutPrefix(authzidField, "a=")
		if !ok {
			return r, fmt.Errorf("%w: gs2 authzid field", errOAuthMalformed)
		}
		authzid, err := unescapeSaslname(value)
		if err != nil {
			return r, fmt.Errorf("%w: authzid: %w", errOAuthMalformed, err)
		}
		r.authzid = authzid
	}
	pairs, ok := strings.CutPrefix(rest, "\x01")
	if !ok {
		return r, fmt.Errorf("%w: separator expected after gs2 header", errOAuthMalformed)
	}
	pairs, ok = strings.CutSuffix(pairs, "\x01")
	if !ok {
		return r, fmt.Errorf("%w: message not terminated", errOAuthMalformed)
	}
	auth := ""
	for pairs != "" {
		pair, next, ok := strings.Cut(pairs, "\x01")
		if !ok {
			return r, fmt.Errorf("%w: key-value pair not terminated", errOAuthMalformed)
		}
		pairs = next
		key, value, ok := strings.Cut(pair, "=")
		if !ok || !isLetters(key) || !validOAuthValue(value) {
			return r, fmt.Errorf("%w: bad key-value pair", errOAuthMalformed)
		}
		if key == "auth" {
			if auth != "" {
				return r, fmt.Errorf("%w: duplicate auth", errOAuthMalformed)
			}
			auth = value
			continue
		}
		if r.extensions == nil {
			r.extensions = make(map[string]string)
		}
		if _, dup := r.extensions[key]; dup {
			return r, fmt.Errorf("%w: duplicate extension %q", errOAuthMalformed, key)
		}
		if len(r.extensions) == oauthMaxExtensions {
			return r, fmt.Errorf("%w: more than %d extensions", errOAuthMalformed, oauthMaxExtensions)
		}
		r.extensions[key] = value
	}
	if auth == "" {
		return r, fmt.Errorf("%w: 'auth' not specified", errOAuthMalformed)
	}
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || !validOAuthToken(token) {
		return r, fmt.Errorf("%w: auth is not a bearer token", errOAuthMalformed)
	}
	r.token = token
	return r, nil
}

func validOAuthValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x21 || c > 0x7e) && c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// validOAuthToken reports whether s is a non-empty run of the characters a
// compact JWS (three base64url parts) can hold.
func validOAuthToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
