package tlsconfig

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"testing"
	"time"
)

// pki is a CA with a server key store and a trusted client, in files.
type pki struct {
	dir              string
	ca               *testCA
	serverKeystore   string
	truststore       string
	client           leaf
	clientKeystore   string
	clientTruststore string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, "fjord test CA")
	server := ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "broker-1"}, server: true})
	client := ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"ServiceUsers"}, Organization: []string{"Fjord"}}})
	return &pki{
		dir:              dir,
		ca:               ca,
		serverKeystore:   writeFile(t, dir, "server.pem", server.keystore()),
		truststore:       writeFile(t, dir, "ca.pem", ca.pem),
		client:           client,
		clientKeystore:   writeFile(t, dir, "client.pem", client.keystore()),
		clientTruststore: writeFile(t, dir, "client-ca.pem", ca.pem),
	}
}

func (p *pki) serverProps(extra map[string]string) map[string]string {
	props := map[string]string{
		PropKeystoreType:       "PEM",
		PropKeystoreLocation:   p.serverKeystore,
		PropTruststoreType:     "PEM",
		PropTruststoreLocation: p.truststore,
	}
	for k, v := range extra {
		props[k] = v
	}
	return props
}

func (p *pki) clientConfig(t *testing.T, props map[string]string) *tls.Config {
	t.Helper()
	base := map[string]string{PropTruststoreLocation: p.clientTruststore}
	for k, v := range props {
		base[k] = v
	}
	c, err := NewClient(base, Options{})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c.TLSConfig("localhost")
}

func newServer(t *testing.T, props map[string]string) *Server {
	t.Helper()
	s, err := NewServer(props, "", Options{})
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return s
}

