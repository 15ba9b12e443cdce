package e2e

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
)

// TestConnectionsPerIP: with max.connections.per.ip=4, a fifth connection
// from 127.0.0.1 is closed unserved while 127.0.0.2, listed in the
// overrides, gets more; once one closes, a new one is served; an ip quota
// of connection_creation_rate, set with AlterClientQuotas, refuses a burst
// of new connections beyond it.
func TestConnectionsPerIP(t *testing.T) {
	srv := startServer(t, map[string]string{
		"max.connections.per.ip":           "4",
		"max.connections.per.ip.overrides": "127.0.0.2:10",
		// Rates over two one-second samples, so that a short burst
		// exceeds a rate of one a second.
		"quota.window.num": "2",
	})
	ctx := testContext(t, testTimeout)
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		conn, err := d.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	var held []net.Conn
	for i := range 4 {
		c := dial("127.0.0.1")
		if !served(c) {
			t.Fatalf("connection %d of 4 from 127.0.0.1 not served", i+1)
		}
		held = append(held, c)
	}
	if served(dial("127.0.0.1")) {
		t.Fatal("a fifth connection from 127.0.0.1 was served with max.connections.per.ip=4")
	}
	for i := range 6 {
		if !served(dial("127.0.0.2")) {
			t.Fatalf("connection %d from 127.0.0.2 (override 10) not served", i+1)
		}
	}
	held[0].Close()
	eventually(t, ctx, "a connection slot of 127.0.0.1 to come back", func() (bool, string) {
		c := dial("127.0.0.1")
		defer c.Close()
		return served(c), "refused"
	})

	// An ip entity's connection_creation_rate: at most 1 per second from
	// 127.0.0.3, so of a quick burst some are refused. The admin client
	// connects from 127.0.0.4: from 127.0.0.1, whose slots the test
	// holds, franz-go's second connection (beside its seed one) could be
	// refused.
	adminDialer := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
	adm := kadm.NewClient(newKgo(t, srv.Addr, kgo.Dialer(adminDialer.DialContext)))
	rate := 1.0
	if _, err := adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{{
		Entity: []kadm.ClientQuotaEntityComponent{{Type: "ip", Name: kadm.StringPtr("127.0.0.3")}},
		Ops:    []kadm.AlterClientQuotaOp{{Key: "connection_creation_rate", Value: rate}},
	}}); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for range 6 {
		c := dial("127.0.0.3")
		if !served(c) {
			refused++
		}
		c.Close()
	}
	if refused == 0 {
		t.Fatal("six connections in a burst from an ip limited to one a second were all served")
	}
}

// served reports whether a raw connection gets an ApiVersions answer.
func served(conn net.Conn) bool {
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	// ApiVersions v0: size 10, key 18, version 0, correlation 1, client id "".
	if _, err := conn.Write([]byte{0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0}); err != nil {
		return false
	}
	var b [4]byte
	_, err := conn.Read(b[:])
	return err == nil
}

// TestQuotasHoldUnderStorm (RELIABILITY 9.9): while a thousand
// connections from 127.0.0.5 storm a SASL broker (each held open, silent
// or sending a partial frame), at most max.connections.per.ip of them are
// served, and the per-principal byte quota of user bob still throttles
// him: a producer of his over the quota is told so in throttle_time_ms
// and held near the rate, while alice, without a quota, is not throttled.
func TestQuotasHoldUnderStorm(t *testing.T) {
	config := map[string]string{
		"listeners":                "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms":  "PLAIN",
		"sasl.without.tls.allowed": "true",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`user_alice="alice-secret" user_bob="bob-secret";`,
		"max.connections.per.ip":           "50",
		"max.connections.per.ip.overrides": "127.0.0.1:1000",
	}
	for k, v := range quotaConfig {
		config[k] = v
	}
	srv := startServer(t, config)
	ctx := testContext(t, testTimeout)
	alice := plainUser("alice", "alice-secret")
	adm := kadm.NewClient(newKgo(t, srv.Addr, alice))
	topic := uniqueTopic(t, "storm-quota")
	createTopic(t, ctx, adm, topic, 1, nil)
	alterQuota(t, ctx, adm, quotaEntity("user", kadm.StringPtr("bob")), "producer_byte_rate", quotaRate, false)

	// The storm: connections from 127.0.0.5, half silent, half sending
	// the start of a large frame; each answered or refused is counted.
	const storm = 1000
	var answered atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range storm {
		wg.Go(func() {
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}}
			conn, err := d.Dial("tcp", srv.Addr)
			if err != nil {
				return
			}
			defer conn.Close()
			if i%2 == 0 {
				// A SASL listener answers ApiVersions before
				// authentication: served connections show.
				if served(conn) {
					answered.Add(1)
				}
			} else {
				_, _ = conn.Write([]byte{0, 0x10, 0, 0, 0, 18}) // 1 MiB announced, 2 bytes sent
			}
			_ = conn.SetDeadline(time.Time{})
			<-stop
		})
	}
	defer func() { close(stop); wg.Wait() }()

	bob := newKgo(t, srv.Addr, kgo.ClientID("bob-producer"), kgo.MaxVersions(kversion.V3_7_0()), plainUser("bob", "bob-secret"))
	if ms := produceThrottle(t, ctx, bob, topic, 15); ms <= 0 {
		t.Fatalf("bob over his quota during the storm: throttle_time_ms %d, want > 0", ms)
	}
	aliceRaw := newKgo(t, srv.Addr, kgo.ClientID("alice-producer"), kgo.MaxVersions(kversion.V3_7_0()), alice)
	if ms := produceThrottle(t, ctx, aliceRaw, topic, 15); ms != 0 {
		t.Fatalf("alice without a quota during the storm: throttle_time_ms %d, want 0", ms)
	}
	if n := answered.Load(); n > 50 {
		t.Fatalf("%d connections from 127.0.0.5 served, max.connections.per.ip is 50", n)
	}
	t.Logf("storm of %d connections from 127.0.0.5: %d served", storm, answered.Load())
}
