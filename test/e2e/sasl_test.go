package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// saslBroker starts a broker whose one listener requires SASL (PLAIN from
// the JAAS config, SCRAM from the quorum) with an admin SCRAM-SHA-512 user
// bootstrapped by --add-scram.
func saslBroker(t *testing.T) *fjordtest.Server {
	t.Helper()
	return startServer(t, map[string]string{
		"listeners":                "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":  "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
		"sasl.without.tls.allowed": "true",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`user_alice="alice-secret" user_bob="bob secret;x";`,
	}, "--add-scram", "SCRAM-SHA-512=[name=admin,password=admin-secret]")
}

func scram512(user, pass string) kgo.Opt {
	return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
}

// TestSASLClients: franz-go (SCRAM-SHA-512, SCRAM-SHA-256 for a user it
// created itself, PLAIN), sarama (PLAIN and SCRAM-SHA-512, SaslHandshake v0
// and v1) and librdkafka
// (kcat, PLAIN and SCRAM-SHA-512) produce and consume over SASL_PLAINTEXT.
func TestSASLClients(t *testing.T) {
	srv := saslBroker(t)
	ctx := testContext(t, testTimeout)
	topic := uniqueTopic(t, "sasl")
	admin := newKgo(t, srv.Addr, scram512("admin", "admin-secret"))
	adm := kadm.NewClient(admin)
	createTopic(t, ctx, adm, topic, 3, nil)

	// A user created over the wire logs in with the mechanism it got.
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "carol", Mechanism: kadm.ScramSha256, Iterations: 8192, Password: "carol-secret"}})
	if err != nil || res.Error() != nil {
		t.Fatalf("AlterUserSCRAMs: %v %v", err, res.Error())
	}
	described, err := adm.DescribeUserSCRAMs(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if d := described["carol"]; d.Err != nil || len(d.CredInfos) != 1 || d.CredInfos[0].Mechanism != kadm.ScramSha256 || d.CredInfos[0].Iterations != 8192 {
		t.Fatalf("DescribeUserSCRAMs carol: %+v", d)
	}

	var want []rec
	produce := func(who string, cl *kgo.Client) {
		t.Helper()
		for i := range 5 {
			r := rec{Key: who, Value: who + "-" + string(rune('0'+i))}
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(r.Key), Value: []byte(r.Value)}).FirstErr(); err != nil {
				t.Fatalf("%s produce: %v", who, err)
			}
			want = append(want, r)
		}
	}
	produce("admin", admin)
	produce("carol", newKgo(t, srv.Addr, kgo.SASL(scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha256Mechanism())))
	produce("alice", newKgo(t, srv.Addr, kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())))

	// SaslHandshake v0, whose tokens follow as bare frames (sarama before
	// 1.41 sent it by default; Kafka 4 refuses it), and v1.
	for _, handshake := range []int16{sarama.SASLHandshakeV0, sarama.SASLHandshakeV1} {
		for _, mech := range []sarama.SASLMechanism{sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA512} {
			cfg := saramaConfig()
			cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism, cfg.Net.SASL.Version = true, mech, handshake
			// sarama sends no ApiVersions before a v0 handshake, as
			// clients of that era did.
			cfg.ApiVersionsRequest = handshake != sarama.SASLHandshakeV0
			cfg.Net.SASL.User, cfg.Net.SASL.Password = "alice", "alice-secret"
			if mech == sarama.SASLTypeSCRAMSHA512 {
				cfg.Net.SASL.User, cfg.Net.SASL.Password = "admin", "admin-secret"
				cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &franzScram{mech: scram.Auth.AsSha512Mechanism} }
			}
			key := fmt.Sprintf("sarama-%s-v%d", mech, handshake)
			recs := []rec{{Key: key, Value: key + "-0"}, {Key: key, Value: key + "-1"}}
			produceSarama(t, srv.Addr, topic, recs, cfg)
			want = append(want, recs...)
		}
	}

	kcatPlain := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=bob",
		"-X", "sasl.password=bob secret;x"}
	kcatScram := []string{"-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin",
		"-X", "sasl.password=admin-secret"}
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "kcat-plain", Value: "kcat-plain-0"}}, kcatPlain...)
	produceKcat(t, ctx, srv.Addr, topic, []rec{{Key: "kcat-scram", Value: "kcat-scram-0"}}, kcatScram...)
	want = append(want, rec{Key: "kcat-plain", Value: "kcat-plain-0"}, rec{Key: "kcat-scram", Value: "kcat-scram-0"})

	got := consumeKgo(t, ctx, srv.Addr, topic, len(want), scram512("admin", "admin-secret"))
	checkSameValues(t, "franz-go SCRAM consumer", got, want)
	out := kcat(t, ctx, srv.Addr, "", append([]string{"-C", "-t", topic, "-e", "-q", "-f", "%k\t%s\n"}, kcatScram...)...)
	var viaKcat []rec
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(line, "\t")
		viaKcat = append(viaKcat, rec{Key: k, Value: v})
	}
	checkSameValues(t, "kcat SCRAM consumer", viaKcat, want)
}

