package clustertest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/controllerwire"
	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/node"
)

// TestClusterOverTLS: three nodes whose brokers replicate over an
// inter-broker listener with mutual TLS and SCRAM (SASL_SSL), and whose
// controllers talk over mutual TLS, serve a replicated topic end to end;
// the controller port refuses a stranger without a certificate, over TLS
// and in plaintext alike.
func TestClusterOverTLS(t *testing.T) {
	pki := fjordtest.NewPKI(t, "cluster")
	keystore := pki.NodeKeyStore("node")
	c := clustertest.Start(t, 3, map[string]string{
		"listeners":                                      "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map":                 "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL",
		"inter.broker.listener.name":                     "INTERNAL",
		"ssl.keystore.location":                          keystore,
		"ssl.truststore.location":                        pki.CA,
		"listener.name.internal.ssl.client.auth":         "required",
		"listener.name.internal.sasl.enabled.mechanisms": "PLAIN",
		"listener.name.internal.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="broker" password="broker-secret" user_broker="broker-secret";`,
		"controller.listener.security.protocol": "SSL",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	const topic = "over-tls"
	if _, err := adm.CreateTopic(ctx, 2, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("3")}, topic); err != nil {
		t.Fatal(err)
	}
	// acks=all with min.insync.replicas=3: every record reached both
	// followers through the SASL_SSL listener.
	produceNumbered(ctx, t, cl, topic, 0, 50)
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for got := 0; got < 50; {
		fs := consumer.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}

	controller := controllerAddr(t, c, 1)
	if _, err := controllerwire.DialTLS(controller, controllerwire.StreamForward, 5*time.Second,
		&tls.Config{InsecureSkipVerify: true}); err == nil {
		// TLS 1.3 reports a refused certificate at the first read.
		if err := strangerGetsNoAnswer(controller, &tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := strangerGetsNoAnswer(controller, nil); err != nil {
		t.Fatalf("plaintext: %v", err)
	}
}

// controllerAddr is node id's controller listener, from its props.
func controllerAddr(t *testing.T, c *clustertest.Cluster, id int32) string {
	t.Helper()
	nd := c.Node(id)
	voters := nd.Props()[node.PropVoters]
	for _, v := range strings.Split(voters, ",") {
		if strings.HasPrefix(v, fmt.Sprintf("%d@", id)) {
			return strings.TrimPrefix(v, fmt.Sprintf("%d@", id))
		}
	}
	t.Fatalf("no controller address for node %d in %q", id, voters)
	return ""
}

// strangerGetsNoAnswer asks the controller listener for its quorum status
// as a stranger would and expects no answer.
func strangerGetsNoAnswer(addr string, cfg *tls.Config) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if cfg != nil {
		tc := tls.Client(conn, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return nil
		}
		conn = tc
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{controllerwire.StreamForward}); err != nil {
		return nil
	}
	if err := controllerwire.WriteFrame(conn, map[string]any{"op": "nodeStatus"}); err != nil {
		return nil
	}
	var resp map[string]any
	if err := controllerwire.ReadFrame(conn, &resp); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return errors.New("the controller neither answered nor closed")
		}
		return nil
	}
	return fmt.Errorf("a stranger got an answer from the controller listener: %v", resp)
}
