package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/cli"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// testCA writes a CA certificate and a broker key store (key and chain in
// one PEM file, for ssl.keystore.location) for 127.0.0.1 and localhost, and
// returns their paths.
func testCA(t *testing.T) (caFile, keystoreFile string) {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	caKey, brokerKey := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fjord test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &brokerKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(brokerKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	keystore := slices.Concat(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), caPEM)
	caFile, keystoreFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "broker.pem")
	for path, body := range map[string][]byte{caFile: caPEM, keystoreFile: keystore} {
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, keystoreFile
}

// TestE2ESASLSSL: the commands reach a SASL_SSL listener with the trust
// store and login of a properties file, or of flags; without the test CA
// the broker's certificate is refused with a message saying so.
func TestE2ESASLSSL(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	caFile, keystore := testCA(t)
	s := fjordtest.Start(t, fjordtest.Options{
		Config: map[string]string{
			"listeners":               "SASL_SSL://127.0.0.1:0",
			"sasl.enabled.mechanisms": "SCRAM-SHA-512",
			"ssl.keystore.location":   keystore,
		},
		Args: []string{"--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]"},
	})
	t.Setenv(cli.BrokersEnv, s.Addr)
	props := filepath.Join(t.TempDir(), "client.properties")
	body := "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.location=" + caFile + "\n" +
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";` + "\n"
	if err := os.WriteFile(props, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	mustFjord(t, "", "topic", "create", "secure", "--command-config", props)
	mustFjord(t, "a\nb\n", "produce", "secure", "--command-config", props)
	r := mustFjord(t, "", "consume", "secure", "--from", "beginning", "--security-protocol", "SASL_SSL", "--tls-ca", caFile,
		"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "admin", "--sasl-password", "admin-secret")
	if r.Stdout != "a\nb\n" {
		t.Errorf("consumed %q", r.Stdout)
	}

	r = fjord(t, "", "topic", "list", "--timeout", "10s", "--security-protocol", "SASL_SSL",
		"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "admin", "--sasl-password", "admin-secret")
	wantFailure(t, r, cli.ExitFailure, "not signed by a trusted CA")
	if strings.Contains(r.Stderr, "admin-secret") {
		t.Errorf("the password is in the error:\n%s", r.Stderr)
	}
}
