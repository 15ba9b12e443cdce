package sasl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

// testKeys are signing keys made for the tests, with their JWKS.
type testKeys struct {
	rsa  *rsa.PrivateKey
	p256 *ecdsa.PrivateKey
	p384 *ecdsa.PrivateKey
	p521 *ecdsa.PrivateKey
}

// newTestKeys returns keys generated once per test binary: RSA key
// generation is slow.
func newTestKeys(testing.TB) *testKeys { return generateTestKeys() }

var generateTestKeys = sync.OnceValue(func() *testKeys {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ec := func(curve elliptic.Curve) *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			panic(err)
		}
		return key
	}
	return &testKeys{rsa: rsaKey, p256: ec(elliptic.P256()), p384: ec(elliptic.P384()), p521: ec(elliptic.P521())}
})

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, key *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64url(key.N.Bytes()), "e": b64url(big.NewInt(int64(key.E)).Bytes())}
}

func ecJWK(kid string, key *ecdsa.PublicKey) map[string]string {
	size := (key.Curve.Params().BitSize + 7) / 8
	point, err := key.Bytes()
	if err != nil {
		panic(err)
	}
	return map[string]string{"kty": "EC", "kid": kid, "crv": key.Curve.Params().Name,
		"x": b64url(point[1 : 1+size]), "y": b64url(point[1+size:])}
}

func jwksDocument(keys ...map[string]string) []byte {
	document, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return document
}

// keySet is the JWKS of all test keys: kids rsa, p256, p384, p521.
func (k *testKeys) keySet(t testing.TB) *KeySet {
	t.Helper()
	set, err := ParseJWKS(jwksDocument(rsaJWK("rsa", &k.rsa.PublicKey), ecJWK("p256", &k.p256.PublicKey),
		ecJWK("p384", &k.p384.PublicKey), ecJWK("p521", &k.p521.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":   "alice",
		"iss":   "https://idp.example",
		"aud":   []string{"kafka", "other"},
		"iat":   testNow.Add(-time.Minute).Unix(),
		"exp":   testNow.Add(time.Hour).Unix(),
		"scope": "produce consume",
	}
}

func sign(t testing.TB, method jwt.SigningMethod, kid string, key crypto.PrivateKey, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func newTestOAuth(t testing.TB, keys KeySource) *OAuthBearer {
	t.Helper()
	config := DefaultOAuthConfig()
	config.ExpectedAudience = []string{"kafka"}
	config.ExpectedIssuer = "https://idp.example"
	config.Now = func() time.Time { return testNow }
	mechanism, err := NewOAuthBearer(config, keys)
	if err != nil {
		t.Fatal(err)
	}
	return mechanism
}

func TestOAuthBearerFranzGoAccepts(t *testing.T) {
	keys := newTestKeys(t)
	server := newTestOAuth(t, keys.keySet(t))
	tests := []struct {
		method jwt.SigningMethod
		kid    string
		key    crypto.PrivateKey
	}{
		{jwt.SigningMethodRS256, "rsa", keys.rsa},
		{jwt.SigningMethodRS384, "rsa", keys.rsa},
		{jwt.SigningMethodRS512, "rsa", keys.rsa},
		{jwt.SigningMethodPS256, "rsa", keys.rsa},
		{jwt.SigningMethodPS384, "rsa", keys.rsa},
		{jwt.SigningMethodPS512, "rsa", keys.rsa},
		{jwt.SigningMethodES256, "p256", keys.p256},
		{jwt.SigningMethodES384, "p384", keys.p384},
		{jwt.SigningMethodES512, "p521", keys.p521},
	}
	for _, test := range tests {
		t.Run(test.method.Alg(), func(t *testing.T) {
			token := sign(t, test.method, test.kid, test.key, testClaims())
			auth := oauth.Auth{Zid: "alice", Token: token, Extensions: map[string]string{"traceId": "abc 123", "logicalCluster": "lc-1"}}
			exchange := server.Start(ConnInfo{}).(*OAuthBearerExchange)
			if err := runExchange(t, auth.AsMechanism(), exchange); err != nil {
				t.Fatal(err)
			}
			if exchange.Principal() != "alice" {
				t.Fatalf("principal %q", exchange.Principal())
			}
			if !exchange.SessionExpiry().Equal(testNow.Add(time.Hour)) {
				t.Fatalf("expiry %v", exchange.SessionExpiry())
			}
			if !slices.Equal(exchange.Scope(), []string{"produce", "consume"}) {
				t.Fatalf("scope %q", exchange.Scope())
			}
			if ext := exchange.Extensions(); len(ext) != 2 || ext["traceId"] != "abc 123" || ext["logicalCluster"] != "lc-1" {
				t.Fatalf("extensions %v", ext)
			}
			if _, _, err := exchange.Step([]byte{1}); err == nil {
				t.Fatal("step after completion succeeded")
			}
		})
	}
}

func TestOAuthBearerClaimOptions(t *testing.T) {
	keys := newTestKeys(t)
	config := DefaultOAuthConfig()
	config.SubClaimName = "client_id"
	config.ScopeClaimName = "scp"
	config.Now = func() time.Time { return testNow }
	server, err := NewOAuthBearer(config, keys.keySet(t))
	if err != nil {
		t.Fatal(err)
	}
	claims := testClaims()
	claims["client_id"] = "service-a"
	claims["scp"] = []string{"a", "b"}
	// Within the 30 s default skew: expired 20 s ago, valid from 20 s on.
	claims["exp"] = testNow.Add(-20 * time.Second).Unix()
	claims["nbf"] = testNow.Add(20 * time.Second).Unix()
	// No kid: the only ES256 key in the set is used.
	token := sign(t, jwt.SigningMethodES256, "", keys.p256, claims)
	exchange := server.Start(ConnInfo{}).(*OAuthBearerExchange)
	if err := runExchange(t, oauth.Auth{Token: token}.AsMechanism(), exchange); err != nil {
		t.Fatal(err)
	}
	if exchange.Principal() != "service-a" || !slices.Equal(exchange.Scope(), []string{"a", "b"}) {
		t.Fatalf("principal %q scope %q", exchange.Principal(), exchange.Scope())
	}
}

func TestOAuthBearerRefusesTokens(t *testing.T) {
	keys := newTestKeys(t)
	server := newTestOAuth(t, keys.keySet(t))
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		claims := testClaims()
		change(claims)
		return claims
	}
	rs256 := func(claims jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, "rsa", keys.rsa, claims) }
	publicDER := keys.rsa.PublicKey.N.Bytes()
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := map[string]string{
		"expired":        rs256(with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-31 * time.Second).Unix() })),
		"no exp":         rs256(with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid":  rs256(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(time.Minute).Unix() })),
		"issued later":   rs256(with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(time.Minute).Unix() })),
		"wrong audience": rs256(with(func(c jwt.MapClaims) { c["aud"] = "not-kafka" })),
		"no audience":    rs256(with(func(c jwt.MapClaims) { delete(c, "aud") })),
		"wrong issuer":   rs256(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })),
		"no subject":     rs256(with(func(c jwt.MapClaims) { delete(c, "sub") })),
		"numeric sub":    rs256(with(func(c jwt.MapClaims) { c["sub"] = 42 })),
		"bad scope":      rs256(with(func(c jwt.MapClaims) { c["scope"] = 7 })),
		"unknown kid":    sign(t, jwt.SigningMethodRS256, "rotated-away", keys.rsa, testClaims()),
		"wrong key":      sign(t, jwt.SigningMethodES256, "p256", otherKey, testClaims()),
		"kid of rsa key": sign(t, jwt.SigningMethodES256, "rsa", keys.p256, testClaims()),
		"curve mismatch": sign(t, jwt.SigningMethodES384, "p256", keys.p384, testClaims()),
		"alg none":       sign(t, jwt.SigningMethodNone, "rsa", jwt.UnsafeAllowNoneSignatureType, testClaims()),
		"HS256":          sign(t, jwt.SigningMethodHS256, "rsa", []byte("secret"), testClaims()),
		// Key confusion: the RSA public key used as an HMAC secret.
		"HS256 with public key": sign(t, jwt.SigningMethodHS256, "rsa", publicDER, testClaims()),
		"tampered":              rs256(testClaims())[:40] + "x" + rs256(testClaims())[41:],
	}
	for name, token := range tests {
		t.Run(name, func(t *testing.T) {
			exchange := server.Start(ConnInfo{})
			_, initial, err := oauth.Auth{Token: token}.AsMechanism().Authenticate(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			challenge, done, err := exchange.Step(initial)
			if err != nil || done || string(challenge) != `{"status":"invalid_token"}` {
				t.Fatalf("challenge %q done %v err %v", challenge, done, err)
			}
			_, done, err = exchange.Step([]byte{1})
			if done || authError(t, err).Message != `{"status":"invalid_token"}` || errors.Unwrap(err) == nil {
				t.Fatalf("after %%x01: done %v err %v", done, err)
			}
			if exchange.Principal() != "" || !exchange.SessionExpiry().IsZero() {
				t.Fatal("failed exchange has a principal")
			}
		})
	}
}

