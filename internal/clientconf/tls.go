package clientconf

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fjordhq/fjord/internal/tlsconfig"
)

// MaxSecretFileBytes bounds a certificate, key or token file read whole: a
// JWT or a PEM chain is a few kilobytes; more is the wrong file.
const MaxSecretFileBytes = 1 << 20

// ReadSecretFile reads a certificate, key or token file, refusing one over
// MaxSecretFileBytes. The error names the file, never its content.
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxSecretFileBytes {
		return nil, fmt.Errorf("%s has more than %d bytes", path, MaxSecretFileBytes)
	}
	return b, nil
}

// newTLSClient builds the TLS side from the ssl.* properties, with
// librdkafka's names read as Kafka's.
func newTLSClient(props map[string]string, opts tlsconfig.Options) (*tlsconfig.Client, error) {
	ssl := map[string]string{}
	for k, v := range props {
		if strings.HasPrefix(k, "ssl.") {
			ssl[k] = v
		}
	}
	if err := mapTrustLocation(ssl); err != nil {
		return nil, err
	}
	note, err := mapKeyLocations(ssl)
	if err != nil {
		return nil, err
	}
	// librdkafka spells "no host name check" none; Kafka leaves it empty.
	if v := ssl[tlsconfig.PropEndpointIdentification]; strings.EqualFold(strings.TrimSpace(v), "none") {
		ssl[tlsconfig.PropEndpointIdentification] = ""
	}
	c, err := tlsconfig.NewClient(ssl, opts)
	if err != nil {
		if msg := err.Error(); !strings.Contains(msg, tlsconfig.PropKeystoreKey) &&
			!strings.Contains(msg, tlsconfig.PropKeystoreCertificateChain) {
			note = ""
		}
		return nil, fmt.Errorf("%w: %w%s", ErrSecurity, err, note)
	}
	return c, nil
}

// mapTrustLocation reads librdkafka's ssl.ca.location, a PEM file of CA
// certificates, as ssl.truststore.location. librdkafka's other forms, a
// directory and "probe", have no Kafka equivalent.
func mapTrustLocation(ssl map[string]string) error {
	ca := strings.TrimSpace(ssl[PropSSLCALocation])
	delete(ssl, PropSSLCALocation)
	if ca == "" {
		return nil
	}
	for _, other := range []string{tlsconfig.PropTruststoreLocation, tlsconfig.PropTruststoreCertificates} {
		if strings.TrimSpace(ssl[other]) != "" {
			return securityErrorf("both %s and %s are set; use one", PropSSLCALocation, other)
		}
	}
	if ca == "probe" {
		return securityErrorf("%s=probe is not supported; leave it unset to trust the system's CAs", PropSSLCALocation)
	}
	if info, err := os.Stat(ca); err == nil && info.IsDir() {
		return securityErrorf("%s: %s is a directory; give one PEM file of CA certificates", PropSSLCALocation, ca)
	}
	ssl[tlsconfig.PropTruststoreLocation] = ca
	return nil
}

// mapKeyLocations reads librdkafka's ssl.certificate.location and
// ssl.key.location, two PEM files, into the inline key store. Unlike a key
// store file they are read once, not reloaded. The note says where the key
// store came from, for errors that name the inline properties.
func mapKeyLocations(ssl map[string]string) (note string, err error) {
	cert := strings.TrimSpace(ssl[PropSSLCertificateLocation])
	key := strings.TrimSpace(ssl[PropSSLKeyLocation])
	delete(ssl, PropSSLCertificateLocation)
	delete(ssl, PropSSLKeyLocation)
	if cert == "" && key == "" {
		return "", nil
	}
	if cert == "" || key == "" {
		return "", securityErrorf("%s and %s go together", PropSSLCertificateLocation, PropSSLKeyLocation)
	}
	for _, other := range []string{tlsconfig.PropKeystoreLocation, tlsconfig.PropKeystoreKey, tlsconfig.PropKeystoreCertificateChain} {
		if strings.TrimSpace(ssl[other]) != "" {
			return "", securityErrorf("both %s and %s are set; use one", PropSSLCertificateLocation, other)
		}
	}
	chain, err := ReadSecretFile(cert)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSecurity, PropSSLCertificateLocation, err)
	}
	keyPEM, err := ReadSecretFile(key)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrSecurity, PropSSLKeyLocation, err)
	}
	ssl[tlsconfig.PropKeystoreCertificateChain] = string(chain)
	ssl[tlsconfig.PropKeystoreKey] = string(keyPEM)
	return fmt.Sprintf(" (read from %s %s and %s %s)", PropSSLCertificateLocation, cert, PropSSLKeyLocation, key), nil
}
