package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/tlsconfig"
)

// ErrClientSecurity marks a client security setting that cannot be used:
// a bad --command-config, security flag or file they name. Its messages
// name the setting and never contain a password, token or key.
var ErrClientSecurity = errors.New("client security settings")

// Kafka's client property names read from --command-config.
const (
	propSecurityProtocol = "security.protocol"
	propSASLMechanism    = "sasl.mechanism"
	propSASLJAASConfig   = "sasl.jaas.config"
	propLoginCallback    = "sasl.login.callback.handler.class"
)

// Kafka's security.protocol values.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// The SASL mechanisms a fjord client speaks.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// jaasTokenOption is the sasl.jaas.config option of OAuthBearerLoginModule
// that carries a ready token. Kafka gets its token from a Java login
// callback handler, which fjord cannot run; a token obtained elsewhere is
// passed as it is.
const jaasTokenOption = "token"

// maxSecretFileBytes bounds --sasl-token-file, --tls-cert and --tls-key:
// a JWT or a PEM chain is a few kilobytes; more is the wrong file.
const maxSecretFileBytes = 1 << 20

// SecurityFlags are the flags that say how a client authenticates: a Kafka
// client properties file (--command-config, as the kafka-*.sh tools take)
// and flags that override single settings of it. The zero value, with no
// flag given, is PLAINTEXT.
type SecurityFlags struct {
	commandConfig string
	protocol      string
	mechanism     string
	username      string
	password      string
	tokenFile     string
	tlsCA         string
	tlsCert       string
	tlsKey        string
}

// Register adds the security flags to fs.
func (f *SecurityFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.commandConfig, "command-config", "",
		"Kafka client properties `FILE`: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.* (the flags below override it)")
	fs.StringVar(&f.protocol, "security-protocol", "",
		"security.protocol `PROTOCOL`: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default PLAINTEXT)")
	fs.StringVar(&f.mechanism, "sasl-mechanism", "",
		"sasl.mechanism `MECHANISM`: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")
	fs.StringVar(&f.username, "sasl-username", "", "SASL user `NAME` (PLAIN, SCRAM)")
	fs.StringVar(&f.password, "sasl-password", "",
		"SASL `PASSWORD` (PLAIN, SCRAM); visible to ps and kept in shell history, so prefer sasl.jaas.config in --command-config")
	fs.StringVar(&f.tokenFile, "sasl-token-file", "",
		"`FILE` holding the OAUTHBEARER token (a JWT), instead of sasl.jaas.config's token option")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "PEM `FILE` of CA certificates to trust (ssl.truststore.location; default: the system's)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM `FILE` of the client certificate chain, for mutual TLS (with --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM `FILE` of the client's private key (with --tls-cert)")
}

// ClientSecurity is the resolved security of a client: the protocol, the
// SASL mechanism and credentials, and the TLS settings. String shows what
// it does and never a secret.
type ClientSecurity struct {
	Protocol  string
	Mechanism string // empty unless Protocol is SASL_*
	Username  string // PLAIN and SCRAM
	password  string
	token     string
	tls       *tlsconfig.Client // nil unless Protocol is SSL or SASL_SSL
}

// String describes the settings for messages: "SASL_SSL, SCRAM-SHA-512 as alice".
func (s *ClientSecurity) String() string {
	switch {
	case s.Mechanism == "":
		return s.Protocol
	case s.Username != "":
		return fmt.Sprintf("%s, %s as %s", s.Protocol, s.Mechanism, s.Username)
	default:
		return s.Protocol + ", " + s.Mechanism
	}
}

// usesSASL and usesTLS say what the protocol wraps a connection in.
func usesSASL(protocol string) bool {
	return protocol == ProtocolSASLPlaintext || protocol == ProtocolSASLSSL
}

func usesTLS(protocol string) bool { return protocol == ProtocolSSL || protocol == ProtocolSASLSSL }