func TestHandshakeProtocols(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, newServer(t, p.serverProps(nil)).TLSConfig())
	for _, tc := range []struct {
		protocols string
		want      uint16
	}{
		{"TLSv1.2", tls.VersionTLS12},
		{"TLSv1.3", tls.VersionTLS13},
		{"TLSv1.2,TLSv1.3", tls.VersionTLS13},
	} {
		conn, err := dial(t, srv.addr, p.clientConfig(t, map[string]string{PropEnabledProtocols: tc.protocols}))
		if err != nil {
			t.Fatalf("%s: %v", tc.protocols, err)
		}
		if got := conn.ConnectionState().Version; got != tc.want {
			t.Errorf("%s: negotiated %x, want %x", tc.protocols, got, tc.want)
		}
		if r := srv.result(t); r.err != nil {
			t.Errorf("%s: server: %v", tc.protocols, r.err)
		}
	}
	// ssl.protocol=TLSv1.2 caps a client at TLS 1.2.
	conn, err := dial(t, srv.addr, p.clientConfig(t, map[string]string{PropProtocol: "TLSv1.2"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.ConnectionState().Version; got != tls.VersionTLS12 {
		t.Errorf("ssl.protocol=TLSv1.2: negotiated %x", got)
	}
	srv.result(t)

	// A client that stops at TLS 1.1 is refused.
	old := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11, InsecureSkipVerify: true}
	if _, err := dial(t, srv.addr, old); err == nil {
		t.Error("TLS 1.1 client was accepted")
	}
	if r := srv.result(t); r.err == nil {
		t.Error("server accepted a TLS 1.1 handshake")
	}
}

func TestHandshakeClientAuth(t *testing.T) {
	p := newPKI(t)
	otherCA := newTestCA(t, "other CA")
	untrusted := otherCA.issue(t, leafOptions{subject: pkix.Name{CommonName: "Mallory"}})
	expired := p.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "Old"}, notAfter: time.Now().Add(-time.Hour)})
	keystores := map[string]string{
		"none":      "",
		"trusted":   p.clientKeystore,
		"untrusted": writeFile(t, p.dir, "untrusted.pem", untrusted.keystore()),
		"expired":   writeFile(t, p.dir, "expired.pem", expired.keystore()),
	}
	for _, tc := range []struct {
		clientAuth, keystore string
		ok                   bool
		principal            string
	}{
		{"required", "none", false, ""},
		{"required", "untrusted", false, ""},
		{"required", "expired", false, ""},
		{"required", "trusted", true, "User:CN=Alice,OU=ServiceUsers,O=Fjord"},
		{"requested", "none", true, AnonymousPrincipal},
		{"requested", "trusted", true, "User:CN=Alice,OU=ServiceUsers,O=Fjord"},
		{"requested", "untrusted", false, ""},
		{"none", "trusted", true, AnonymousPrincipal}, // no certificate is asked for
	} {
		name := tc.clientAuth + "/" + tc.keystore
		server := newServer(t, p.serverProps(map[string]string{PropClientAuth: tc.clientAuth}))
		srv := startServer(t, server.TLSConfig())
		props := map[string]string{}
		if path := keystores[tc.keystore]; path != "" {
			props[PropKeystoreLocation] = path
		}
		_, clientErr := dial(t, srv.addr, p.clientConfig(t, props))
		r := srv.result(t)
		if tc.ok != (r.err == nil) || tc.ok != (clientErr == nil) {
			t.Errorf("%s: server err %v, client err %v, want ok=%v", name, r.err, clientErr, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		principal, err := server.Principal(r.state)
		if err != nil || principal != tc.principal {
			t.Errorf("%s: principal %q, %v; want %q", name, principal, err, tc.principal)
		}
	}
}

func TestHandshakePrincipalMapping(t *testing.T) {
	p := newPKI(t)
	bob := p.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "Bob", Organization: []string{"Partner"}}})
	carol := p.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "carol", Country: []string{"NO"}}})
	dave := p.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "dave", Locality: []string{"Oslo"}}})
	rules := "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=([^,]+),O=Partner$/partner-$1/U, RULE:^CN=([^,]+),C=NO$/$1@no/, DEFAULT"
	for _, tc := range []struct {
		rules  string
		client leaf
		want   string
		fails  bool
	}{
		{rules, p.client, "User:alice", false},
		{rules, bob, "User:PARTNER-BOB", false},
		{rules, carol, "User:carol@no", false},
		{rules, dave, "User:CN=dave,L=Oslo", false}, // DEFAULT
		{"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/", dave, "", true},
	} {
		server := newServer(t, p.serverProps(map[string]string{
			PropClientAuth:            "required",
			PropPrincipalMappingRules: tc.rules,
		}))
		srv := startServer(t, server.TLSConfig())
		props := map[string]string{PropKeystoreLocation: writeFile(t, p.dir, "c.pem", tc.client.keystore())}
		if _, err := dial(t, srv.addr, p.clientConfig(t, props)); err != nil {
			t.Fatal(err)
		}
		r := srv.result(t)
		if r.err != nil {
			t.Fatal(r.err)
		}
		got, err := server.Principal(r.state)
		if tc.fails {
			if err == nil {
				t.Errorf("rules %q: principal %q, want no matching rule", tc.rules, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("principal %q, %v; want %q", got, err, tc.want)
		}
	}
}

func TestClientVerifiesServer(t *testing.T) {
	p := newPKI(t)
	srv := startServer(t, newServer(t, p.serverProps(nil)).TLSConfig())
	connect := func(props map[string]string, serverName string) error {
		base := map[string]string{PropTruststoreLocation: p.clientTruststore}
		for k, v := range props {
			base[k] = v
		}
		c, err := NewClient(base, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = dial(t, srv.addr, c.TLSConfig(serverName))
		srv.result(t)
		return err
	}
	if err := connect(nil, "127.0.0.1"); err != nil {
		t.Errorf("IP in the certificate: %v", err)
	}
	if err := connect(nil, "broker-9.example"); err == nil {
		t.Error("https accepted a certificate for another host")
	}
	if err := connect(map[string]string{PropEndpointIdentification: ""}, "broker-9.example"); err != nil {
		t.Errorf("endpoint identification off: %v", err)
	}
	other := newTestCA(t, "other")
	wrongTrust := writeFile(t, p.dir, "other-ca.pem", other.pem)
	if err := connect(map[string]string{PropTruststoreLocation: wrongTrust, PropEndpointIdentification: ""}, "localhost"); err == nil {
		t.Error("client trusted a server signed by another CA")
	}
}
