package sasl

import (
	"crypto/pbkdf2"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// scramStore is an in-memory ScramCredentials.
type scramStore map[ScramMechanism]map[string]ScramCredential

func (s scramStore) ScramCredential(mechanism ScramMechanism, user string) (ScramCredential, bool) {
	credential, ok := s[mechanism][user]
	return credential, ok
}

func (s scramStore) add(t testing.TB, mechanism ScramMechanism, user, password string, iterations int) {
	t.Helper()
	credential, err := NewScramCredential(mechanism, password, iterations)
	if err != nil {
		t.Fatal(err)
	}
	if s[mechanism] == nil {
		s[mechanism] = map[string]ScramCredential{}
	}
	s[mechanism][user] = credential
}

func newTestScram(t testing.TB, mechanism ScramMechanism, store scramStore) *Scram {
	t.Helper()
	s, err := NewScram(mechanism, store, ScramOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScramFranzGo(t *testing.T) {
	store := scramStore{}
	users := []string{"alice", "we,ird=name", "ünï"}
	for _, mechanism := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		for _, user := range users {
			store.add(t, mechanism, user, "pw-"+user, 4096)
		}
	}
	for _, mechanism := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		server := newTestScram(t, mechanism, store)
		for _, user := range users {
			for _, zid := range []string{"", user} {
				auth := scram.Auth{Zid: zid, User: user, Pass: "pw-" + user}
				client := auth.AsSha256Mechanism()
				if mechanism == ScramSHA512 {
					client = auth.AsSha512Mechanism()
				}
				if client.Name() != server.Name() {
					t.Fatalf("names %s and %s", client.Name(), server.Name())
				}
				exchange := server.Start(ConnInfo{})
				if err := runExchange(t, client, exchange); err != nil {
					t.Fatalf("%s user %q zid %q: %v", mechanism, user, zid, err)
				}
				if exchange.Principal() != user {
					t.Fatalf("principal %q, want %q", exchange.Principal(), user)
				}
			}
		}
	}
}

// testScramClient computes SCRAM client messages by hand, so tests can
// tamper with each part.
type testScramClient struct {
	mechanism ScramMechanism
	password  string
	bare      string
}

func (c *testScramClient) first(gs2Header, user, nonce string) []byte {
	c.bare = "n=" + user + ",r=" + nonce
	return []byte(gs2Header + c.bare)
}

// final answers serverFirst with channel binding cbind and nonce; an empty
// nonce means the one the server sent.
func (c *testScramClient) final(t testing.TB, serverFirst []byte, cbind, nonce string) []byte {
	t.Helper()
	fields := strings.Split(string(serverFirst), ",")
	if len(fields) != 3 || !strings.HasPrefix(fields[0], "r=") || !strings.HasPrefix(fields[1], "s=") || !strings.HasPrefix(fields[2], "i=") {
		t.Fatalf("server-first %q", serverFirst)
	}
	if nonce == "" {
		nonce = fields[0][2:]
	}
	salt, err := base64.StdEncoding.DecodeString(fields[1][2:])
	if err != nil {
		t.Fatal(err)
	}
	iterations, err := strconv.Atoi(fields[2][2:])
	if err != nil {
		t.Fatal(err)
	}
	newHash := c.mechanism.newHash()
	salted, err := pbkdf2.Key(newHash, c.password, salt, iterations, c.mechanism.KeyBytes())
	if err != nil {
		t.Fatal(err)
	}
	withoutProof := "c=" + cbind + ",r=" + nonce
	authMessage := c.bare + "," + string(serverFirst) + "," + withoutProof
	clientKey := hmacSum(newHash, salted, []byte("Client Key"))
	h := newHash()
	h.Write(clientKey)
	proof := hmacSum(newHash, h.Sum(nil), []byte(authMessage))
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))
}

func TestScramWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	store := scramStore{}
	store.add(t, ScramSHA256, "alice", "right", 4096)
	// A stored credential below Kafka's minimum, as an old or tampered
	// store could hold: refused at login like an unknown user.
	weak := store[ScramSHA256]["alice"]
	weak.Iterations = 1024
	store[ScramSHA256]["weak"] = weak
	server := newTestScram(t, ScramSHA256, store)

	attempt := func(user, password string) (serverFirst string, err error) {
		client := &testScramClient{mechanism: ScramSHA256, password: password}
		exchange := server.Start(ConnInfo{})
		first, done, err := exchange.Step(client.first("n,,", user, "clientnonce"))
		if err != nil || done {
			t.Fatalf("client-first for %q: done=%v err=%v", user, done, err)
		}
		_, done, err = exchange.Step(client.final(t, first, "biws", ""))
		if done || err == nil {
			t.Fatalf("user %q password %q authenticated", user, password)
		}
		return string(first), err
	}
	wrongFirst, wrongErr := attempt("alice", "wrong")
	unknownFirst, unknownErr := attempt("mallory", "right")
	unknownAgain, _ := attempt("mallory", "other")
	weakFirst, weakErr := attempt("weak", "right")

	want := invalidCredentialsMessage("SCRAM-SHA-256")
	for _, err := range []error{wrongErr, unknownErr, weakErr} {
		if got := authError(t, err).Message; got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
	}
	if !errors.Is(unknownErr, errScramUnknownUser) || !errors.Is(wrongErr, errScramInvalidProof) {
		t.Fatalf("causes: unknown %v, wrong %v", unknownErr, wrongErr)
	}
	shape := func(serverFirst string) (salt, iterations string, nonceLength int) {
		fields := strings.Split(serverFirst, ",")
		return fields[1], fields[2], len(fields[0])
	}
	wrongSalt, wrongIterations, wrongNonce := shape(wrongFirst)
	unknownSalt, unknownIterations, unknownNonce := shape(unknownFirst)
	againSalt, _, _ := shape(unknownAgain)
	weakSalt, weakIterations, _ := shape(weakFirst)
	if wrongIterations != "i=4096" || unknownIterations != "i=4096" || weakIterations != "i=4096" {
		t.Fatalf("iterations %s %s %s", wrongIterations, unknownIterations, weakIterations)
	}
	if wrongNonce != unknownNonce {
		t.Fatalf("nonce lengths %d and %d", wrongNonce, unknownNonce)
	}
	if unknownSalt != againSalt {
		t.Fatal("fake salt of an unknown user is not stable")
	}
	if weakSalt == wrongSalt {
		t.Fatal("weak credential's real salt was disclosed")
	}
	// Real and fake salts have the same shape: 25 or 26 base36 digits.
	for _, salt := range []string{wrongSalt, unknownSalt} {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(salt, "s="))
		if err != nil || len(raw) < 20 || len(raw) > 26 || strings.Trim(string(raw), "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("salt %q (%v)", raw, err)
		}
	}
}

