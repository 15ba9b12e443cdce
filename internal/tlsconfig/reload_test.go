package tlsconfig

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"sync"
	"testing"
	"time"
)

func peerCN(conn *tls.Conn) string {
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// reloadFixture is a server whose key store rotates under a fake clock.
type reloadFixture struct {
	pki    *pki
	clock  *fakeClock
	server *Server
	srv    *testServer
	mu     sync.Mutex
	errs   []error
}

func newReloadFixture(t *testing.T) *reloadFixture {
	f := &reloadFixture{pki: newPKI(t), clock: &fakeClock{now: time.Unix(1_700_000_000, 0)}}
	var err error
	f.server, err = NewServer(f.pki.serverProps(nil), "", Options{
		Now: f.clock.Now,
		OnReloadError: func(err error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.errs = append(f.errs, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = startServer(t, f.server.TLSConfig())
	return f
}

func (f *reloadFixture) connect(t *testing.T) *tls.Conn {
	t.Helper()
	conn, err := dial(t, f.srv.addr, f.pki.clientConfig(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if r := f.srv.result(t); r.err != nil {
		t.Fatal(r.err)
	}
	return conn
}

func (f *reloadFixture) reloadErrors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.errs...)
}

func TestReloadOnHandshake(t *testing.T) {
	f := newReloadFixture(t)
	before := f.connect(t)
	if cn := peerCN(before); cn != "broker-1" {
		t.Fatalf("server certificate %q", cn)
	}
	rotated := f.pki.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "broker-1-rotated"}, server: true})
	replaceFile(t, f.pki.serverKeystore, rotated.keystore())

	// Within the check interval the old certificate is still served.
	if cn := peerCN(f.connect(t)); cn != "broker-1" {
		t.Errorf("reloaded before the check interval: %q", cn)
	}
	f.clock.Advance(ReloadCheckInterval)
	if cn := peerCN(f.connect(t)); cn != "broker-1-rotated" {
		t.Errorf("after rotation the server presents %q", cn)
	}
	// The connection opened before the rotation still works.
	if err := echo(before); err != nil {
		t.Errorf("old connection broken by the reload: %v", err)
	}
	if errs := f.reloadErrors(); len(errs) != 0 {
		t.Errorf("reload errors: %v", errs)
	}
}

func TestReloadKeepsOldMaterialOnBrokenFile(t *testing.T) {
	f := newReloadFixture(t)
	replaceFile(t, f.pki.serverKeystore, []byte("-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"))
	f.clock.Advance(ReloadCheckInterval)
	if cn := peerCN(f.connect(t)); cn != "broker-1" {
		t.Errorf("server presents %q after a broken replacement", cn)
	}
	f.clock.Advance(ReloadCheckInterval)
	f.connect(t)
	if errs := f.reloadErrors(); len(errs) != 1 {
		t.Fatalf("got %d reload errors (%v), want one for the one change", len(errs), errs)
	}
	if err := f.server.Reload(true); err == nil {
		t.Error("forced Reload of a broken file returned no error")
	}

	// A good file after the broken one is picked up.
	fixed := f.pki.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "broker-1-fixed"}, server: true})
	replaceFile(t, f.pki.serverKeystore, fixed.keystore())
	if err := f.server.Reload(false); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if cn := peerCN(f.connect(t)); cn != "broker-1-fixed" {
		t.Errorf("server presents %q after an explicit Reload", cn)
	}
}

func TestReloadTrustStore(t *testing.T) {
	f := newReloadFixture(t)
	server, err := NewServer(f.pki.serverProps(map[string]string{PropClientAuth: "required"}), "", Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, server.TLSConfig())
	newCA := newTestCA(t, "new client CA")
	newClient := newCA.issue(t, leafOptions{subject: pkix.Name{CommonName: "new-client"}})
	props := map[string]string{PropKeystoreLocation: writeFile(t, f.pki.dir, "new-client.pem", newClient.keystore())}
	if _, err := dial(t, srv.addr, f.pki.clientConfig(t, props)); err == nil {
		t.Fatal("client of an unknown CA accepted")
	}
	srv.result(t)
	replaceFile(t, f.pki.truststore, append(append([]byte{}, f.pki.ca.pem...), newCA.pem...))
	f.clock.Advance(ReloadCheckInterval)
	if _, err := dial(t, srv.addr, f.pki.clientConfig(t, props)); err != nil {
		t.Fatalf("client of the newly trusted CA refused: %v", err)
	}
	if r := srv.result(t); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestReloadConcurrentHandshakes(t *testing.T) {
	f := newReloadFixture(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				f.clock.Advance(ReloadCheckInterval)
				if i == 0 {
					l := f.pki.ca.issue(t, leafOptions{subject: pkix.Name{CommonName: "broker-1"}, server: true})
					replaceFile(t, f.pki.serverKeystore, l.keystore())
				}
				conn, err := tls.Dial("tcp", f.srv.addr, f.pki.clientConfig(t, nil))
				if err != nil {
					t.Error(err)
					return
				}
				if err := echo(conn); err != nil {
					t.Error(err)
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	for range 40 {
		if r := f.srv.result(t); r.err != nil {
			t.Error(r.err)
		}
	}
	if errs := f.reloadErrors(); len(errs) != 0 {
		t.Errorf("reload errors: %v", errs)
	}
}
