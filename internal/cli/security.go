package cli

import (
	"bytes"
	"flag"
	"fmt"
	"maps"

	"github.com/fjordhq/fjord/internal/clientconf"
	"github.com/fjordhq/fjord/internal/tlsconfig"
)

// ErrClientSecurity marks a client security setting that cannot be used:
// a bad --command-config, security flag or file they name. Its messages
// name the setting and never contain a password, token or key.
var ErrClientSecurity = clientconf.ErrSecurity

// Kafka's security.protocol values.
const (
	ProtocolPlaintext     = clientconf.ProtocolPlaintext
	ProtocolSSL           = clientconf.ProtocolSSL
	ProtocolSASLPlaintext = clientconf.ProtocolSASLPlaintext
	ProtocolSASLSSL       = clientconf.ProtocolSASLSSL
)

// The SASL mechanisms a fjord client speaks.
const (
	MechanismPlain       = clientconf.MechanismPlain
	MechanismScramSHA256 = clientconf.MechanismScramSHA256
	MechanismScramSHA512 = clientconf.MechanismScramSHA512
	MechanismOAuthBearer = clientconf.MechanismOAuthBearer
)

// ClientSecurity is the resolved security of a client (see
// clientconf.Security): String shows what it does and never a secret, and
// Opts gives the kgo options.
type ClientSecurity = clientconf.Security

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
	// base holds the properties of the profile in use, under
	// --command-config and the flags.
	base map[string]string
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

// Resolve reads --command-config, applies the flags over its properties
// and resolves the result with clientconf, which reads the files they
// name. Errors wrap ErrClientSecurity.
func (f *SecurityFlags) Resolve() (*ClientSecurity, error) {
	props, err := f.properties()
	if err != nil {
		return nil, err
	}
	return f.resolve(props)
}

// properties are the client properties the flags say: the profile's,
// then --command-config's over them, then the single flags.
func (f *SecurityFlags) properties() (map[string]string, error) {
	props := maps.Clone(f.base)
	if props == nil {
		props = map[string]string{}
	}
	if f.commandConfig != "" {
		file, err := clientconf.LoadProperties(f.commandConfig)
		if err != nil {
			return nil, fmt.Errorf("%w: --command-config: %w", ErrClientSecurity, err)
		}
		maps.Copy(props, file)
	}
	f.override(props)
	return props, nil
}

// resolve checks that the flags given fit the properties and resolves
// them, reading --sasl-token-file.
func (f *SecurityFlags) resolve(props map[string]string) (*ClientSecurity, error) {
	protocol, err := clientconf.SecurityProtocol(props)
	if err != nil {
		return nil, err
	}
	mechanism := clientconf.SASLMechanism(props)
	if err := f.checkFlagsFit(protocol, mechanism); err != nil {
		return nil, err
	}
	opts := clientconf.Options{
		CredentialsHint: "--sasl-username and --sasl-password",
		TokenHint:       "--sasl-token-file",
	}
	if f.tokenFile != "" && mechanism == MechanismOAuthBearer {
		b, err := clientconf.ReadSecretFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("%w: --sasl-token-file: %w", ErrClientSecurity, err)
		}
		opts.Token = string(bytes.TrimSpace(b))
	}
	return clientconf.NewSecurity(props, opts)
}

// override writes the flags given over the properties, by the names
// clientconf reads: --tls-ca replaces the trust store, --tls-cert and
// --tls-key the key store (as librdkafka's ssl.certificate.location and
// ssl.key.location).
func (f *SecurityFlags) override(props map[string]string) {
	set := func(name, value string) {
		if value != "" {
			props[name] = value
		}
	}
	set(clientconf.PropSecurityProtocol, f.protocol)
	set(clientconf.PropSASLMechanism, f.mechanism)
	set(clientconf.PropSASLUsername, f.username)
	set(clientconf.PropSASLPassword, f.password)
	if f.tlsCA != "" {
		delete(props, tlsconfig.PropTruststoreCertificates)
		delete(props, clientconf.PropSSLCALocation)
		props[tlsconfig.PropTruststoreLocation] = f.tlsCA
	}
	if f.tlsCert != "" || f.tlsKey != "" {
		delete(props, tlsconfig.PropKeystoreLocation)
		delete(props, tlsconfig.PropKeystoreKey)
		delete(props, tlsconfig.PropKeystoreCertificateChain)
		props[clientconf.PropSSLCertificateLocation] = f.tlsCert
		props[clientconf.PropSSLKeyLocation] = f.tlsKey
	}
}

// checkFlagsFit refuses a flag the protocol or mechanism would ignore:
// unlike a shared properties file, a flag on this command line is a
// mistake if unused.
func (f *SecurityFlags) checkFlagsFit(protocol, mechanism string) error {
	type setting struct{ name, value string }
	if !clientconf.UsesSASL(protocol) {
		for _, given := range []setting{
			{"--sasl-mechanism", f.mechanism}, {"--sasl-username", f.username},
			{"--sasl-password", f.password}, {"--sasl-token-file", f.tokenFile},
		} {
			if given.value != "" {
				return securityErrorf("%s needs security.protocol SASL_PLAINTEXT or SASL_SSL, not %s", given.name, protocol)
			}
		}
	}
	if !clientconf.UsesTLS(protocol) {
		for _, given := range []setting{{"--tls-ca", f.tlsCA}, {"--tls-cert", f.tlsCert}, {"--tls-key", f.tlsKey}} {
			if given.value != "" {
				return securityErrorf("%s needs security.protocol SSL or SASL_SSL, not %s", given.name, protocol)
			}
		}
	}
	switch mechanism {
	case MechanismOAuthBearer:
		if f.username != "" || f.password != "" {
			return securityErrorf("--sasl-username and --sasl-password are not used by OAUTHBEARER; give a token")
		}
	case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
		if f.tokenFile != "" {
			return securityErrorf("--sasl-token-file is for OAUTHBEARER, not %s", mechanism)
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return securityErrorf("--tls-cert and --tls-key go together")
	}
	return nil
}

func securityErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrClientSecurity, fmt.Sprintf(format, args...))
}
