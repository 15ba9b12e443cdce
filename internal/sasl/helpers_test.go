package sasl

import (
	"context"
	"errors"
	"testing"

	kgosasl "github.com/twmb/franz-go/pkg/sasl"
)

// runExchange drives server with a real client mechanism, alternating
// client messages and server challenges as the broker's connection code and
// a client would over SaslAuthenticate, until the server finishes or fails.
func runExchange(t *testing.T, client kgosasl.Mechanism, server Exchange) error {
	t.Helper()
	session, message, err := client.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatalf("client Authenticate: %v", err)
	}
	for round := 0; round < 8; round++ {
		challenge, done, err := server.Step(message)
		if err != nil {
			return err
		}
		clientDone, next, clientErr := session.Challenge(challenge)
		if done {
			if clientErr != nil || !clientDone {
				t.Fatalf("server done but client not: done=%v err=%v", clientDone, clientErr)
			}
			return nil
		}
		if clientErr != nil {
			t.Fatalf("client Challenge: %v", clientErr)
		}
		message = next
	}
	t.Fatal("exchange did not end")
	return nil
}

// authError asserts err is an *AuthError matching ErrAuthentication.
func authError(t *testing.T, err error) *AuthError {
	t.Helper()
	var authErr *AuthError
	if !errors.As(err, &authErr) || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("error %v (%T) is not an *AuthError", err, err)
	}
	return authErr
}