func TestScramFakeSaltSecret(t *testing.T) {
	secret := []byte("kept across restarts")
	salts := make([]string, 2)
	for i := range salts {
		server, err := NewScram(ScramSHA512, scramStore{}, ScramOptions{FakeSaltSecret: secret, FakeIterations: 8192})
		if err != nil {
			t.Fatal(err)
		}
		first, _, err := server.Start(ConnInfo{}).Step([]byte("n,,n=ghost,r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Split(string(first), ",")
		if fields[2] != "i=8192" {
			t.Fatalf("iterations %s", fields[2])
		}
		salts[i] = fields[1]
	}
	if salts[0] != salts[1] {
		t.Fatal("fake salt changed across mechanism instances sharing a secret")
	}
	if _, err := NewScram(ScramSHA512, scramStore{}, ScramOptions{FakeIterations: 100}); err == nil {
		t.Fatal("fake iterations below the minimum accepted")
	}
}

func TestScramClientFinalChecks(t *testing.T) {
	store := scramStore{}
	store.add(t, ScramSHA512, "alice", "pw", 4096)
	server := newTestScram(t, ScramSHA512, store)
	start := func(gs2Header string) (*testScramClient, Exchange, []byte) {
		client := &testScramClient{mechanism: ScramSHA512, password: "pw"}
		exchange := server.Start(ConnInfo{})
		first, _, err := exchange.Step(client.first(gs2Header, "alice", "cnonce"))
		if err != nil {
			t.Fatal(err)
		}
		return client, exchange, first
	}
	serverNonce := func(first []byte) string {
		return strings.TrimPrefix(strings.Split(string(first), ",")[0], "r=")
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

	t.Run("good", func(t *testing.T) {
		client, exchange, first := start("n,,")
		final, done, err := exchange.Step(client.final(t, first, "biws", ""))
		if err != nil || !done || !strings.HasPrefix(string(final), "v=") {
			t.Fatalf("final %q done %v err %v", final, done, err)
		}
		// Replaying the client-final on the completed exchange fails.
		if _, _, err := exchange.Step(client.final(t, first, "biws", "")); !errors.Is(err, errIllegalState) {
			t.Fatalf("replay after completion: %v", err)
		}
	})
	t.Run("librdkafka before 2.6.1: client nonce repeated in front", func(t *testing.T) {
		client, exchange, first := start("n,,")
		if _, done, err := exchange.Step(client.final(t, first, "biws", "cnonce"+serverNonce(first))); err != nil || !done {
			t.Fatalf("done %v err %v", done, err)
		}
	})
	t.Run("authzid binding per RFC", func(t *testing.T) {
		client, exchange, first := start("n,a=alice,")
		if _, done, err := exchange.Step(client.final(t, first, b64("n,a=alice,"), "")); err != nil || !done {
			t.Fatalf("done %v err %v", done, err)
		}
	})
	refusals := []struct {
		name  string
		cbind func(first []byte) string
		nonce func(first []byte) string
		cause error
	}{
		{"nonce with prefix (CVE-2024-56128)", nil, func(f []byte) string { return "x" + serverNonce(f) }, errScramNonceMismatch},
		{"nonce truncated", nil, func(f []byte) string { return serverNonce(f)[:10] }, errScramNonceMismatch},
		{"client nonce only", nil, func([]byte) string { return "cnonce" }, errScramNonceMismatch},
		{"client nonce twice in front", nil, func(f []byte) string { return "cnoncecnonce" + serverNonce(f) }, errScramNonceMismatch},
		{"other nonce in front", nil, func(f []byte) string { return "xnonce" + serverNonce(f) }, errScramNonceMismatch},
		{"channel binding y", func([]byte) string { return b64("y,,") }, nil, errScramBadBinding},
		{"channel binding p", func([]byte) string { return b64("p=tls-unique,,") }, nil, errScramBadBinding},
	}
	for _, test := range refusals {
		t.Run(test.name, func(t *testing.T) {
			client, exchange, first := start("n,,")
			cbind, nonce := "biws", ""
			if test.cbind != nil {
				cbind = test.cbind(first)
			}
			if test.nonce != nil {
				nonce = test.nonce(first)
			}
			_, done, err := exchange.Step(client.final(t, first, cbind, nonce))
			if done || !errors.Is(err, test.cause) {
				t.Fatalf("done %v err %v, want %v", done, err, test.cause)
			}
			// A second, now correct, client-final on the same exchange fails.
			if _, _, err := exchange.Step(client.final(t, first, "biws", "")); !errors.Is(err, errIllegalState) {
				t.Fatalf("second client-final: %v", err)
			}
		})
	}
	t.Run("client-final from another exchange", func(t *testing.T) {
		client, exchange, first := start("n,,")
		stolen := client.final(t, first, "biws", "")
		if _, _, err := exchange.Step(stolen); err != nil {
			t.Fatal(err)
		}
		_, other, _ := start("n,,")
		if _, _, err := other.Step(stolen); !errors.Is(err, errScramNonceMismatch) {
			t.Fatalf("replay into a new exchange: %v", err)
		}
	})
}

func TestScramClientFirstRefusals(t *testing.T) {
	store := scramStore{}
	store.add(t, ScramSHA256, "alice", "pw", 4096)
	server := newTestScram(t, ScramSHA256, store)
	generic := invalidCredentialsMessage("SCRAM-SHA-256")
	tests := []struct {
		name     string
		message  string
		cause    error
		message2 string
	}{
		{"channel binding y", "y,,n=alice,r=abc", errScramChannelBinding, generic},
		{"channel binding p", "p=tls-server-end-point,,n=alice,r=abc", errScramChannelBinding, generic},
		{"tokenauth", "n,,n=alice,r=abc,tokenauth=true", errScramTokenAuth, generic},
		{"tokenauth any case", "n,,n=alice,r=abc,tokenauth=TRUE", errScramTokenAuth, generic},
		{"authzid mismatch", "n,a=bob,n=alice,r=abc", errScramAuthzidMismatch,
			"Authentication failed: Client requested an authorization id that is different from username"},
		{"mandatory extension", "n,,m=x,n=alice,r=abc", errScramMalformed, generic},
		{"bad escape", "n,,n=al=2Dice,r=abc", errScramMalformed, generic},
		{"raw comma", "n,,n=al,ice,r=abc", errScramMalformed, generic},
		{"empty nonce", "n,,n=alice,r=", errScramMalformed, generic},
		{"no gs2", "n=alice,r=abc", errScramMalformed, generic},
		{"duplicate extension", "n,,n=alice,r=abc,x=1,x=2", errScramMalformed, generic},
		{"trailing comma", "n,,n=alice,r=abc,", errScramMalformed, generic},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			exchange := server.Start(ConnInfo{})
			_, done, err := exchange.Step([]byte(test.message))
			if done || !errors.Is(err, test.cause) {
				t.Fatalf("done %v err %v, want %v", done, err, test.cause)
			}
			if got := authError(t, err).Message; got != test.message2 {
				t.Fatalf("message %q", got)
			}
		})
	}
	// Unknown extensions are ignored, as Kafka does; tokenauth=false is no
	// token.
	for _, message := range []string{"n,,n=alice,r=abc,tokenauth=false", "n,,n=alice,r=abc,foo=bar"} {
		if _, _, err := server.Start(ConnInfo{}).Step([]byte(message)); err != nil {
			t.Fatalf("%q: %v", message, err)
		}
	}
	// franz-go's delegation-token client is refused.
	client := scram.Auth{User: "alice", Pass: "pw", IsToken: true}.AsSha256Mechanism()
	if err := runExchange(t, client, server.Start(ConnInfo{})); !errors.Is(err, errScramTokenAuth) {
		t.Fatalf("tokenauth: %v", err)
	}
}

func TestScramCredentials(t *testing.T) {
	for _, mechanism := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		credential, err := NewScramCredential(mechanism, "pw", 8192)
		if err != nil {
			t.Fatal(err)
		}
		salted, _ := pbkdf2.Key(mechanism.newHash(), "pw", credential.Salt, 8192, mechanism.KeyBytes())
		again, err := ScramCredentialFromSaltedPassword(mechanism, credential.Salt, salted, 8192)
		if err != nil || string(again.StoredKey) != string(credential.StoredKey) || string(again.ServerKey) != string(credential.ServerKey) {
			t.Fatalf("credentials differ: %v", err)
		}
		for _, iterations := range []int{0, 4095, 16385} {
			if _, err := NewScramCredential(mechanism, "pw", iterations); !errors.Is(err, ErrInvalidScramCredential) {
				t.Fatalf("%d iterations: %v", iterations, err)
			}
			if _, err := ScramCredentialFromSaltedPassword(mechanism, []byte("salt"), salted, iterations); !errors.Is(err, ErrInvalidScramCredential) {
				t.Fatalf("%d iterations from salted password: %v", iterations, err)
			}
		}
		if _, err := ScramCredentialFromSaltedPassword(mechanism, []byte("salt"), salted[1:], 4096); !errors.Is(err, ErrInvalidScramCredential) {
			t.Fatalf("short salted password: %v", err)
		}
		if _, err := ScramCredentialFromSaltedPassword(mechanism, nil, salted, 4096); !errors.Is(err, ErrInvalidScramCredential) {
			t.Fatalf("no salt: %v", err)
		}
		bad := credential
		bad.StoredKey = bad.StoredKey[:16]
		if err := bad.Validate(); !errors.Is(err, ErrInvalidScramCredential) {
			t.Fatalf("short stored key: %v", err)
		}
		named, ok := ScramMechanismByName(mechanism.String())
		if !ok || named != mechanism {
			t.Fatalf("by name %s", mechanism)
		}
	}
	if _, err := NewScramCredential(ScramMechanism(3), "pw", 4096); !errors.Is(err, ErrInvalidScramCredential) {
		t.Fatalf("unknown mechanism: %v", err)
	}
}