// checkSameValues compares key and value sets, order aside (three
// partitions).
func checkSameValues(t *testing.T, who string, got, want []rec) {
	t.Helper()
	count := map[string]int{}
	for _, r := range want {
		count[r.Key+"\x00"+r.Value]++
	}
	for _, r := range got {
		count[r.Key+"\x00"+r.Value]--
	}
	for kv, n := range count {
		if n != 0 {
			t.Fatalf("%s: record %q seen %d times too few (got %d records, want %d)", who, kv, n, len(got), len(want))
		}
	}
}

// TestSASLRefusesStrangers: a wrong password and an unknown user fail the
// same way (SASL_AUTHENTICATION_FAILED, the same message), for SCRAM and
// PLAIN; a client that does not authenticate has its produce closed
// unprocessed, and the log stays as it was.
func TestSASLRefusesStrangers(t *testing.T) {
	srv := saslBroker(t)
	ctx := testContext(t, testTimeout)
	topic := uniqueTopic(t, "sasl-refuse")
	adm := kadm.NewClient(newKgo(t, srv.Addr, scram512("admin", "admin-secret")))
	createTopic(t, ctx, adm, topic, 1, nil)

	failure := func(mech sasl.Mechanism) string {
		t.Helper()
		cl := newKgo(t, srv.Addr, kgo.SASL(mech), kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
		err := cl.Ping(ctx)
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("%s: err %v, want SASL_AUTHENTICATION_FAILED", mech.Name(), err)
		}
		return err.Error()
	}
	for _, pair := range [][2]sasl.Mechanism{
		{scram.Auth{User: "admin", Pass: "not-the-password"}.AsSha512Mechanism(), scram.Auth{User: "nobody", Pass: "not-the-password"}.AsSha512Mechanism()},
		{plain.Auth{User: "alice", Pass: "not-the-password"}.AsMechanism(), plain.Auth{User: "nobody", Pass: "not-the-password"}.AsMechanism()},
	} {
		wrong, unknown := failure(pair[0]), failure(pair[1])
		if wrong != unknown {
			t.Fatalf("%s: a wrong password says %q, an unknown user %q", pair[0].Name(), wrong, unknown)
		}
	}

	before := offsetsOf(t, ctx, adm, topic, true)
	stranger := newKgo(t, srv.Addr, kgo.RequestRetries(0), kgo.RetryTimeout(time.Second), kgo.ProduceRequestTimeout(2*time.Second))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := stranger.ProduceSync(sctx, &kgo.Record{Topic: topic, Value: []byte("unauthenticated")}).FirstErr(); err == nil {
		t.Fatal("a produce without authentication succeeded")
	}
	if after := offsetsOf(t, ctx, adm, topic, true); after[0] != before[0] {
		t.Fatalf("log end moved from %d to %d after an unauthenticated produce", before[0], after[0])
	}
	log := srv.Log()
	if !strings.Contains(log, "SASL authentication failed") {
		t.Fatal("the failed authentications were not logged")
	}
	for _, secret := range []string{"admin-secret", "alice-secret", "bob secret", "not-the-password"} {
		if strings.Contains(log, secret) {
			t.Fatalf("the broker's log holds a password (%q)", secret)
		}
	}
}

// TestSASLWithoutTLSNeedsConsent: a SASL_PLAINTEXT listener with SCRAM does
// not start unless sasl.without.tls.allowed says so.
func TestSASLWithoutTLSNeedsConsent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the broker")
	}
	dir := t.TempDir()
	cfg := dir + "/server.properties"
	if err := os.WriteFile(cfg, []byte("listeners=SASL_PLAINTEXT://127.0.0.1:0\nsasl.enabled.mechanisms=SCRAM-SHA-512\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := fjordtest.Run(t, nil, "server", "--data-dir", dir+"/data", "--config", cfg)
	if err == nil || !strings.Contains(stderr, "sasl.without.tls.allowed") {
		t.Fatalf("server started or failed without naming sasl.without.tls.allowed: %v\n%s", err, stderr)
	}
}

// franzScram adapts franz-go's SCRAM client to sarama's SCRAMClient, so
// that sarama's own SASL framing (SaslHandshake v1, SaslAuthenticate) is
// what talks to the broker.
type franzScram struct {
	mech    func(scram.Auth) sasl.Mechanism
	session sasl.Session
	first   []byte
	done    bool
}

func (c *franzScram) Begin(user, password, authzID string) error {
	var err error
	c.session, c.first, err = c.mech(scram.Auth{User: user, Pass: password, Zid: authzID}).Authenticate(context.Background(), "")
	return err
}

func (c *franzScram) Step(challenge string) (string, error) {
	if c.first != nil {
		first := c.first
		c.first = nil
		return string(first), nil
	}
	done, next, err := c.session.Challenge([]byte(challenge))
	c.done = done
	return string(next), err
}

func (c *franzScram) Done() bool { return c.done }
