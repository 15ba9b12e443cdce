package tlsconfig

import (
	"crypto/tls"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerConfigErrors(t *testing.T) {
	p := newPKI(t)
	garbage := writeFile(t, p.dir, "garbage.jks", []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2})
	certOnly := writeFile(t, p.dir, "cert-only.pem", p.client.certPEM)
	mismatch := writeFile(t, p.dir, "mismatch.pem", append(append([]byte{}, p.client.keyPEM...), p.ca.pem...))
	for _, tc := range []struct {
		name     string
		props    map[string]string
		property string // the property the error must name
		mention  string
	}{
		{"JKS key store", map[string]string{PropKeystoreType: "JKS"}, PropKeystoreType, "PEM"},
		{"PKCS12 trust store", map[string]string{PropTruststoreType: "PKCS12"}, PropTruststoreType, "PEM"},
		{"unknown store type", map[string]string{PropKeystoreType: "BKS"}, PropKeystoreType, "only PEM"},
		{"TLSv1.1", map[string]string{PropEnabledProtocols: "TLSv1.2,TLSv1.1"}, PropEnabledProtocols, "insecure"},
		{"TLSv1", map[string]string{PropProtocol: "TLSv1"}, PropProtocol, "insecure"},
		{"unknown protocol", map[string]string{PropEnabledProtocols: "TLSv9"}, PropEnabledProtocols, "unknown protocol"},
		{"unknown cipher", map[string]string{PropCipherSuites: "TLS_FOO"}, PropCipherSuites, "unknown cipher suite"},
		{"insecure cipher", map[string]string{PropCipherSuites: "TLS_RSA_WITH_RC4_128_SHA"}, PropCipherSuites, "insecure"},
		{"client auth", map[string]string{PropClientAuth: "always"}, PropClientAuth, "none, requested, required"},
		{"rules", map[string]string{PropPrincipalMappingRules: "RULE:x"}, PropPrincipalMappingRules, "invalid rule"},
		{"rules lookahead", map[string]string{PropPrincipalMappingRules: "RULE:(?=a)/b/"}, PropPrincipalMappingRules, "lookahead"},
		{"no key store", map[string]string{PropKeystoreLocation: ""}, PropKeystoreLocation, "needs a key store"},
		{"missing file", map[string]string{PropKeystoreLocation: filepath.Join(p.dir, "nope.pem")}, PropKeystoreLocation, "no such file"},
		{"binary key store", map[string]string{PropKeystoreLocation: garbage}, PropKeystoreLocation, "no PEM"},
		{"no key", map[string]string{PropKeystoreLocation: certOnly}, PropKeystoreLocation, "no PEM PRIVATE KEY"},
		{"key not the leaf's", map[string]string{PropKeystoreLocation: mismatch}, PropKeystoreLocation, "does not match"},
		{"keystore password", map[string]string{PropKeystorePassword: "x"}, PropKeystorePassword, "not used with PEM"},
		{"truststore password", map[string]string{PropTruststorePassword: "x"}, PropTruststorePassword, "not used with PEM"},
		{"key password on plain key", map[string]string{PropKeyPassword: "x"}, PropKeystoreLocation, "not encrypted"},
		{"inline key and location", map[string]string{PropKeystoreKey: string(p.client.keyPEM), PropKeystoreCertificateChain: string(p.client.certPEM)}, PropKeystoreKey, "use one"},
		{"inline key without chain", map[string]string{PropKeystoreLocation: "", PropKeystoreKey: string(p.client.keyPEM)}, PropKeystoreCertificateChain, "is not"},
		{"trust location and inline", map[string]string{PropTruststoreCertificates: string(p.ca.pem)}, PropTruststoreCertificates, "use one"},
		{"empty trust store", map[string]string{PropTruststoreLocation: certOnly + ".missing"}, PropTruststoreLocation, "no such file"},
		{"listener override named", map[string]string{"listener.name.external." + PropClientAuth: "sometimes"}, "listener.name.external." + PropClientAuth, "none, requested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewServer(p.serverProps(tc.props), "EXTERNAL", Options{})
			if err == nil {
				t.Fatal("NewServer succeeded")
			}
			if !strings.Contains(err.Error(), tc.property+":") || !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q should name %s and mention %q", err, tc.property, tc.mention)
			}
		})
	}
}

func TestClientConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		props    map[string]string
		property string
	}{
		{map[string]string{PropEndpointIdentification: "ldaps"}, PropEndpointIdentification},
		{map[string]string{PropProtocol: "TLSv1.2", PropEnabledProtocols: "TLSv1.3"}, PropProtocol},
		{map[string]string{PropKeystoreCertificateChain: "x"}, PropKeystoreKey},
	} {
		_, err := NewClient(tc.props, Options{})
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.property) {
			t.Errorf("NewClient(%v) = %v, want an ErrConfig naming %s", tc.props, err, tc.property)
		}
	}
}

func TestListenerOverride(t *testing.T) {
	p := newPKI(t)
	props := p.serverProps(map[string]string{
		PropClientAuth: "none",
		"listener.name.internal." + PropClientAuth:  "required",
		"listener.name.internal." + PropKeystoreKey: "", // empty: falls to location
	})
	internal, err := NewServer(props, "INTERNAL", Options{})
	if err != nil {
		t.Fatal(err)
	}
	external, err := NewServer(props, "EXTERNAL", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if internal.ClientAuth() != ClientAuthRequired || external.ClientAuth() != ClientAuthNone {
		t.Errorf("client auth internal=%v external=%v", internal.ClientAuth(), external.ClientAuth())
	}
}

func TestInlinePEMOnOneLine(t *testing.T) {
	p := newPKI(t)
	oneLine := func(b []byte) string { return strings.ReplaceAll(string(b), "\n", " ") }
	props := map[string]string{
		PropKeystoreKey:              oneLine(p.client.keyPEM),
		PropKeystoreCertificateChain: oneLine(p.client.certPEM),
		PropTruststoreCertificates:   oneLine(p.ca.pem),
		PropClientAuth:               "required",
	}
	server := newServer(t, p.serverProps(map[string]string{PropClientAuth: "required"}))
	srv := startServer(t, server.TLSConfig())
	client, err := NewClient(props, Options{})
	if err != nil {
		t.Fatalf("NewClient with inline PEM: %v", err)
	}
	if _, err := dial(t, srv.addr, client.TLSConfig("localhost")); err != nil {
		t.Fatal(err)
	}
	if r := srv.result(t); r.err != nil {
		t.Fatal(r.err)
	}
}

// TestEncryptedPKCS8Key checks ssl.key.password against keys encrypted by
// OpenSSL's default PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and with
// explicit older choices.
func TestEncryptedPKCS8Key(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	p := newPKI(t)
	plain := writeFile(t, p.dir, "plain-key.pem", p.client.keyPEM)
	for _, args := range [][]string{
		{},
		{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"},
		{"-v2", "des3"},
	} {
		out := filepath.Join(p.dir, "enc-key.pem")
		cmd := exec.Command(openssl, append([]string{"pkcs8", "-topk8", "-in", plain, "-out", out, "-passout", "pass:s3cret"}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, b)
		}
		enc, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		keystore := writeFile(t, p.dir, "enc.pem", append(enc, p.client.certPEM...))
		if _, err := NewClient(map[string]string{PropKeystoreLocation: keystore, PropKeyPassword: "s3cret"}, Options{}); err != nil {
			t.Errorf("openssl %v: %v", args, err)
		}
		_, err = NewClient(map[string]string{PropKeystoreLocation: keystore, PropKeyPassword: "wrong"}, Options{})
		if err == nil || !strings.Contains(err.Error(), "wrong "+PropKeyPassword) {
			t.Errorf("openssl %v, wrong password: %v", args, err)
		}
		_, err = NewClient(map[string]string{PropKeystoreLocation: keystore}, Options{})
		if err == nil || !strings.Contains(err.Error(), PropKeyPassword+" is not set") {
			t.Errorf("openssl %v, no password: %v", args, err)
		}
	}
}

func TestCipherSuites(t *testing.T) {
	p := newPKI(t)
	suite := "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
	server := newServer(t, p.serverProps(map[string]string{PropCipherSuites: suite + ",TLS_AES_128_GCM_SHA256"}))
	srv := startServer(t, server.TLSConfig())
	conn, err := dial(t, srv.addr, p.clientConfig(t, map[string]string{PropEnabledProtocols: "TLSv1.2"}))
	if err != nil {
		t.Fatal(err)
	}
	srv.result(t)
	if got := tls.CipherSuiteName(conn.ConnectionState().CipherSuite); got != suite {
		t.Errorf("negotiated %s, want %s", got, suite)
	}
}
