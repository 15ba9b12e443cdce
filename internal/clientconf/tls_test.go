package clientconf

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// testPKI is a CA with a broker certificate (for 127.0.0.1 and localhost)
// and a client certificate, as PEM files and their contents.
type testPKI struct {
	pki                                   *fjordtest.PKI
	ca, caPEM                             string
	serverCert, serverKey                 string
	clientCert, clientKey, clientKeystore string
	clientCertPEM, clientKeyPEM           string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	p := &testPKI{pki: fjordtest.NewPKI(t, "clientconf")}
	notAfter := time.Now().Add(time.Hour)
	p.ca = p.pki.CA
	p.serverCert, p.serverKey, _ = p.pki.Issue(pkix.Name{CommonName: "broker"}, true, notAfter)
	p.clientCert, p.clientKey, p.clientKeystore = p.pki.Issue(pkix.Name{CommonName: "client"}, false, notAfter)
	p.caPEM, p.clientCertPEM, p.clientKeyPEM = readString(t, p.ca), readString(t, p.clientCert), readString(t, p.clientKey)
	return p
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startTLSServer accepts TLS connections on 127.0.0.1 with the broker's
// certificate, asking for a client certificate signed by the CA, and
// reports for each the client's common name ("" without a certificate) or
// "error". The cleanup closes the listener and joins the goroutine.
func startTLSServer(t *testing.T, p *testPKI) (addr string, results <-chan string) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(p.caPEM))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair},
		ClientCAs: roots, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	out, done := make(chan string, 64), make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc := conn.(*tls.Conn)
			_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
			result := "error"
			if tc.Handshake() == nil {
				result = ""
				if peers := tc.ConnectionState().PeerCertificates; len(peers) > 0 {
					result = peers[0].Subject.CommonName
				}
			}
			tc.Close()
			out <- result
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), out
}

// TestTLSHandshakes connects to a TLS server with each way of giving the
// key material, through the dialer Opts installs.
func TestTLSHandshakes(t *testing.T) {
	p := newTestPKI(t)
	other := fjordtest.NewPKI(t, "other")
	addr, results := startTLSServer(t, p)
	tests := []struct {
		name       string
		props      map[string]string
		wantClient string // the server's report: a client's common name, "" or "error"
	}{
		{"Kafka's names, PEM files", map[string]string{"ssl.truststore.type": "PEM", "ssl.truststore.location": p.ca,
			"ssl.keystore.type": "PEM", "ssl.keystore.location": p.clientKeystore}, "client"},
		{"Kafka's inline PEM", map[string]string{"ssl.truststore.certificates": p.caPEM,
			"ssl.keystore.key": p.clientKeyPEM, "ssl.keystore.certificate.chain": p.clientCertPEM}, "client"},
		{"librdkafka's names", map[string]string{"ssl.ca.location": p.ca,
			"ssl.certificate.location": p.clientCert, "ssl.key.location": p.clientKey}, "client"},
		{"a trust store alone sends no certificate", map[string]string{"ssl.truststore.location": p.ca}, ""},
		{"another CA's broker is refused", map[string]string{"ssl.truststore.location": other.CA}, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.props[PropSecurityProtocol] = ProtocolSSL
			s, err := NewSecurity(tt.props, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(s.Opts(time.Second)); n != 1 {
				t.Errorf("%d kgo options for SSL, want the dialer", n)
			}
			conn, err := s.tlsDialer(5*time.Second)(t.Context(), "tcp", addr)
			if err == nil {
				_, err = conn.Read(make([]byte, 1)) // the server's close, after it checked the client
				conn.Close()
			}
			var unknown x509.UnknownAuthorityError
			if tt.wantClient == "error" != errors.As(err, &unknown) {
				t.Errorf("dial: %v", err)
			}
			if got := <-results; got != tt.wantClient {
				t.Errorf("server saw client %q, want %q", got, tt.wantClient)
			}
		})
	}
}

// TestEndpointIdentification: the broker's certificate must name the host
// dialed unless ssl.endpoint.identification.algorithm is empty (Kafka) or
// none (librdkafka).
func TestEndpointIdentification(t *testing.T) {
	p := newTestPKI(t)
	addr, results := startTLSServer(t, p)
	for _, tt := range []struct {
		algorithm  string // "-" leaves it unset
		wantVerify bool
	}{{"-", true}, {"https", true}, {"HTTPS", true}, {"", false}, {"none", false}} {
		props := map[string]string{PropSecurityProtocol: ProtocolSASLSSL, PropSASLMechanism: MechanismPlain,
			PropSASLUsername: "u", PropSASLPassword: secret, "ssl.truststore.location": p.ca}
		if tt.algorithm != "-" {
			props["ssl.endpoint.identification.algorithm"] = tt.algorithm
		}
		s, err := NewSecurity(props, Options{})
		if err != nil {
			t.Fatalf("%q: %v", tt.algorithm, err)
		}
		if n := len(s.Opts(time.Second)); n != 2 {
			t.Errorf("%d kgo options for SASL_SSL, want the dialer and SASL", n)
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, s.TLSConfig("wrong.example"))
		if err == nil {
			conn.Close()
		}
		var hostname x509.HostnameError
		if errors.As(err, &hostname) != tt.wantVerify || (err != nil && !tt.wantVerify) {
			t.Errorf("algorithm %q: dial to a certificate for another host: %v", tt.algorithm, err)
		}
		<-results
	}
}

func TestNewSecurityTLSErrors(t *testing.T) {
	p := newTestPKI(t)
	big := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(big, make([]byte, MaxSecretFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"JKS trust store", map[string]string{"ssl.truststore.type": "JKS", "ssl.truststore.location": p.ca}, "convert the store to PEM"},
		{"missing trust store", map[string]string{"ssl.truststore.location": "/nonexistent/ca.pem"}, "ssl.truststore.location"},
		{"two trust stores", map[string]string{"ssl.ca.location": p.ca, "ssl.truststore.location": p.ca},
			"both ssl.ca.location and ssl.truststore.location are set"},
		{"ssl.ca.location=probe", map[string]string{"ssl.ca.location": "probe"}, "probe is not supported"},
		{"ssl.ca.location a directory", map[string]string{"ssl.ca.location": t.TempDir()}, "is a directory"},
		{"certificate without key", map[string]string{"ssl.certificate.location": p.clientCert},
			"ssl.certificate.location and ssl.key.location go together"},
		{"two key stores", map[string]string{"ssl.certificate.location": p.clientCert, "ssl.key.location": p.clientKey,
			"ssl.keystore.location": p.clientKeystore}, "both ssl.certificate.location and ssl.keystore.location are set"},
		{"missing certificate file", map[string]string{"ssl.certificate.location": "/nonexistent/c.pem", "ssl.key.location": p.clientKey},
			"ssl.certificate.location: open /nonexistent/c.pem"},
		{"oversized key file", map[string]string{"ssl.certificate.location": p.clientCert, "ssl.key.location": big},
			"more than 1048576 bytes"},
		{"key of another certificate", map[string]string{"ssl.certificate.location": p.clientCert, "ssl.key.location": p.serverKey},
			"(read from ssl.certificate.location " + p.clientCert},
		{"unknown endpoint identification", map[string]string{"ssl.endpoint.identification.algorithm": "dns"},
			"ssl.endpoint.identification.algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.props[PropSecurityProtocol] = ProtocolSSL
			_, err := NewSecurity(tt.props, Options{})
			if !errors.Is(err, ErrSecurity) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrSecurity saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}
