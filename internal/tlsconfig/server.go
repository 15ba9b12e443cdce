package tlsconfig

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Server is the TLS side of one SSL or SASL_SSL listener.
type Server struct {
	store      *store
	clientAuth ClientAuth
	rules      *MappingRules
	template   *tls.Config // settings that never change; cloned per generation
	config     *tls.Config // what the listener uses; delegates per handshake
}

// NewServer builds a listener's TLS settings from Kafka's ssl.* properties,
// where listener.name.<listenerName>.ssl.X overrides ssl.X ("" for no
// listener overrides). A key store is required. Every property is checked
// and the stores are loaded now; errors wrap ErrConfig and name the property.
func NewServer(props map[string]string, listenerName string, opts Options) (*Server, error) {
	p := newProperties(props, listenerName)
	src, err := parseSources(p)
	if err != nil {
		return nil, err
	}
	if !src.keystore.set() {
		return nil, configError(PropKeystoreLocation, "a listener needs a key store: set %s or %s and %s",
			PropKeystoreLocation, PropKeystoreKey, PropKeystoreCertificateChain)
	}
	clientAuth, err := parseClientAuth(p)
	if err != nil {
		return nil, err
	}
	v, err := parseVersions(p, false)
	if err != nil {
		return nil, err
	}
	suites, err := parseCipherSuites(p)
	if err != nil {
		return nil, err
	}
	rulesText, rulesSource := p.str(PropPrincipalMappingRules)
	rules, err := ParseMappingRules(rulesText)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrConfig, rulesSource, err)
	}
	s := &Server{
		clientAuth: clientAuth,
		rules:      rules,
		template: &tls.Config{
			MinVersion:   v.min,
			MaxVersion:   v.max,
			CipherSuites: suites,
			ClientAuth:   clientAuth.tlsClientAuth(),
		},
	}
	if s.store, err = newStore(src, opts, s.finish); err != nil {
		return nil, err
	}
	s.config = &tls.Config{
		MinVersion: v.min,
		MaxVersion: v.max,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.store.material().server, nil
		},
	}
	return s, nil
}

// finish derives the generation's full server config.
func (s *Server) finish(m *material) {
	config := s.template.Clone()
	config.Certificates = []tls.Certificate{*m.certificate}
	config.ClientCAs = m.roots
	// A fresh ticket key per generation: tickets issued before a reload
	// cannot resume a session after it (see the package comment).
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // crypto/rand does not fail on supported platforms
	}
	config.SetSessionTicketKeys([][32]byte{key})
	m.server = config
}

// TLSConfig is the config for the listener's tls.NewListener or
// tls.Server. Each handshake takes the current generation of key material.
// Do not modify the returned config.
func (s *Server) TLSConfig() *tls.Config { return s.config }

// Reload re-reads the store files now if they changed, or always with
// force. On error the previous material stays in use.
func (s *Server) Reload(force bool) error { return s.store.reload(force) }

// ClientAuth is the effective ssl.client.auth.
func (s *Server) ClientAuth() ClientAuth { return s.clientAuth }

// Principal is the Kafka principal of a finished handshake on this
// listener: "User:<mapped DN>" for a client certificate, "User:ANONYMOUS"
// without one. An error (no rule matched, or a subject that cannot be
// parsed) means the connection must be closed, as Kafka fails the
// authentication then.
func (s *Server) Principal(cs tls.ConnectionState) (string, error) {
	principal, ok, err := PrincipalFromState(cs, s.rules)
	if err != nil {
		return "", err
	}
	if !ok {
		return AnonymousPrincipal, nil
	}
	return principal, nil
}

// parseSources reads the key store and trust store properties with Kafka's
// consistency rules (DefaultSslEngineFactory).
func parseSources(p properties) (sources, error) {
	var src sources
	if err := storeType(p, PropKeystoreType); err != nil {
		return src, err
	}
	if err := storeType(p, PropTruststoreType); err != nil {
		return src, err
	}
	location, locationProp := p.str(PropKeystoreLocation)
	key, keyProp := p.str(PropKeystoreKey)
	chain, chainProp := p.str(PropKeystoreCertificateChain)
	if password(p, PropKeystorePassword) {
		_, prop := p.str(PropKeystorePassword)
		return src, configError(prop, "not used with PEM key stores; set %s for an encrypted key", PropKeyPassword)
	}
	if password(p, PropTruststorePassword) {
		_, prop := p.str(PropTruststorePassword)
		return src, configError(prop, "not used with PEM trust stores")
	}
	switch {
	case key != "" && location != "":
		return src, configError(keyProp, "both %s and %s are set; use one", locationProp, keyProp)
	case key != "" && chain == "":
		return src, configError(chainProp, "%s is set but %s is not", keyProp, chainProp)
	case key == "" && chain != "":
		return src, configError(keyProp, "%s is set but %s is not", chainProp, keyProp)
	case key != "":
		src.keystore = keySource{property: keyProp, inline: key}
		src.chain = keySource{property: chainProp, inline: chain}
	case location != "":
		src.keystore = keySource{property: locationProp, path: location}
	}
	if password(p, PropKeyPassword) {
		v, prop, _ := p.get(PropKeyPassword)
		if !src.keystore.set() {
			return src, configError(prop, "set without a key store")
		}
		src.keyPassword, src.hasPassword = v, true
	}
	trustLocation, trustLocationSource := p.str(PropTruststoreLocation)
	trustCerts, trustCertsSource := p.str(PropTruststoreCertificates)
	switch {
	case trustLocation != "" && trustCerts != "":
		return src, configError(trustCertsSource, "both %s and %s are set; use one", trustLocationSource, trustCertsSource)
	case trustCerts != "":
		src.truststore = keySource{property: trustCertsSource, inline: trustCerts}
	case trustLocation != "":
		src.truststore = keySource{property: trustLocationSource, path: trustLocation}
	}
	return src, nil
}

// password reports whether a password property is set to a non-empty value.
func password(p properties, name string) bool {
	v, _, ok := p.get(name)
	return ok && v != ""
}

// checkKeyMatches refuses a key store whose key is not the leaf's, which
// would otherwise fail every handshake.
func checkKeyMatches(leaf *x509.Certificate, key crypto.PrivateKey) error {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return errors.New("unsupported private key type")
	}
	public, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !public.Equal(leaf.PublicKey) {
		return errors.New("the private key does not match the first certificate of the chain")
	}
	return nil
}
