package clientconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/tlsconfig"
)

// ErrSecurity marks client security settings that cannot be used: a bad
// property, or a file one names that cannot be read. Its messages name
// the property and never contain a password, token or key.
var ErrSecurity = errors.New("client security settings")

// Kafka's client security property names read here, besides the ssl.*
// names of package tlsconfig.
const (
	PropSecurityProtocol = "security.protocol"
	PropSASLMechanism    = "sasl.mechanism"
	PropSASLJAASConfig   = "sasl.jaas.config"
	PropLoginCallback    = "sasl.login.callback.handler.class"
)

// librdkafka's names for the same settings. A file written for a
// librdkafka client (confluent-kafka-go, kcat) works unchanged.
const (
	PropSASLMechanisms         = "sasl.mechanisms" // librdkafka's spelling of sasl.mechanism
	PropSASLUsername           = "sasl.username"
	PropSASLPassword           = "sasl.password"
	PropSSLCALocation          = "ssl.ca.location"          // read as ssl.truststore.location
	PropSSLCertificateLocation = "ssl.certificate.location" // with ssl.key.location, the key store
	PropSSLKeyLocation         = "ssl.key.location"
)

// Kafka's security.protocol values.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// The SASL mechanisms a fjord client speaks. GSSAPI (Kerberos), Kafka's
// default, is not one of them.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// readProperties are the security properties NewSecurity reads; see
// IsSecurityProperty.
var readProperties = map[string]bool{
	PropSecurityProtocol: true, PropSASLMechanism: true, PropSASLMechanisms: true, PropSASLJAASConfig: true,
	PropSASLUsername: true, PropSASLPassword: true,
	PropSSLCALocation: true, PropSSLCertificateLocation: true, PropSSLKeyLocation: true,
	tlsconfig.PropKeystoreType: true, tlsconfig.PropKeystoreLocation: true, tlsconfig.PropKeystorePassword: true,
	tlsconfig.PropKeystoreCertificateChain: true, tlsconfig.PropKeystoreKey: true, tlsconfig.PropKeyPassword: true,
	tlsconfig.PropTruststoreType: true, tlsconfig.PropTruststoreLocation: true, tlsconfig.PropTruststorePassword: true,
	tlsconfig.PropTruststoreCertificates: true, tlsconfig.PropProtocol: true, tlsconfig.PropEnabledProtocols: true,
	tlsconfig.PropCipherSuites: true, tlsconfig.PropEndpointIdentification: true,
}

// IsSecurityProperty reports whether NewSecurity reads the property name.
// Other security.*, sasl.* and ssl.* names (Java classes such as
// sasl.login.callback.handler.class, key manager algorithms, a
// misspelling) have no effect, and a caller may say so.
func IsSecurityProperty(name string) bool { return readProperties[name] }

// Options are what a caller adds to the properties.
type Options struct {
	// Token is an OAUTHBEARER token obtained elsewhere (the command line's
	// --sasl-token-file); it replaces the token option of sasl.jaas.config.
	Token string
	// CredentialsHint and TokenHint name, for the error when a user name
	// and password or a token are missing, where else the caller takes
	// them from, such as "--sasl-username and --sasl-password".
	CredentialsHint, TokenHint string
	// TLS is the clock and reload hook of the TLS key material.
	TLS tlsconfig.Options
}

// Security is the resolved security of a client: the protocol, the SASL
// mechanism and credentials, and the TLS settings. It is immutable and
// safe for concurrent use. String shows what it does and never a secret.
type Security struct {
	Protocol  string
	Mechanism string // empty unless Protocol is SASL_*
	Username  string // PLAIN and SCRAM
	password  string
	token     string
	// scramToken marks SCRAM credentials that are a delegation token
	// (ScramLoginModule's tokenauth="true").
	scramToken bool
	// extensions are OAUTHBEARER's SASL extensions (KIP-342), from the
	// extension_NAME options of sasl.jaas.config.
	extensions map[string]string
	tls        *tlsconfig.Client // nil unless Protocol is SSL or SASL_SSL
}

// UsesSASL reports whether the protocol authenticates with SASL.
func UsesSASL(protocol string) bool {
	return protocol == ProtocolSASLPlaintext || protocol == ProtocolSASLSSL
}

// UsesTLS reports whether the protocol wraps connections in TLS.
func UsesTLS(protocol string) bool { return protocol == ProtocolSSL || protocol == ProtocolSASLSSL }

// SecurityProtocol returns the security.protocol of props, upper-cased
// (Kafka accepts any case), or PLAINTEXT, Kafka's default, when unset.
// Errors wrap ErrSecurity.
func SecurityProtocol(props map[string]string) (string, error) {
	protocol := strings.ToUpper(strings.TrimSpace(props[PropSecurityProtocol]))
	switch protocol {
	case "":
		return ProtocolPlaintext, nil
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
		return protocol, nil
	}
	return "", securityErrorf("%s %q is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", PropSecurityProtocol, protocol)
}

// SASLMechanism returns the sasl.mechanism of props (or librdkafka's
// sasl.mechanisms), upper-cased, or "" when unset. It does not check it.
func SASLMechanism(props map[string]string) string {
	mechanism := strings.TrimSpace(props[PropSASLMechanism])
	if mechanism == "" {
		mechanism = strings.TrimSpace(props[PropSASLMechanisms])
	}
	return strings.ToUpper(mechanism)
}

// NewSecurity resolves the security properties of props (others are
// ignored) and reads the files they name. Errors wrap ErrSecurity.
func NewSecurity(props map[string]string, opts Options) (*Security, error) {
	protocol, err := SecurityProtocol(props)
	if err != nil {
		return nil, err
	}
	s := &Security{Protocol: protocol}
	if UsesSASL(protocol) {
		if err := s.resolveSASL(props, opts); err != nil {
			return nil, err
		}
	}
	if UsesTLS(protocol) {
		if s.tls, err = newTLSClient(props, opts.TLS); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// String describes the settings for messages: "SASL_SSL, SCRAM-SHA-512 as alice".
func (s *Security) String() string {
	switch {
	case s.Mechanism == "":
		return s.Protocol
	case s.Username != "":
		return fmt.Sprintf("%s, %s as %s", s.Protocol, s.Mechanism, s.Username)
	default:
		return s.Protocol + ", " + s.Mechanism
	}
}

// Opts returns the kgo options that make a client connect with s: a TLS
// dialer and a SASL mechanism, each when the protocol has one. A TLS dial
// (TCP and the handshake) is bounded by dialTimeout, Kafka's
// socket.connection.setup.timeout.ms; without TLS, kgo.DialTimeout is the
// caller's.
func (s *Security) Opts(dialTimeout time.Duration) []kgo.Opt {
	var opts []kgo.Opt
	if s.tls != nil {
		opts = append(opts, kgo.Dialer(s.tlsDialer(dialTimeout)))
	}
	if m := s.SASL(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// TLSConfig returns the TLS settings for a connection to serverName, or
// nil when the protocol has no TLS. Each handshake verifies the server
// against the current trust store.
func (s *Security) TLSConfig(serverName string) *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.TLSConfig(serverName)
}

// tlsDialer verifies each broker against its own host name: the address
// the client dials (a seed, or one from metadata) is what the broker's
// certificate must name, as Kafka's ssl.endpoint.identification.algorithm
// checks it.
func (s *Security) tlsDialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("dialing %s: %w", addr, err)
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.tls.TLSConfig(host)}
		return d.DialContext(ctx, network, addr)
	}
}

func securityErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSecurity, fmt.Sprintf(format, args...))
}
