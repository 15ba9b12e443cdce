package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fjordsasl "github.com/fjordhq/fjord/internal/sasl"
)

// secret is in every password, token and key of these tests; no error
// text may contain it.
const secret = "s3cr3t-Value"

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// selfSignedPEM returns a CA certificate in PEM and its key in PKCS #8 PEM.
func selfSignedPEM(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

const scramJAAS = `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="alice" password="` + secret + `";
`

func TestResolveSecurity(t *testing.T) {
	scramFile := writeFile(t, "scram.properties", "security.protocol=sasl_plaintext\nsasl.mechanism=SCRAM-SHA-512\n"+scramJAAS)
	tokenFile := writeFile(t, "token", "  eyJ."+secret+".sig\n")
	caPEM, keyPEM := selfSignedPEM(t)
	caFile := writeFile(t, "ca.pem", caPEM)
	keyFile := writeFile(t, "key.pem", keyPEM)
	tests := []struct {
		name           string
		flags          SecurityFlags
		wantProtocol   string
		wantMechanism  string
		wantUser       string
		wantPassword   string
		wantToken      string
		wantTLS        bool
		wantClientCert bool
	}{
		{name: "nothing is PLAINTEXT", wantProtocol: ProtocolPlaintext},
		{name: "properties file", flags: SecurityFlags{commandConfig: scramFile},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismScramSHA512, wantUser: "alice", wantPassword: secret},
		{name: "flags override the file key by key",
			flags:        SecurityFlags{commandConfig: scramFile, mechanism: "plain", username: "bob", protocol: "SASL_SSL", tlsCA: caFile},
			wantProtocol: ProtocolSASLSSL, wantMechanism: MechanismPlain, wantUser: "bob", wantPassword: secret, wantTLS: true},
		{name: "flags alone", flags: SecurityFlags{protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-256", username: "u", password: "p"},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismScramSHA256, wantUser: "u", wantPassword: "p"},
		{name: "a file's sasl settings are ignored under PLAINTEXT, as Kafka does",
			flags:        SecurityFlags{commandConfig: scramFile, protocol: "PLAINTEXT"},
			wantProtocol: ProtocolPlaintext},
		{name: "token from a file, trimmed", flags: SecurityFlags{protocol: "SASL_PLAINTEXT", mechanism: "OAUTHBEARER", tokenFile: tokenFile},
			wantProtocol: ProtocolSASLPlaintext, wantMechanism: MechanismOAuthBearer, wantToken: "eyJ." + secret + ".sig"},
		{name: "token from sasl.jaas.config",
			flags: SecurityFlags{commandConfig: writeFile(t, "oauth.properties", "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\n"+
				"sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required token=\"abc\";\n"+
				"ssl.truststore.location="+caFile+"\n")},
			wantProtocol: ProtocolSASLSSL, wantMechanism: MechanismOAuthBearer, wantToken: "abc", wantTLS: true},
		{name: "SSL with the system roots", flags: SecurityFlags{protocol: "SSL"}, wantProtocol: ProtocolSSL, wantTLS: true},
		{name: "mutual TLS from flags", flags: SecurityFlags{protocol: "SSL", tlsCA: caFile, tlsCert: caFile, tlsKey: keyFile},
			wantProtocol: ProtocolSSL, wantTLS: true, wantClientCert: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.flags.Resolve()
			if err != nil {
				t.Fatal(err)
			}
			if s.Protocol != tt.wantProtocol || s.Mechanism != tt.wantMechanism || s.Username != tt.wantUser ||
				(s.TLSConfig("localhost") != nil) != tt.wantTLS {
				t.Fatalf("got %s (tls %v)", s, s.TLSConfig("localhost") != nil)
			}
			if err := checkCredentials(t, s, tt.wantPassword, tt.wantToken); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(s.String(), secret) {
				t.Errorf("String() shows a secret: %s", s)
			}
			if tt.wantClientCert {
				cert, err := s.TLSConfig("localhost").GetClientCertificate(nil)
				if err != nil || len(cert.Certificate) == 0 {
					t.Errorf("no client certificate: %v", err)
				}
			}
			if n := len(s.Opts(time.Second)); (n > 0) != (tt.wantProtocol != ProtocolPlaintext) {
				t.Errorf("%d kgo options for %s", n, s.Protocol)
			}
		})
	}
}

// checkCredentials runs s's SASL mechanism against fjord's server side of
// it, which knows the user's password (PLAIN, SCRAM), or reads the token
// from the client's first message (OAUTHBEARER).
func checkCredentials(t *testing.T, s *ClientSecurity, password, token string) error {
	t.Helper()
	client := s.SASL()
	if client == nil {
		return nil
	}
	session, message, err := client.Authenticate(t.Context(), "localhost:9092")
	if err != nil {
		return err
	}
	var server fjordsasl.Mechanism
	switch s.Mechanism {
	case MechanismOAuthBearer:
		if !strings.Contains(string(message), "auth=Bearer "+token+"\x01") {
			return fmt.Errorf("OAUTHBEARER does not send token %q", token)
		}
		return nil
	case MechanismPlain:
		server = fjordsasl.NewPlain(fjordsasl.StaticPlainUsers{s.Username: password})
	default:
		mechanism, _ := fjordsasl.ScramMechanismByName(s.Mechanism)
		credential, err := fjordsasl.NewScramCredential(mechanism, password, fjordsasl.ScramMinIterations)
		if err != nil {
			return err
		}
		if server, err = fjordsasl.NewScram(mechanism, scramUser{s.Username, credential}, fjordsasl.ScramOptions{}); err != nil {
			return err
		}
	}
	exchange := server.Start(fjordsasl.ConnInfo{})
	for range 4 {
		challenge, done, err := exchange.Step(message)
		if err != nil {
			return fmt.Errorf("%s as %s: %w", s.Mechanism, s.Username, err)
		}
		clientDone, next, err := session.Challenge(challenge)
		if done || err != nil {
			if err == nil && !clientDone {
				err = errors.New("server done, client not")
			}
			return err
		}
		message = next
	}
	return errors.New("exchange did not end")
}

// scramUser is a credential store of one user.
type scramUser struct {
	name       string
	credential fjordsasl.ScramCredential
}

func (u scramUser) ScramCredential(_ fjordsasl.ScramMechanism, user string) (fjordsasl.ScramCredential, bool) {
	return u.credential, user == u.name
}

func TestResolveSecurityErrors(t *testing.T) {
	caPEM, _ := selfSignedPEM(t)
	caFile := writeFile(t, "ca.pem", caPEM)
	badJAAS := writeFile(t, "bad.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"+
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="`+secret+"\n")
	oauthCallback := writeFile(t, "callback.properties", "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\n"+
		"sasl.login.callback.handler.class=org.example.Handler\n")
	tests := []struct {
		name  string
		flags SecurityFlags
		want  string
	}{
		{"unknown protocol", SecurityFlags{protocol: "TLS"}, `security.protocol "TLS" is not`},
		{"SASL without mechanism", SecurityFlags{protocol: "SASL_PLAINTEXT", username: "a", password: secret}, "GSSAPI, is not supported"},
		{"unknown mechanism", SecurityFlags{protocol: "SASL_PLAINTEXT", mechanism: "GSSAPI"}, `sasl.mechanism "GSSAPI" is not`},
		{"no password", SecurityFlags{protocol: "SASL_PLAINTEXT", mechanism: "PLAIN", username: "a"}, "needs a user name and a password"},
		{"sasl flag under PLAINTEXT", SecurityFlags{password: secret}, "--sasl-password needs security.protocol SASL_PLAINTEXT"},
		{"tls flag without TLS", SecurityFlags{protocol: "SASL_PLAINTEXT", tlsCA: caFile}, "--tls-ca needs security.protocol SSL"},
		{"cert without key", SecurityFlags{protocol: "SSL", tlsCert: caFile}, "--tls-cert and --tls-key go together"},
		{"missing trust store", SecurityFlags{protocol: "SSL", tlsCA: "/nonexistent/ca.pem"}, "ssl.truststore.location"},
		{"missing command config", SecurityFlags{commandConfig: "/nonexistent/client.properties"}, "--command-config"},
		{"unterminated JAAS value", SecurityFlags{commandConfig: badJAAS}, "sasl.jaas.config: option password"},
		{"token file with SCRAM", SecurityFlags{protocol: "SASL_PLAINTEXT", mechanism: "SCRAM-SHA-512", username: "a",
			password: secret, tokenFile: caFile}, "--sasl-token-file is for OAUTHBEARER"},
		{"OAUTHBEARER without token", SecurityFlags{commandConfig: oauthCallback}, "fjord cannot run sasl.login.callback.handler.class"},
		{"password with OAUTHBEARER", SecurityFlags{protocol: "SASL_SSL", mechanism: "OAUTHBEARER", password: secret}, "not used by OAUTHBEARER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.flags.Resolve()
			if !errors.Is(err, ErrClientSecurity) {
				t.Fatalf("err = %v, want ErrClientSecurity", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

// TestSecurityFlagsAreUsageErrors: a bad security setting on any command
// is a usage error (exit 2) naming the setting, and help never shows a
// password given on the same command line.
func TestSecurityFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"topic", "list", "--security-protocol", "bogus"},
		{"produce", "t", "--sasl-mechanism", "PLAIN", "--sasl-password", secret},
		{"consume", "t", "--command-config", "/nonexistent"},
		{"group", "list", "--security-protocol", "SASL_SSL", "--sasl-mechanism", "PLAIN", "--sasl-username", "a"},
		{"txn", "list", "--security-protocol", "bogus"},
		{"user", "list", "--security-protocol", "bogus"},
		{"acl", "list", "--security-protocol", "bogus"},
		{"quota", "list", "--security-protocol", "bogus"},
	} {
		var stdout, stderr strings.Builder
		code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, ClientCommands())
		if code != ExitUsage || !strings.Contains(stderr.String(), "client security settings") {
			t.Errorf("%q: exit %d, stderr:\n%s", args, code, stderr.String())
		}
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("%q: stderr shows the password:\n%s", args, stderr.String())
		}
	}
}
