// Package sasl implements the server side of Kafka's SASL mechanisms: PLAIN
// (RFC 4616), SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) and
// OAUTHBEARER (RFC 7628) with JWT validation against a JWKS.
//
// # Model
//
// The package does no network I/O for connections. The broker's connection
// code picks a [Mechanism] by the name the client sent in SaslHandshake, calls
// [Mechanism.Start] once per authentication (and once per KIP-368
// re-authentication), and then feeds the bytes of each SaslAuthenticate
// request to [Exchange.Step], sending back what it returns. Step is a pure
// state machine over the client's messages: it returns the next server
// message, whether the exchange completed successfully, or an [*AuthError]
// whose Message is safe to put in the SaslAuthenticate response (error code
// SASL_AUTHENTICATION_FAILED) after which the connection is closed. An
// exchange that failed or completed refuses every further message, so a
// replayed client-final can never succeed.
//
// Credentials come from small interfaces the broker implements: [PlainUsers]
// (backed by the JAAS config's user_NAME="password" options) and
// [ScramCredentials] (backed by the metadata log's SCRAM records). OAUTHBEARER
// verification keys come from a [KeySource]: a static [KeySet], a
// [FileKeySource] that re-reads a JWKS file when it changes, or a
// [URLKeySource] that fetches a JWKS over HTTPS.
//
// Failures never tell an unauthenticated client more than Kafka does, and
// try to tell less: PLAIN compares fixed-length digests in constant time for
// known and unknown users alike, and SCRAM answers an unknown user with a
// stable fake salt and the default iteration count, failing only at the proof
// step with the same message as a wrong password.
//
// # Concurrency
//
// Mechanisms, [KeySet], [FileKeySource] and [URLKeySource] are safe for
// concurrent use by many connection goroutines. An [Exchange] belongs to one
// connection and is not safe for concurrent use; its Step calls must be
// sequential. [URLKeySource.Run] is the only long-running function; it runs
// on a goroutine owned by the caller and returns when the caller's context is
// cancelled. No other function starts a goroutine.
package sasl
