package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestSASLSSLClients: franz-go and sarama with SCRAM-SHA-512 and PLAIN, and
// librdkafka (kcat) with PLAIN and SCRAM-SHA-512, produce and consume over
// SASL_SSL; a client without TLS, and one capped at TLS 1.1, are refused.
func TestSASLSSLClients(t *testing.T) {
	pki := fjordtest.NewPKI(t, "sasl-ssl")
	_, _, keystore := pki.Issue(pkix.Name{CommonName: "broker"}, true, time.Now().Add(24*time.Hour))
	srv := startServer(t, map[string]string{
		"listeners":               "SASL_SSL://127.0.0.1:0",
		"ssl.keystore.location":   keystore,
		"sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
		"listener.name.sasl_ssl.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";`,
	}, "--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]")
	ctx := testContext(t, testTimeout)
	topic := uniqueTopic(t, "sasl-ssl")
	tlsCfg := kgo.DialTLSConfig(pki.ClientTLS("", ""))
	admin := newKgo(t, srv.Addr, tlsCfg, scram512("admin", "admin-secret"))
	createTopic(t, ctx, kadm.NewClient(admin), topic, 2, nil)

	var want []rec
	produceOne := func(who string, cl *kgo.Client) {
		t.Helper()
		r := rec{Key: who, Value: who + "-value"}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: []byte(r.Value)}).FirstErr(); err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		want = append(want, r)
	}
	produceOne("kgo-scram", admin)
	produceOne("kgo-plain", newKgo(t, srv.Addr, tlsCfg, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())))
	for _, mech := range []sarama.SASLMechanism{sarama.SASLTypeSCRAMSHA512, sarama.SASLTypePlaintext} {
		cfg := saramaConfig()
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, pki.ClientTLS("", "")
		cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism = true, mech
		cfg.Net.SASL.User, cfg.Net.SASL.Password = "alice", "alice-secret"
		if mech == sarama.SASLTypeSCRAMSHA512 {
			cfg.Net.SASL.User, cfg.Net.SASL.Password = "admin", "admin-secret"
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &franzScram{mech: scram.Auth.AsSha512Mechanism} }
		}
		key := "sarama-" + string(mech)
		produceSarama(t, srv.Addr, topic, []rec{{Key: key, Value: key + "-value"}}, cfg)
		want = append(want, rec{Key: key, Value: key + "-value"})
	}
	kcatTLS := []string{"-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=" + pki.CA}
	kcatPlain := append(kcatTLS[:len(kcatTLS):len(kcatTLS)], "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret")
	kcatScram := append(kcatTLS[:len(kcatTLS):len(kcatTLS)], "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X", "sasl.password=admin-secret")
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "kcat-plain", Value: "kcat-plain-value"}}, kcatPlain...)
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "kcat-scram", Value: "kcat-scram-value"}}, kcatScram...)
	want = append(want, rec{Key: "kcat-plain", Value: "kcat-plain-value"}, rec{Key: "kcat-scram", Value: "kcat-scram-value"})

	checkSameValues(t, "franz-go over SASL_SSL", consumeKgo(t, ctx, srv.Addr, topic, len(want), tlsCfg, scram512("admin", "admin-secret")), want)
	checkSameValues(t, "kcat over SASL_SSL", kcatRecords(kcat(t, ctx, srv.Addr, "", append([]string{"-C", "-t", topic, "-e", "-q", "-f", "%k\t%s\n"}, kcatScram...)...)), want)

	// Plaintext on the TLS port: the handshake fails, nothing is served.
	plainClient := newKgo(t, srv.Addr, scram512("admin", "admin-secret"), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second),
		kgo.DialTimeout(2*time.Second), kgo.RequestTimeoutOverhead(2*time.Second))
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := plainClient.Ping(pctx); err == nil {
		t.Fatal("a plaintext client was served on the SASL_SSL listener")
	}
	old := pki.ClientTLS("", "")
	old.MaxVersion = tls.VersionTLS11
	if conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.Addr, old); err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}

func kcatRecords(out string) []rec {
	var recs []rec
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "\t")
		recs = append(recs, rec{Key: k, Value: v})
	}
	return recs
}

// TestMutualTLS: with ssl.client.auth=required, franz-go, sarama and kcat
// presenting certificates of the broker's CA produce and consume; a client
// without a certificate, with one of another CA, or with an expired one is
// refused at the handshake.
func TestMutualTLS(t *testing.T) {
	pki := fjordtest.NewPKI(t, "mtls")
	_, _, keystore := pki.Issue(pkix.Name{CommonName: "broker"}, true, time.Now().Add(24*time.Hour))
	cert, key, _ := pki.Issue(pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"eng"}}, false, time.Now().Add(24*time.Hour))
	expCert, expKey, _ := pki.Issue(pkix.Name{CommonName: "expired"}, false, time.Now().Add(-time.Hour))
	other := fjordtest.NewPKI(t, "other")
	strangerCert, strangerKey, _ := other.Issue(pkix.Name{CommonName: "stranger"}, false, time.Now().Add(24*time.Hour))
	srv := startServer(t, map[string]string{
		"listeners":                   "SSL://127.0.0.1:0",
		"ssl.keystore.location":       keystore,
		"ssl.truststore.location":     pki.CA,
		"ssl.client.auth":             "required",
		"ssl.principal.mapping.rules": `RULE:^CN=([A-Za-z]+),OU=eng$/$1/L,DEFAULT`,
	})
	ctx := testContext(t, testTimeout)
	topic := uniqueTopic(t, "mtls")
	withCert := kgo.DialTLSConfig(pki.ClientTLS(cert, key))
	cl := newKgo(t, srv.Addr, withCert)
	createTopic(t, ctx, kadm.NewClient(cl), topic, 1, nil)
	want := []rec{{Key: "kgo", Value: "kgo-value"}}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("kgo"), Value: []byte("kgo-value")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg := saramaConfig()
	cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, pki.ClientTLS(cert, key)
	produceSarama(t, srv.Addr, topic, []rec{{Key: "sarama", Value: "sarama-value"}}, cfg)
	want = append(want, rec{Key: "sarama", Value: "sarama-value"})
	kcatMTLS := []string{"-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + pki.CA,
		"-X", "ssl.certificate.location=" + cert, "-X", "ssl.key.location=" + key}
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "kcat", Value: "kcat-value"}}, kcatMTLS...)
	want = append(want, rec{Key: "kcat", Value: "kcat-value"})
	checkSameValues(t, "franz-go over mTLS", consumeKgo(t, ctx, srv.Addr, topic, len(want), withCert), want)
	checkSameValues(t, "kcat over mTLS", kcatRecords(kcat(t, ctx, srv.Addr, "", append([]string{"-C", "-t", topic, "-e", "-q", "-f", "%k\t%s\n"}, kcatMTLS...)...)), want)

	for name, cfg := range map[string]*tls.Config{
		"no certificate":      pki.ClientTLS("", ""),
		"another CA's":        mixTrust(pki.ClientTLS("", ""), other.ClientTLS(strangerCert, strangerKey)),
		"expired certificate": pki.ClientTLS(expCert, expKey),
	} {
		if err := refusedHandshake(srv.Addr, cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// mixTrust is trust's roots with the certificates of id.
func mixTrust(trust, id *tls.Config) *tls.Config {
	trust.Certificates = id.Certificates
	return trust
}

// refusedHandshake checks that a client with cfg cannot complete a request:
// with TLS 1.3 the server's refusal of a certificate arrives after the
// client's handshake returns, so the first read is what fails.
func refusedHandshake(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// An ApiVersions v0 request: size, key 18, version 0, correlation 1, client id "".
	if _, err := conn.Write([]byte{0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0}); err != nil {
		return nil
	}
	var b [4]byte
	if _, err := conn.Read(b[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("the server neither answered nor closed")
		}
		return nil
	}
	return errors.New("the server answered a client it should have refused")
}