// Resolve reads --command-config and the files the flags name, applies the
// flags over the properties and checks the result. Errors wrap
// ErrClientSecurity.
func (f *SecurityFlags) Resolve() (*ClientSecurity, error) {
	props := map[string]string{}
	if f.commandConfig != "" {
		var err error
		if props, err = loadCommandConfig(f.commandConfig); err != nil {
			return nil, err
		}
	}
	s := &ClientSecurity{
		Protocol:  strings.ToUpper(strings.TrimSpace(props[propSecurityProtocol])),
		Mechanism: strings.ToUpper(strings.TrimSpace(props[propSASLMechanism])),
	}
	if f.protocol != "" {
		s.Protocol = strings.ToUpper(f.protocol)
	}
	if s.Protocol == "" {
		s.Protocol = ProtocolPlaintext
	}
	switch s.Protocol {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
	default:
		return nil, securityErrorf("security.protocol %q is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", s.Protocol)
	}
	if err := f.checkFlagsFit(s.Protocol); err != nil {
		return nil, err
	}
	if usesSASL(s.Protocol) {
		if err := f.resolveSASL(s, props); err != nil {
			return nil, err
		}
	} else {
		// Kafka ignores sasl.* under a protocol without SASL; so does
		// fjord, so that one properties file can serve several listeners.
		s.Mechanism = ""
	}
	if usesTLS(s.Protocol) {
		if err := f.resolveTLS(s, props); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkFlagsFit refuses a flag the protocol would ignore: unlike a shared
// properties file, a flag on this command line is a mistake if unused.
func (f *SecurityFlags) checkFlagsFit(protocol string) error {
	type setting struct{ name, value string }
	if !usesSASL(protocol) {
		for _, given := range []setting{
			{"--sasl-mechanism", f.mechanism}, {"--sasl-username", f.username},
			{"--sasl-password", f.password}, {"--sasl-token-file", f.tokenFile},
		} {
			if given.value != "" {
				return securityErrorf("%s needs security.protocol SASL_PLAINTEXT or SASL_SSL, not %s", given.name, protocol)
			}
		}
	}
	if !usesTLS(protocol) {
		for _, given := range []setting{{"--tls-ca", f.tlsCA}, {"--tls-cert", f.tlsCert}, {"--tls-key", f.tlsKey}} {
			if given.value != "" {
				return securityErrorf("%s needs security.protocol SSL or SASL_SSL, not %s", given.name, protocol)
			}
		}
	}
	return nil
}

// resolveSASL fills the mechanism and credentials: flags first, then the
// options of sasl.jaas.config.
func (f *SecurityFlags) resolveSASL(s *ClientSecurity, props map[string]string) error {
	if f.mechanism != "" {
		s.Mechanism = strings.ToUpper(f.mechanism)
	}
	switch s.Mechanism {
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512, MechanismOAuthBearer:
	case "":
		return securityErrorf("%s needs sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER); "+
			"Kafka's default, GSSAPI, is not supported", s.Protocol)
	default:
		return securityErrorf("sasl.mechanism %q is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", s.Mechanism)
	}
	options := map[string]string{}
	if v := props[propSASLJAASConfig]; v != "" {
		entry, err := config.ParseJAAS(v)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrClientSecurity, err)
		}
		options = entry.Options
	}
	if s.Mechanism == MechanismOAuthBearer {
		return f.resolveToken(s, options, props)
	}
	if f.tokenFile != "" {
		return securityErrorf("--sasl-token-file is for OAUTHBEARER, not %s", s.Mechanism)
	}
	s.Username, s.password = options["username"], options["password"]
	if f.username != "" {
		s.Username = f.username
	}
	if f.password != "" {
		s.password = f.password
	}
	if s.Username == "" || s.password == "" {
		return securityErrorf("%s needs a user name and a password: --sasl-username and --sasl-password, "+
			"or username and password options in sasl.jaas.config", s.Mechanism)
	}
	return nil
}

