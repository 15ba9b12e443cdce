package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

// testIssuer signs JWTs with an RSA key whose public half it publishes as
// a JWKS file.
type testIssuer struct {
	key  *rsa.PrivateKey
	kid  string
	JWKS string // file: URL
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, kid: "test-key-1"}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": is.kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	is.JWKS = "file://" + path
	return is
}

func (is *testIssuer) token(t *testing.T, sub, aud string, ttl time.Duration) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"sub": sub, "aud": aud, "iss": "test-issuer", "iat": time.Now().Unix(), "exp": time.Now().Add(ttl).Unix(),
	})
	tok.Header["kid"] = is.kid
	s, err := tok.SignedString(is.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOAuthBearer: franz-go and sarama authenticate with signed JWTs
// checked against a JWKS file and the expected audience; franz-go
// re-authenticates as connections.max.reauth.ms ends each session while
// producing without a failure; a token for another audience, and an
// expired one, are refused.
func TestOAuthBearer(t *testing.T) {
	is := newTestIssuer(t)
	srv := startServer(t, map[string]string{
		"listeners":                          "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":            "OAUTHBEARER",
		"sasl.oauthbearer.jwks.endpoint.url": is.JWKS,
		"sasl.oauthbearer.expected.audience": "fjord",
		"sasl.oauthbearer.expected.issuer":   "test-issuer",
		"connections.max.reauth.ms":          "1500",
	})
	ctx := testContext(t, testTimeout)
	var tokens atomic.Int64
	cl := newKgo(t, srv.Addr, kgo.SASL(oauth.Oauth(func(context.Context) (oauth.Auth, error) {
		tokens.Add(1)
		return oauth.Auth{Token: is.token(t, "alice", "fjord", time.Minute)}, nil
	})))
	topic := uniqueTopic(t, "oauth")
	createTopic(t, ctx, kadm.NewClient(cl), topic, 1, nil)
	deadline := time.Now().Add(4 * time.Second)
	n := 0
	for time.Now().Before(deadline) || tokens.Load() < 3 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatalf("produce %d across re-authentications: %v", n, err)
		}
		n++
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
	}
	t.Logf("%d records over %d authentications", n, tokens.Load())

	cfg := saramaConfig()
	cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, sarama.SASLTypeOAuth
	cfg.Net.SASL.TokenProvider = saramaToken{token: is.token(t, "bob", "fjord", time.Minute)}
	produceSarama(t, srv.Addr, topic, []rec{{Key: "sarama", Value: "oauth"}}, cfg)

	for name, tok := range map[string]string{
		"other audience": is.token(t, "mallory", "someone-else", time.Minute),
		"expired":        is.token(t, "mallory", "fjord", -time.Hour),
	} {
		bad := newKgo(t, srv.Addr, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second),
			kgo.SASL(oauth.Auth{Token: tok}.AsMechanism()))
		// The broker answers with an invalid_token challenge, which
		// franz-go's client reports as unexpected data, or, after the
		// client's \x01, SASL_AUTHENTICATION_FAILED.
		if err := bad.Ping(ctx); err == nil {
			t.Errorf("%s token authenticated", name)
		}
	}
}

type saramaToken struct{ token string }

func (s saramaToken) Token() (*sarama.AccessToken, error) {
	return &sarama.AccessToken{Token: s.token}, nil
}
