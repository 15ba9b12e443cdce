package sasl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OAuthConfig is how OAUTHBEARER validates tokens, with the names of the
// Kafka broker configs it mirrors. Start from DefaultOAuthConfig.
type OAuthConfig struct {
	// ExpectedAudience (sasl.oauthbearer.expected.audience): when not
	// empty, the token's aud must contain one of these.
	ExpectedAudience []string
	// ExpectedIssuer (sasl.oauthbearer.expected.issuer): when not empty,
	// the token's iss must equal it.
	ExpectedIssuer string
	// SubClaimName (sasl.oauthbearer.sub.claim.name, default "sub") names
	// the string claim that becomes the principal.
	SubClaimName string
	// ScopeClaimName (sasl.oauthbearer.scope.claim.name, default "scope")
	// names the claim exposed as the scope: a space-separated string or a
	// list of strings.
	ScopeClaimName string
	// ClockSkew (sasl.oauthbearer.clock.skew.seconds, default 30 s) is the
	// leeway granted to exp, nbf and iat for clocks that disagree.
	ClockSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultOAuthConfig returns Kafka's defaults.
func DefaultOAuthConfig() OAuthConfig {
	return OAuthConfig{SubClaimName: "sub", ScopeClaimName: "scope", ClockSkew: 30 * time.Second}
}

// oauthAlgorithms are the JWS algorithms accepted: asymmetric ones only.
// "none" would accept any token, and an HMAC algorithm would let whoever
// holds a public key from the JWKS forge tokens by using it as the secret.
var oauthAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// tokenValidator checks compact JWS tokens; safe for concurrent use.
type tokenValidator struct {
	config OAuthConfig
	keys   KeySource
	parser *jwt.Parser
}

// validatedToken is what a valid token says.
type validatedToken struct {
	principal string
	scope     []string
	expiry    time.Time
}

func newTokenValidator(config OAuthConfig, keys KeySource) (*tokenValidator, error) {
	if keys == nil {
		return nil, errors.New("no key source")
	}
	if config.SubClaimName == "" || config.ScopeClaimName == "" {
		return nil, errors.New("sub and scope claim names must be set")
	}
	if config.ClockSkew < 0 {
		return nil, fmt.Errorf("negative clock skew %v", config.ClockSkew)
	}
	if config.Now == nil {
		config.Now = time.Now
	}
	options := []jwt.ParserOption{
		jwt.WithValidMethods(oauthAlgorithms),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(config.ClockSkew),
		jwt.WithTimeFunc(config.Now),
	}
	if len(config.ExpectedAudience) > 0 {
		options = append(options, jwt.WithAudience(config.ExpectedAudience...))
	}
	if config.ExpectedIssuer != "" {
		options = append(options, jwt.WithIssuer(config.ExpectedIssuer))
	}
	return &tokenValidator{config: config, keys: keys, parser: jwt.NewParser(options...)}, nil
}

// validate verifies token's signature with a key from the key source and
// checks its claims. The error is for the broker's log only.
func (v *tokenValidator) validate(token string) (validatedToken, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, v.verificationKey)
	if err != nil {
		return validatedToken{}, fmt.Errorf("invalid token: %w", err)
	}
	principal, ok := claims[v.config.SubClaimName].(string)
	if !ok || strings.TrimSpace(principal) == "" {
		return validatedToken{}, fmt.Errorf("invalid token: no string value for the %q claim", v.config.SubClaimName)
	}
	scope, err := scopeClaim(claims[v.config.ScopeClaimName])
	if err != nil {
		return validatedToken{}, fmt.Errorf("invalid token: %q claim: %w", v.config.ScopeClaimName, err)
	}
	expiry, err := claims.GetExpirationTime()
	if err != nil || expiry == nil {
		return validatedToken{}, errors.New("invalid token: no exp claim")
	}
	return validatedToken{principal: principal, scope: scope, expiry: expiry.Time}, nil
}

// verificationKey is the jwt.Keyfunc: the key named by the header's kid,
// fit for the header's alg.
func (v *tokenValidator) verificationKey(token *jwt.Token) (any, error) {
	kid := ""
	if raw, present := token.Header["kid"]; present {
		s, ok := raw.(string)
		if !ok {
			return nil, errors.New("kid header is not a string")
		}
		kid = s
	}
	key, err := v.keys.VerificationKey(kid, token.Method.Alg())
	if err != nil {
		return nil, err
	}
	return key, nil
}

// scopeClaim reads a scope given as a space-separated string (RFC 8693) or
// as a list of strings; an absent claim is no scope.
func scopeClaim(raw any) ([]string, error) {
	switch value := raw.(type) {
	case nil:
		return nil, nil
	case string:
		return strings.Fields(value), nil
	case []any:
		scope := make([]string, 0, len(value))
		for _, item := range value {
			s, ok := item.(string)
			if !ok {
				return nil, errors.New("list holds a non-string")
			}
			scope = append(scope, s)
		}
		return scope, nil
	default:
		return nil, fmt.Errorf("unexpected type %T", raw)
	}
}