func TestOAuthBearerRefusesMessages(t *testing.T) {
	keys := newTestKeys(t)
	server := newTestOAuth(t, keys.keySet(t))
	token := sign(t, jwt.SigningMethodRS256, "rsa", keys.rsa, testClaims())
	generic := invalidCredentialsMessage("OAUTHBEARER")
	tests := []struct {
		name, message, want string
	}{
		{"authzid mismatch", "n,a=bob,\x01auth=Bearer " + token + "\x01\x01",
			"Authentication failed: Client requested an authorization id (bob) that is different from the token's principal name (alice)"},
		{"channel binding y", "y,,\x01auth=Bearer " + token + "\x01\x01", generic},
		{"scheme", "n,,\x01auth=Basic " + token + "\x01\x01", generic},
		{"no auth", "n,,\x01foo=bar\x01\x01", generic},
		{"unterminated", "n,,\x01auth=Bearer " + token + "\x01", generic},
		{"reserved auth twice", "n,,\x01auth=Bearer " + token + "\x01auth=Bearer x\x01\x01", generic},
		{"bad key", "n,,\x01auth=Bearer " + token + "\x01k3y=v\x01\x01", generic},
		{"lone x01 first", "\x01", generic},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			_, done, err := server.Start(ConnInfo{}).Step([]byte(test.message))
			if done || authError(t, err).Message != test.want {
				t.Fatalf("done %v err %v", done, err)
			}
		})
	}
	// The scheme is case-insensitive, as in Kafka.
	if _, done, err := server.Start(ConnInfo{}).Step([]byte("n,,\x01auth=bearer  " + token + "\x01\x01")); err != nil || !done {
		t.Fatalf("lower-case scheme: done %v err %v", done, err)
	}
}

func TestOAuthConfigValidation(t *testing.T) {
	keys := newTestKeys(t).keySet(t)
	if _, err := NewOAuthBearer(OAuthConfig{}, keys); err == nil {
		t.Fatal("empty claim names accepted")
	}
	config := DefaultOAuthConfig()
	config.ClockSkew = -time.Second
	if _, err := NewOAuthBearer(config, keys); err == nil {
		t.Fatal("negative skew accepted")
	}
	if _, err := NewOAuthBearer(DefaultOAuthConfig(), nil); err == nil {
		t.Fatal("nil key source accepted")
	}
}
