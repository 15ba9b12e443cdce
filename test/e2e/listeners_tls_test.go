package e2e

import (
	"crypto/x509/pkix"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestListenFlagsSetFirstListener: with a properties file naming a
// PLAINTEXT client listener and an SSL listener INTERNAL, --listen and
// --advertise set the client listener's address only. Clients of the
// first listener are told its --advertise address; INTERNAL keeps the
// address and the protocol the file gave it, and its clients, over TLS,
// are told that address.
func TestListenFlagsSetFirstListener(t *testing.T) {
	pki := fjordtest.NewPKI(t, "listen-flags")
	_, _, keystore := pki.Issue(pkix.Name{CommonName: "broker"}, true, time.Now().Add(24*time.Hour))
	ports := freeLoopbackPorts(t, 2)
	internal := fmt.Sprintf("127.0.0.1:%d", ports[1])
	advertised := fmt.Sprintf("localhost:%d", ports[0])
	srv := fjordtest.Start(t, fjordtest.Options{
		Config: map[string]string{
			"listeners":                      "PLAINTEXT://127.0.0.1:0,INTERNAL://" + internal,
			"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SSL",
			"ssl.keystore.location":          keystore,
		},
		Listen: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		Args:   []string{"--advertise", advertised},
	})
	if srv.Addr != advertised {
		t.Fatalf("ready line names %s, want the --advertise address %s", srv.Addr, advertised)
	}
	ctx := testContext(t, testTimeout)
	for _, tc := range []struct {
		listener, addr string
		opts           []kgo.Opt
	}{
		{"PLAINTEXT", advertised, nil},
		{"INTERNAL", internal, []kgo.Opt{kgo.DialTLSConfig(pki.ClientTLS("", ""))}},
	} {
		md, err := nodeMetadata(ctx, newKgo(t, tc.addr, tc.opts...).SeedBrokers()[0])
		if err != nil {
			t.Fatalf("%s at %s: %v", tc.listener, tc.addr, err)
		}
		if len(md.Brokers) != 1 {
			t.Fatalf("%s: %d brokers, want 1", tc.listener, len(md.Brokers))
		}
		b := md.Brokers[0]
		if got := fmt.Sprintf("%s:%d", b.Host, b.Port); got != tc.addr {
			t.Errorf("%s: clients are told %s, want %s", tc.listener, got, tc.addr)
		}
	}
}
