package sasl

import (
	"strings"
	"testing"
)

// The fuzzers check that no input panics the parsers and that what they
// return is bounded by what they were given.

func FuzzParsePlain(f *testing.F) {
	for _, seed := range []string{"\x00alice\x00pw", "a\x00b\x00c", "", "\x00\x00", "\x00\x00\x00"} {
		f.Add([]byte(seed))
	}
	server := NewPlain(StaticPlainUsers{"alice": "pw"})
	f.Fuzz(func(t *testing.T, message []byte) {
		parsed, err := parsePlain(message)
		if err == nil && len(parsed.authzid)+len(parsed.authcid)+len(parsed.password)+2 != len(message) {
			t.Fatalf("parsed %d bytes of %d", len(parsed.authzid)+len(parsed.authcid)+len(parsed.password)+2, len(message))
		}
		_, done, err := server.Start(ConnInfo{}).Step(message)
		if done != (err == nil) {
			t.Fatalf("done %v err %v", done, err)
		}
	})
}

func FuzzParseScramClientFirst(f *testing.F) {
	for _, seed := range []string{
		"n,,n=alice,r=abc", "n,a=alice,n=alice,r=abc,tokenauth=true", "y,,n=a,r=b", "p=tls-unique,,n=a,r=b",
		"n,,n=we=2Cird=3D,r=x", "n,,m=x,n=a,r=b", "n,,n=a,r=b,x=1,x=2", "n,,n=\xff,r=b", "n,,n=a=,r=b", "n,,",
	} {
		f.Add(seed)
	}
	store := scramStore{}
	store.add(f, ScramSHA256, "alice", "pw", 4096)
	server := newTestScram(f, ScramSHA256, store)
	f.Fuzz(func(t *testing.T, message string) {
		parsed, err := parseScramClientFirst(message)
		if err == nil {
			if len(parsed.user) > len(message) || len(parsed.nonce) > len(message) || len(parsed.extensions) > scramMaxExtensions {
				t.Fatalf("parsed %+v from %d bytes", parsed, len(message))
			}
			if parsed.gs2Header+parsed.bare != message {
				t.Fatal("gs2 header and bare do not make up the message")
			}
		}
		exchange := server.Start(ConnInfo{})
		serverFirst, _, err := exchange.Step([]byte(message))
		if err == nil && len(serverFirst) > len(message)+200 {
			t.Fatalf("server-first of %d bytes for %d", len(serverFirst), len(message))
		}
	})
}

func FuzzParseScramClientFinal(f *testing.F) {
	for _, seed := range []string{
		"c=biws,r=abc,p=dGVzdA==", "c=biws,r=abc,ext=1,p=dGVzdA==", "c=,r=,p=", "c=biws,r=abc,p=!!", "p=,c=biws", ",p=AA==",
	} {
		f.Add(seed)
	}
	store := scramStore{}
	store.add(f, ScramSHA512, "alice", "pw", 4096)
	server := newTestScram(f, ScramSHA512, store)
	f.Fuzz(func(t *testing.T, message string) {
		parsed, err := parseScramClientFinal(message)
		if err == nil && (len(parsed.proof) > len(message) || !strings.HasPrefix(message, parsed.withoutProof)) {
			t.Fatalf("parsed %+v", parsed)
		}
		exchange := server.Start(ConnInfo{})
		if _, _, err := exchange.Step([]byte("n,,n=alice,r=abc")); err != nil {
			t.Fatal(err)
		}
		// Without the server nonce no fuzzed message can be a valid proof.
		if _, done, err := exchange.Step([]byte(message)); done || err == nil {
			t.Fatalf("fuzzed client-final accepted: %q", message)
		}
	})
}

func FuzzParseOAuthInitialResponse(f *testing.F) {
	for _, seed := range []string{
		"n,,\x01auth=Bearer a.b.c\x01\x01", "n,a=alice,\x01auth=Bearer a.b.c\x01k=v v\x01\x01", "n,,\x01\x01",
		"y,,\x01auth=Bearer x\x01\x01", "n,,\x01auth=Bearer x\x01auth=Bearer y\x01\x01", "\x01", "n,,\x01auth=Bearer\x01\x01",
	} {
		f.Add(seed)
	}
	server := newTestOAuth(f, newTestKeys(f).keySet(f))
	f.Fuzz(func(t *testing.T, message string) {
		parsed, err := parseOAuthInitialResponse(message)
		if err == nil && (len(parsed.token) > len(message) || len(parsed.extensions) > oauthMaxExtensions) {
			t.Fatalf("parsed %+v", parsed)
		}
		exchange := server.Start(ConnInfo{})
		_, done, err := exchange.Step([]byte(message))
		if done {
			t.Fatalf("fuzzed initial response authenticated: %q", message)
		}
		if err == nil {
			if _, _, err := exchange.Step([]byte{1}); err == nil {
				t.Fatal("error challenge not followed by failure")
			}
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	keys := newTestKeys(f)
	f.Add(jwksDocument(rsaJWK("a", &keys.rsa.PublicKey), ecJWK("b", &keys.p256.PublicKey)))
	f.Add(jwksDocument(ecJWK("c", &keys.p521.PublicKey)))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","e":"AAAAAAE"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, document []byte) {
		set, err := ParseJWKS(document)
		if err != nil {
			return
		}
		if set.Len() == 0 || set.Len() > MaxJWKSKeys {
			t.Fatalf("%d keys", set.Len())
		}
		for _, alg := range oauthAlgorithms {
			set.VerificationKey("", alg)
		}
	})
}
