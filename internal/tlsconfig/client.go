package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Client is the TLS side of outgoing connections with security.protocol
// SSL or SASL_SSL: the broker's inter-broker and controller clients and the
// CLI. It reads the same ssl.* properties; a key store is optional and is
// sent when the server asks for a certificate (mutual TLS).
type Client struct {
	store          *store
	versions       versions
	suites         []uint16
	verifyHostname bool
}

// NewClient builds client TLS settings from Kafka's ssl.* properties
// (no listener prefix: a client has none). Errors wrap ErrConfig and name
// the property.
func NewClient(props map[string]string, opts Options) (*Client, error) {
	p := newProperties(props, "")
	src, err := parseSources(p)
	if err != nil {
		return nil, err
	}
	v, err := parseVersions(p, true)
	if err != nil {
		return nil, err
	}
	suites, err := parseCipherSuites(p)
	if err != nil {
		return nil, err
	}
	verifyHostname, err := parseEndpointIdentification(p)
	if err != nil {
		return nil, err
	}
	c := &Client{versions: v, suites: suites, verifyHostname: verifyHostname}
	if c.store, err = newStore(src, opts, func(*material) {}); err != nil {
		return nil, err
	}
	return c, nil
}

// TLSConfig returns a config for connections to serverName (a host name or
// IP address, checked against the server certificate when
// ssl.endpoint.identification.algorithm is https). Each handshake uses the
// current generation of key material.
func (c *Client) TLSConfig(serverName string) *tls.Config {
	return &tls.Config{
		ServerName:   serverName,
		MinVersion:   c.versions.min,
		MaxVersion:   c.versions.max,
		CipherSuites: c.suites,
		// Go's own verification reads RootCAs once per config, which would pin
		// the trust store of the moment the config was made. Verification is
		// instead done in VerifyConnection against the current generation,
		// for every handshake including resumed ones.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return c.verifyServer(cs, serverName)
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert := c.store.material().certificate; cert != nil {
				return cert, nil
			}
			return &tls.Certificate{}, nil // no key store: send no certificate
		},
	}
}

// Reload re-reads the store files now if they changed, or always with
// force. On error the previous material stays in use.
func (c *Client) Reload(force bool) error { return c.store.reload(force) }

// verifyServer checks the server's chain against the trust store and, with
// endpoint identification, the host name.
func (c *Client) verifyServer(cs tls.ConnectionState, serverName string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: server presented no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         c.store.material().roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, cert := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(cert)
	}
	if c.verifyHostname {
		if serverName == "" {
			return fmt.Errorf("tls: %s=https needs a server name", PropEndpointIdentification)
		}
		opts.DNSName = serverName
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return fmt.Errorf("tls: server certificate: %w", err)
	}
	return nil
}
