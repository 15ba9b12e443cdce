package sasl

import (
	"testing"

	"github.com/twmb/franz-go/pkg/sasl/plain"
)

func newTestPlain() *Plain {
	return NewPlain(StaticPlainUsers{"alice": "alice-secret", "bob": "b"})
}

func TestPlainFranzGo(t *testing.T) {
	mechanism := newTestPlain()
	for _, zid := range []string{"", "alice"} {
		exchange := mechanism.Start(ConnInfo{})
		client := plain.Auth{Zid: zid, User: "alice", Pass: "alice-secret"}.AsMechanism()
		if err := runExchange(t, client, exchange); err != nil {
			t.Fatalf("zid %q: %v", zid, err)
		}
		if got := exchange.Principal(); got != "alice" {
			t.Fatalf("principal %q", got)
		}
		if !exchange.SessionExpiry().IsZero() {
			t.Fatal("PLAIN has no session expiry")
		}
		// Anything after completion fails.
		if _, _, err := exchange.Step([]byte("\x00alice\x00alice-secret")); err == nil {
			t.Fatal("step after completion succeeded")
		}
	}
}

func TestPlainRefusals(t *testing.T) {
	mechanism := newTestPlain()
	const invalid = "Authentication failed: Invalid username or password"
	generic := invalidCredentialsMessage("PLAIN")
	tests := []struct {
		name    string
		message string
		want    string
	}{
		{"wrong password", "\x00alice\x00wrong", invalid},
		{"unknown user", "\x00mallory\x00alice-secret", invalid},
		{"password prefix", "\x00alice\x00alice-secre", invalid},
		{"authzid mismatch", "bob\x00alice\x00alice-secret",
			"Authentication failed: Client requested an authorization id that is different from username"},
		{"no username", "\x00\x00pw", "Authentication failed: username not specified"},
		{"no password", "\x00alice\x00", "Authentication failed: password not specified"},
		{"two tokens", "alice\x00alice-secret", generic},
		{"four tokens", "\x00alice\x00alice-secret\x00", generic},
		{"empty", "", generic},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			exchange := mechanism.Start(ConnInfo{})
			_, done, err := exchange.Step([]byte(test.message))
			if done {
				t.Fatal("done")
			}
			if got := authError(t, err).Message; got != test.want {
				t.Fatalf("message %q, want %q", got, test.want)
			}
			if exchange.Principal() != "" {
				t.Fatal("principal set after failure")
			}
			// A failed exchange stays failed, even for good credentials.
			if _, _, err := exchange.Step([]byte("\x00alice\x00alice-secret")); err == nil {
				t.Fatal("step after failure succeeded")
			}
		})
	}
}

func TestParsePlain(t *testing.T) {
	got, err := parsePlain([]byte("z\x00user\x00p\x00ss"))
	if err == nil {
		t.Fatalf("three NULs parsed: %+v", got)
	}
	got, err = parsePlain([]byte("z\x00user\x00pass"))
	if err != nil || got != (plainMessage{"z", "user", "pass"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestPlainUnknownUserNeverMatchesDecoy(t *testing.T) {
	mechanism := newTestPlain()
	if mechanism.check("mallory", mechanism.decoyPassword) {
		t.Fatal("unknown user authenticated with the decoy password")
	}
	if !mechanism.check("bob", "b") || mechanism.check("bob", "") {
		t.Fatal("check of a known user")
	}
}
