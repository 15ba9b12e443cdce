package tlsconfig

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// Kafka's property names (SslConfigs and BrokerSecurityConfigs).
const (
	PropKeystoreType              = "ssl.keystore.type"
	PropKeystoreLocation          = "ssl.keystore.location"
	PropKeystorePassword          = "ssl.keystore.password"
	PropKeystoreCertificateChain  = "ssl.keystore.certificate.chain"
	PropKeystoreKey               = "ssl.keystore.key"
	PropKeyPassword               = "ssl.key.password"
	PropTruststoreType            = "ssl.truststore.type"
	PropTruststoreLocation        = "ssl.truststore.location"
	PropTruststorePassword        = "ssl.truststore.password"
	PropTruststoreCertificates    = "ssl.truststore.certificates"
	PropClientAuth                = "ssl.client.auth"
	PropProtocol                  = "ssl.protocol"
	PropEnabledProtocols          = "ssl.enabled.protocols"
	PropCipherSuites              = "ssl.cipher.suites"
	PropEndpointIdentification    = "ssl.endpoint.identification.algorithm"
	PropPrincipalMappingRules     = "ssl.principal.mapping.rules"
	listenerPrefixFormat          = "listener.name.%s."
	defaultEndpointIdentification = "https"
)

// ErrConfig marks every configuration error of this package, so a caller
// can tell a bad property (refuse to start) from an I/O failure.
var ErrConfig = errors.New("invalid TLS configuration")

// configError wraps ErrConfig with the property name and the reason.
func configError(property, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrConfig, property, fmt.Sprintf(format, args...))
}

// properties resolves a property with the listener override rule: for
// listener "EXTERNAL", listener.name.external.ssl.X wins over ssl.X. Kafka
// lower-cases the listener name in the prefix (ListenerName.configPrefix).
type properties struct {
	values map[string]string
	prefix string
}

func newProperties(values map[string]string, listenerName string) properties {
	p := properties{values: values}
	if listenerName != "" {
		p.prefix = fmt.Sprintf(listenerPrefixFormat, strings.ToLower(listenerName))
	}
	return p
}

// get returns the effective value and the name it was found under, so that
// errors name the property the operator actually wrote.
func (p properties) get(name string) (value, source string, ok bool) {
	if p.prefix != "" {
		if v, ok := p.values[p.prefix+name]; ok {
			return v, p.prefix + name, true
		}
	}
	v, ok := p.values[name]
	return v, name, ok
}

// str returns the trimmed value, "" when unset, and the source name.
func (p properties) str(name string) (string, string) {
	v, source, _ := p.get(name)
	return strings.TrimSpace(v), source
}

// list splits a Kafka LIST value: comma separated, items trimmed, empty
// items dropped.
func (p properties) list(name string) ([]string, string) {
	v, source := p.str(name)
	var items []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items, source
}

// ClientAuth is ssl.client.auth.
type ClientAuth int

const (
	ClientAuthNone ClientAuth = iota
	ClientAuthRequested
	ClientAuthRequired
)

func (a ClientAuth) String() string {
	switch a {
	case ClientAuthRequested:
		return "requested"
	case ClientAuthRequired:
		return "required"
	default:
		return "none"
	}
}

// tlsClientAuth maps Kafka's modes to Go's. "requested" is Java's
// wantClientAuth: no certificate is fine, an untrusted one fails.
func (a ClientAuth) tlsClientAuth() tls.ClientAuthType {
	switch a {
	case ClientAuthRequested:
		return tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		return tls.RequireAndVerifyClientCert
	default:
		return tls.NoClientCert
	}
}

func parseClientAuth(p properties) (ClientAuth, error) {
	v, source := p.str(PropClientAuth)
	// Kafka validates against its enum case-insensitively.
	switch strings.ToLower(v) {
	case "", "none":
		return ClientAuthNone, nil
	case "requested":
		return ClientAuthRequested, nil
	case "required":
		return ClientAuthRequired, nil
	}
	return 0, configError(source, "%q is not one of none, requested, required", v)
}

