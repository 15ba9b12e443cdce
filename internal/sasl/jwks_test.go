package sasl

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestParseJWKS(t *testing.T) {
	keys := newTestKeys(t)
	rsaKey := rsaJWK("rsa", &keys.rsa.PublicKey)
	offCurve := ecJWK("off", &keys.p256.PublicKey)
	offCurve["y"] = offCurve["x"]
	encryption := ecJWK("enc", &keys.p256.PublicKey)
	encryption["use"] = "enc"
	restricted := ecJWK("restricted", &keys.p384.PublicKey)
	restricted["alg"] = "ES384"
	small := map[string]string{"kty": "RSA", "kid": "small", "n": b64url(make([]byte, 128)), "e": "AQAB"}
	small["n"] = b64url(append([]byte{0x80}, make([]byte, 127)...))
	set, err := ParseJWKS(jwksDocument(rsaKey, offCurve, encryption, restricted, small,
		map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
		map[string]string{"kty": "EC", "kid": "k1", "crv": "secp256k1", "x": "AA", "y": "AA"}))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 || len(set.Skipped()) != 5 {
		t.Fatalf("%d keys, skipped %q", set.Len(), set.Skipped())
	}
	if key, err := set.VerificationKey("rsa", "PS512"); err != nil || key.(*rsa.PublicKey).N.Cmp(keys.rsa.N) != 0 {
		t.Fatalf("rsa: %v", err)
	}
	if _, err := set.VerificationKey("restricted", "ES384"); err != nil {
		t.Fatal(err)
	}
	for _, lookup := range [][2]string{{"restricted", "ES256"}, {"rsa", "ES256"}, {"off", "ES256"}, {"nope", "RS256"}, {"rsa", "HS256"}, {"rsa", "none"}} {
		if _, err := set.VerificationKey(lookup[0], lookup[1]); !errors.Is(err, ErrKeyNotFound) {
			t.Fatalf("%v: %v", lookup, err)
		}
	}
	// Without a kid, exactly one key must fit.
	if key, err := set.VerificationKey("", "ES384"); err != nil || key.(*ecdsa.PublicKey) == nil {
		t.Fatalf("no kid: %v", err)
	}
	two, _ := ParseJWKS(jwksDocument(rsaKey, rsaJWK("rsa2", &keys.rsa.PublicKey)))
	if _, err := two.VerificationKey("", "RS256"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("ambiguous: %v", err)
	}

	bad := map[string][]byte{
		"not json":  []byte("{"),
		"no keys":   []byte(`{"keys":[]}`),
		"only bad":  jwksDocument(small),
		"too big":   []byte(`{"keys":[], "pad":"` + strings.Repeat("x", MaxJWKSBytes) + `"}`),
		"too many":  []byte(`{"keys":[` + strings.Repeat(`{},`, MaxJWKSKeys) + `{}]}`),
		"keys type": []byte(`{"keys":{}}`),
	}
	for name, document := range bad {
		if _, err := ParseJWKS(document); err == nil {
			t.Fatalf("%s: parsed", name)
		}
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ nanos atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.nanos.Store(testNow.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.nanos.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }

func TestFileKeySource(t *testing.T) {
	keys := newTestKeys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	modTime := testNow
	write := func(document []byte) {
		t.Helper()
		if err := os.WriteFile(path, document, 0o600); err != nil {
			t.Fatal(err)
		}
		modTime = modTime.Add(time.Minute) // File systems with coarse mtimes still see a change.
		if err := os.Chtimes(path, modTime, modTime); err != nil {
			t.Fatal(err)
		}
	}
	write(jwksDocument(rsaJWK("a", &keys.rsa.PublicKey)))
	clock := newFakeClock()
	source, err := NewFileKeySource(path, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := source.VerificationKey("a", "RS256"); err != nil {
		t.Fatal(err)
	}
	write(jwksDocument(ecJWK("b", &keys.p256.PublicKey)))
	clock.Advance(500 * time.Millisecond)
	if _, err := source.VerificationKey("b", "ES256"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("re-read within a second: %v", err)
	}
	clock.Advance(500 * time.Millisecond)
	if _, err := source.VerificationKey("b", "ES256"); err != nil {
		t.Fatalf("change not seen: %v", err)
	}
	// A broken file keeps the last good keys and reports why.
	write([]byte("not json"))
	clock.Advance(time.Second)
	if _, err := source.VerificationKey("b", "ES256"); err != nil || source.Err() == nil {
		t.Fatalf("broken file: %v, Err %v", err, source.Err())
	}
	// Refresh reads at once.
	write(jwksDocument(rsaJWK("c", &keys.rsa.PublicKey)))
	if err := source.Refresh(); err != nil || source.Err() != nil {
		t.Fatal(err)
	}
	if _, err := source.VerificationKey("c", "RS256"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileKeySource(filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

// jwksServer serves a JWKS document that tests can replace.
type jwksServer struct {
	*httptest.Server
	document atomic.Pointer[[]byte]
	status   atomic.Int32
}

func newJWKSServer(t *testing.T, document []byte) *jwksServer {
	s := &jwksServer{}
	s.document.Store(&document)
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(s.status.Load()))
		w.Write(*s.document.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func TestURLKeySourceRefresh(t *testing.T) {
	keys := newTestKeys(t)
	server := newJWKSServer(t, jwksDocument(rsaJWK("a", &keys.rsa.PublicKey)))
	source, err := NewURLKeySource(server.URL+"/jwks", server.Client(), DefaultURLKeySourceOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := source.VerificationKey("a", "RS256"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("before fetch: %v", err)
	}
	if err := source.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := source.VerificationKey("a", "RS256"); err != nil {
		t.Fatal(err)
	}
	// Failed fetches keep the keys.
	server.status.Store(http.StatusInternalServerError)
	if err := source.Refresh(t.Context()); err == nil {
		t.Fatal("HTTP 500 accepted")
	}
	server.status.Store(http.StatusOK)
	huge := []byte(`{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSBytes) + `"}`)
	server.document.Store(&huge)
	if err := source.Refresh(t.Context()); err == nil {
		t.Fatal("oversized JWKS accepted")
	}
	if _, err := source.VerificationKey("a", "RS256"); err != nil {
		t.Fatalf("keys lost after failed refresh: %v", err)
	}

	for _, rawURL := range []string{"http://idp.example/jwks", "file:///etc/jwks.json", "https://", "::"} {
		if _, err := NewURLKeySource(rawURL, http.DefaultClient, DefaultURLKeySourceOptions()); err == nil {
			t.Fatalf("%q accepted", rawURL)
		}
	}
}

func TestURLKeySourceRun(t *testing.T) {
	keys := newTestKeys(t)
	server := newJWKSServer(t, jwksDocument(rsaJWK("a", &keys.rsa.PublicKey)))
	refreshed := make(chan error, 16)
	clock := newFakeClock()
	options := DefaultURLKeySourceOptions()
	options.OnRefresh = func(err error) { refreshed <- err }
	options.Now = clock.Now
	source, err := NewURLKeySource(server.URL, server.Client(), options)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error)
	go func() { stopped <- source.Run(ctx) }()

	if err := <-refreshed; err != nil { // Run fetches at once.
		t.Fatal(err)
	}
	// The provider rotates to a new key; the first token naming it fails
	// and triggers a fetch, after which the key is known.
	rotated := jwksDocument(ecJWK("b", &keys.p256.PublicKey))
	server.document.Store(&rotated)
	if _, err := source.VerificationKey("b", "ES256"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown kid: %v", err)
	}
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	if _, err := source.VerificationKey("b", "ES256"); err != nil {
		t.Fatal(err)
	}
	// Further unknown kids within the interval do not trigger fetches.
	clock.Advance(options.UnknownKeyRefreshInterval / 2)
	source.VerificationKey("junk-1", "ES256")
	if len(source.expedite) != 0 {
		t.Fatal("unknown kid refresh not rate limited")
	}
	clock.Advance(options.UnknownKeyRefreshInterval / 2)
	source.VerificationKey(strings.Repeat("k", maxKeyIDBytes+1), "ES256")
	if len(source.expedite) != 0 {
		t.Fatal("over-long kid triggered a refresh")
	}
	cancel()
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

func TestURLKeySourceRetriesWithBackoff(t *testing.T) {
	keys := newTestKeys(t)
	server := newJWKSServer(t, jwksDocument(rsaJWK("a", &keys.rsa.PublicKey)))
	server.status.Store(http.StatusServiceUnavailable)
	refreshed := make(chan error, 16)
	options := DefaultURLKeySourceOptions()
	options.RetryBackoff = time.Millisecond
	options.RetryBackoffMax = 2 * time.Millisecond
	options.OnRefresh = func(err error) {
		server.status.Store(http.StatusOK) // The provider recovers after one failure.
		refreshed <- err
	}
	source, err := NewURLKeySource(server.URL, server.Client(), options)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan error)
	go func() { stopped <- source.Run(ctx) }()
	if err := <-refreshed; err == nil {
		t.Fatal("first fetch should fail")
	}
	if err := <-refreshed; err != nil {
		t.Fatalf("retry: %v", err)
	}
	cancel()
	<-stopped
	if _, err := source.VerificationKey("a", "RS256"); err != nil {
		t.Fatal(err)
	}
}

func TestOAuthBearerWithURLKeySource(t *testing.T) {
	keys := newTestKeys(t)
	server := newJWKSServer(t, jwksDocument(ecJWK("p384", &keys.p384.PublicKey)))
	source, err := NewURLKeySource(server.URL, server.Client(), DefaultURLKeySourceOptions())
	if err != nil {
		t.Fatal(err)
	}
	if err := source.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	mechanism := newTestOAuth(t, source)
	token := sign(t, jwt.SigningMethodES384, "p384", keys.p384, testClaims())
	exchange := mechanism.Start(ConnInfo{})
	if _, done, err := exchange.Step([]byte("n,,\x01auth=Bearer " + token + "\x01\x01")); err != nil || !done {
		t.Fatalf("done %v err %v", done, err)
	}
}