// resolveToken fills the OAUTHBEARER token from --sasl-token-file or the
// token option of sasl.jaas.config.
func (f *SecurityFlags) resolveToken(s *ClientSecurity, options, props map[string]string) error {
	if f.username != "" || f.password != "" {
		return securityErrorf("--sasl-username and --sasl-password are not used by OAUTHBEARER; give a token")
	}
	s.token = options[jaasTokenOption]
	if f.tokenFile != "" {
		b, err := readSmallFile(f.tokenFile, "--sasl-token-file")
		if err != nil {
			return err
		}
		s.token = string(bytes.TrimSpace(b))
	}
	if s.token == "" {
		hint := ""
		if props[propLoginCallback] != "" {
			hint = "; fjord cannot run " + propLoginCallback
		}
		return securityErrorf("OAUTHBEARER needs a token: --sasl-token-file, or a %s=\"...\" option in sasl.jaas.config%s",
			jaasTokenOption, hint)
	}
	return nil
}

// resolveTLS builds the TLS client from the ssl.* properties, with
// --tls-ca replacing the trust store and --tls-cert/--tls-key the key store.
func (f *SecurityFlags) resolveTLS(s *ClientSecurity, props map[string]string) error {
	ssl := map[string]string{}
	for k, v := range props {
		if strings.HasPrefix(k, "ssl.") {
			ssl[k] = v
		}
	}
	if f.tlsCA != "" {
		delete(ssl, tlsconfig.PropTruststoreCertificates)
		ssl[tlsconfig.PropTruststoreLocation] = f.tlsCA
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return securityErrorf("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		chain, err := readSmallFile(f.tlsCert, "--tls-cert")
		if err != nil {
			return err
		}
		key, err := readSmallFile(f.tlsKey, "--tls-key")
		if err != nil {
			return err
		}
		delete(ssl, tlsconfig.PropKeystoreLocation)
		ssl[tlsconfig.PropKeystoreCertificateChain] = string(chain)
		ssl[tlsconfig.PropKeystoreKey] = string(key)
	}
	c, err := tlsconfig.NewClient(ssl, tlsconfig.Options{})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrClientSecurity, err)
	}
	s.tls = c
	return nil
}

// loadCommandConfig reads a Kafka client properties file.
func loadCommandConfig(path string) (map[string]string, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --command-config: %w", ErrClientSecurity, err)
	}
	defer file.Close()
	props, err := config.LoadProperties(file)
	if err != nil {
		return nil, fmt.Errorf("%w: --command-config %s: %w", ErrClientSecurity, path, err)
	}
	return props, nil
}

// readSmallFile reads a file a flag names, bounded by maxSecretFileBytes.
func readSmallFile(path, flagName string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrClientSecurity, flagName, err)
	}
	if info.Size() > maxSecretFileBytes {
		return nil, securityErrorf("%s: %s has %d bytes, more than %d", flagName, path, info.Size(), maxSecretFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrClientSecurity, flagName, err)
	}
	return b, nil
}

func securityErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrClientSecurity, fmt.Sprintf(format, args...))
}

// Opts returns the kgo options that make a client connect with s. A dial
// (TCP and, with TLS, the handshake) is bounded by dialTimeout.
func (s *ClientSecurity) Opts(dialTimeout time.Duration) []kgo.Opt {
	var opts []kgo.Opt
	if s.tls != nil {
		opts = append(opts, kgo.Dialer(s.tlsDialer(dialTimeout)))
	}
	if m := s.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts
}

// tlsDialer verifies each broker against its own host name: the address
// the client dials (a seed, or one from metadata) is what the broker's
// certificate must name, as Kafka's ssl.endpoint.identification.algorithm
// checks it.
func (s *ClientSecurity) tlsDialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("dialing %s: %w", addr, err)
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: s.tls.TLSConfig(host)}
		return d.DialContext(ctx, network, addr)
	}
}

func (s *ClientSecurity) saslMechanism() sasl.Mechanism {
	switch s.Mechanism {
	case MechanismPlain:
		return plain.Auth{User: s.Username, Pass: s.password}.AsMechanism()
	case MechanismScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.password}.AsSha256Mechanism()
	case MechanismScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.password}.AsSha512Mechanism()
	case MechanismOAuthBearer:
		return oauth.Auth{Token: s.token}.AsMechanism()
	}
	return nil
}