// protocolVersion maps Kafka's protocol names to Go's versions. Older
// protocols get their own message: they are known and refused on purpose.
func protocolVersion(source, name string) (uint16, error) {
	switch name {
	case "TLSv1.2":
		return tls.VersionTLS12, nil
	case "TLSv1.3":
		return tls.VersionTLS13, nil
	case "TLSv1", "TLSv1.1", "SSLv2", "SSLv3", "SSLv2Hello":
		return 0, configError(source, "%s is insecure and not supported; use TLSv1.2 or TLSv1.3", name)
	}
	return 0, configError(source, "unknown protocol %q; use TLSv1.2 or TLSv1.3", name)
}

// versions holds the negotiable range; the minimum is never below TLS 1.2.
type versions struct {
	min, max uint16
}

// parseVersions reads ssl.enabled.protocols (default TLSv1.2,TLSv1.3) and
// ssl.protocol (default TLSv1.3). Go negotiates a contiguous range, so the
// enabled set becomes [lowest, highest]. ssl.protocol caps a client's
// highest version, as Kafka documents for TLSv1.2; "TLS" means no cap.
func parseVersions(p properties, client bool) (versions, error) {
	enabled, source := p.list(PropEnabledProtocols)
	if len(enabled) == 0 {
		enabled = []string{"TLSv1.2", "TLSv1.3"}
	}
	v := versions{min: tls.VersionTLS13, max: tls.VersionTLS12}
	for _, name := range enabled {
		version, err := protocolVersion(source, name)
		if err != nil {
			return versions{}, err
		}
		v.min = min(v.min, version)
		v.max = max(v.max, version)
	}
	protocol, source := p.str(PropProtocol)
	if protocol == "" || protocol == "TLS" {
		return v, nil
	}
	capVersion, err := protocolVersion(source, protocol)
	if err != nil {
		return versions{}, err
	}
	if client && capVersion < v.max {
		v.max = capVersion
		if v.min > v.max {
			return versions{}, configError(source, "%s excludes every protocol of %s", protocol, PropEnabledProtocols)
		}
	}
	return v, nil
}

// parseCipherSuites maps IANA names (Java uses them too) to Go's IDs. Nil
// means Go's defaults. TLS 1.3 suites are accepted but not configurable in
// Go, which always enables its TLS 1.3 suites.
func parseCipherSuites(p properties) ([]uint16, error) {
	names, source := p.list(PropCipherSuites)
	if len(names) == 0 {
		return nil, nil
	}
	known := make(map[string]uint16)
	for _, suite := range tls.CipherSuites() {
		known[suite.Name] = suite.ID
	}
	insecure := make(map[string]bool)
	for _, suite := range tls.InsecureCipherSuites() {
		insecure[suite.Name] = true
	}
	var ids []uint16
	for _, name := range names {
		id, ok := known[name]
		switch {
		case insecure[name]:
			return nil, configError(source, "cipher suite %s is insecure and not supported", name)
		case !ok:
			return nil, configError(source, "unknown cipher suite %q (use IANA names such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", name)
		case isTLS13Suite(id):
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		// Only TLS 1.3 names: leave TLS 1.2 at Go's defaults rather than
		// enabling none.
		return nil, nil
	}
	return ids, nil
}

func isTLS13Suite(id uint16) bool {
	switch id {
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256:
		return true
	}
	return false
}

// parseEndpointIdentification reads the client-side host name check:
// "https" (the default) verifies the host name, "" only the chain.
func parseEndpointIdentification(p properties) (bool, error) {
	v, source, ok := p.get(PropEndpointIdentification)
	if !ok {
		return true, nil
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return false, nil
	case defaultEndpointIdentification:
		return true, nil
	}
	return false, configError(source, "%q is not supported; use \"https\" or \"\"", v)
}

// storeType checks ssl.keystore.type / ssl.truststore.type. Unset means PEM
// (Kafka defaults to JKS, which fjord cannot read).
func storeType(p properties, name string) error {
	v, source := p.str(name)
	switch strings.ToUpper(v) {
	case "", "PEM":
		return nil
	case "JKS", "PKCS12":
		return configError(source, "%s is not supported; convert the store to PEM (keytool -importkeystore to PKCS12, then openssl pkcs12 -nodes) and set %s=PEM", v, name)
	}
	return configError(source, "unknown store type %q; only PEM is supported", v)
}