// BenchmarkScramSHA512Exchange measures the server's side of one
// SCRAM-SHA-512 login. The client's PBKDF2 is done once outside the loop.
func BenchmarkScramSHA512Exchange(b *testing.B) {
	store := scramStore{}
	store.add(b, ScramSHA512, "alice", "pw", 4096)
	server := newTestScram(b, ScramSHA512, store)
	credential := store[ScramSHA512]["alice"]
	salted, _ := pbkdf2.Key(ScramSHA512.newHash(), "pw", credential.Salt, 4096, 64)
	clientKey := hmacSum(ScramSHA512.newHash(), salted, []byte("Client Key"))
	clientFirst := []byte("n,,n=alice,r=fyko+d2lbbFgONRv9qkxdawL")
	b.ReportAllocs()
	for b.Loop() {
		exchange := server.Start(ConnInfo{})
		serverFirst, _, err := exchange.Step(clientFirst)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer() // The client's half is not the server's cost.
		nonce := strings.TrimPrefix(strings.Split(string(serverFirst), ",")[0], "r=")
		withoutProof := "c=biws,r=" + nonce
		authMessage := "n=alice,r=fyko+d2lbbFgONRv9qkxdawL," + string(serverFirst) + "," + withoutProof
		proof := hmacSum(ScramSHA512.newHash(), credential.StoredKey, []byte(authMessage))
		for i := range proof {
			proof[i] ^= clientKey[i]
		}
		final := []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof))
		b.StartTimer()
		if _, done, err := exchange.Step(final); err != nil || !done {
			b.Fatal(done, err)
		}
	}
}
