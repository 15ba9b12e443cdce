package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/controllerwire"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// faultTLSEnv, set to 1, makes TestClusterFailover run its schedules on a
// cluster secured as clusterSecurity describes; TestClusterFailoverTLS
// always does, for one short schedule.
const faultTLSEnv = "FJORD_FAULT_TLS"

// faultTLS reports whether faultTLSEnv asks for the secured cluster.
func faultTLS(t *testing.T) bool {
	t.Helper()
	switch v := os.Getenv(faultTLSEnv); v {
	case "", "0":
		return false
	case "1":
		return true
	default:
		t.Fatalf("%s: want 0 or 1, got %q", faultTLSEnv, v)
		return false
	}
}

// The schedule TestClusterFailoverTLS runs. On the fabric, seed 8 cuts a
// partition leader off from the other nodes (its inter-broker and
// controller connections held), SIGKILLs a partition leader, which
// restarts, dials again over TLS and logs in with SCRAM against the
// metadata log, SIGSTOPs one (a zombie until fenced), slows and loses
// segments on a leader's links (TLS records split across held chunks),
// and restarts every node back to back; on loopback it draws from the
// faults there. About a minute on two cores.
const (
	tlsFaultSeed  = 8
	tlsFaultSteps = 5
)

// TestClusterFailoverTLS is TestClusterFailover, one short schedule, on a
// cluster whose brokers replicate over SASL_SSL with mutual TLS and whose
// controllers talk over mutual TLS, while the clients use the plaintext
// client listener: CI's proof that faults do not break the secured paths
// (a follower's fetch session, a transaction marker, a Raft connection
// that must be dialled and authenticated again after each heal).
func TestClusterFailoverTLS(t *testing.T) {
	runFaultSchedule(t, tlsFaultSeed, tlsFaultSteps, true)
}

// clusterSecurity secures a cluster for the fault schedules: each node
// has its own certificate of one CA; the brokers replicate over a
// listener named INTERNAL, SASL_SSL with client certificates required and
// SASL PLAIN or SCRAM-SHA-512 as the broker user; the controller listener
// (Raft and forwarded operations) is mutual TLS. The first listener stays
// PLAINTEXT, for the test's clients.
type clusterSecurity struct {
	ca        string
	keyStores []string // keyStores[n-1] is node n's PEM key and certificate
	mechanism string   // the inter-broker SASL mechanism
	// controllerClient is the TLS configuration the test asks the
	// controller listener with, node 1's certificate.
	controllerClient *tls.Config
}

// The broker user the nodes authenticate to each other as.
const (
	interBrokerUser     = "broker"
	interBrokerPassword = "broker-secret"
)

// interBrokerMechanism alternates PLAIN (odd seeds) and SCRAM-SHA-512
// (even seeds), so that the default seeds of a TLS run cover both: PLAIN
// checks passwords from the listener's JAAS entry, SCRAM against
// credentials in the metadata log, which a restarted broker must read
// before its followers can log in to it.
func interBrokerMechanism(seed int64) string {
	if seed%2 == 0 {
		return "SCRAM-SHA-512"
	}
	return "PLAIN"
}

func newClusterSecurity(t *testing.T, nodes int, mechanism string) *clusterSecurity {
	t.Helper()
	pki := fjordtest.NewPKI(t, "fault-cluster")
	s := &clusterSecurity{ca: pki.CA, mechanism: mechanism}
	for n := 1; n <= nodes; n++ {
		s.keyStores = append(s.keyStores, pki.NodeKeyStore(fmt.Sprintf("node-%d", n)))
	}
	cert, err := tls.LoadX509KeyPair(s.keyStores[0], s.keyStores[0])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("no certificate in %s", pki.CA)
	}
	s.controllerClient = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12}
	return s
}

// secure returns node n's options with the security settings added, its
// inter-broker listener on interBrokerAddr. The client listener comes
// first, so --listen (opts.Listen, or the harness's free port) sets its
// address and leaves INTERNAL's.
func (s *clusterSecurity) secure(opts fjordtest.Options, n int, interBrokerAddr string) fjordtest.Options {
	config := maps.Clone(opts.Config)
	if config == nil {
		config = map[string]string{}
	}
	maps.Copy(config, map[string]string{
		"listeners":                                      "PLAINTEXT://127.0.0.1:0,INTERNAL://" + interBrokerAddr,
		"listener.security.protocol.map":                 "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL",
		"inter.broker.listener.name":                     "INTERNAL",
		"ssl.keystore.location":                          s.keyStores[n-1],
		"ssl.truststore.location":                        s.ca,
		"listener.name.internal.ssl.client.auth":         "required",
		"listener.name.internal.sasl.enabled.mechanisms": s.mechanism,
		"sasl.mechanism.inter.broker.protocol":           s.mechanism,
		"controller.listener.security.protocol":          "SSL",
	})
	login := fmt.Sprintf(`username="%s" password="%s"`, interBrokerUser, interBrokerPassword)
	args := append([]string(nil), opts.Args...)
	switch s.mechanism {
	case "PLAIN":
		config["listener.name.internal.plain.sasl.jaas.config"] = "org.apache.kafka.common.security.plain.PlainLoginModule required " +
			login + fmt.Sprintf(` user_%s="%s";`, interBrokerUser, interBrokerPassword)
	default:
		config["listener.name.internal.scram-sha-512.sasl.jaas.config"] = "org.apache.kafka.common.security.scram.ScramLoginModule required " +
			login + ";"
		// Every node creates the credential if the metadata log has none
		// yet: whichever starts first.
		args = append(args, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", s.mechanism, interBrokerUser, interBrokerPassword))
	}
	opts.Config, opts.Args = config, args
	return opts
}

// describe says how the cluster is secured, for the test log.
func (s *clusterSecurity) describe() string {
	return fmt.Sprintf("inter-broker listener INTERNAL on SASL_SSL (%s, client certificates required), controller listener on mutual TLS", s.mechanism)
}

// quorumTimeout bounds one quorum status request, as `fjord cluster
// status --timeout 5s` in clusterStatus.
const quorumTimeout = 5 * time.Second

// quorumStatus is clusterStatus over the controller listener's mutual
// TLS, which `fjord cluster status` does not speak: the quorum as the
// first controller that answers reports it, and its leader.
func (s *clusterSecurity) quorumStatus(ctx context.Context, controllers []string) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, quorumTimeout)
	defer cancel()
	var errs []error
	for _, addr := range controllers {
		q, err := s.describeQuorum(ctx, addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out := fmt.Sprintf("leader %d term %d voters %+v brokers %+v", q.LeaderID, q.Term, q.Voters, q.Brokers)
		if q.LeaderID <= 0 {
			return out, -1, fmt.Errorf("no leader in %s", out)
		}
		return out, int(q.LeaderID), nil
	}
	return fmt.Sprint(errs), -1, fmt.Errorf("no controller answered: %v", errs)
}

// describeQuorum is controllerwire.DescribeQuorum over TLS: it follows a
// follower's NOT_CONTROLLER to the leader's address.
func (s *clusterSecurity) describeQuorum(ctx context.Context, addr string) (controllerwire.QuorumStatus, error) {
	for range controllerwire.MaxHops {
		var resp struct {
			ErrorCode    int16                        `json:"errorCode,omitempty"`
			ErrorMessage string                       `json:"errorMessage,omitempty"`
			LeaderAddr   string                       `json:"leaderAddr,omitempty"`
			Offset       uint64                       `json:"offset"`
			Quorum       *controllerwire.QuorumStatus `json:"quorum,omitempty"`
		}
		if err := s.forward(ctx, addr, &resp); err != nil {
			return controllerwire.QuorumStatus{}, fmt.Errorf("asking %s for the quorum: %w", addr, err)
		}
		switch {
		case resp.ErrorCode == kerr.NotController.Code && resp.LeaderAddr != "":
			addr = resp.LeaderAddr
			continue
		case resp.ErrorCode != 0:
			return controllerwire.QuorumStatus{}, fmt.Errorf("%s: %w: %s", addr, kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
		case resp.Quorum == nil:
			return controllerwire.QuorumStatus{}, fmt.Errorf("%s returned no quorum", addr)
		}
		return *resp.Quorum, nil
	}
	return controllerwire.QuorumStatus{}, fmt.Errorf("no controller leader found from %s", addr)
}

// forward sends one describeQuorum request on a forwarding stream to addr
// and decodes the answer into resp.
func (s *clusterSecurity) forward(ctx context.Context, addr string, resp any) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	cfg := s.controllerClient.Clone()
	cfg.ServerName = host
	deadline, _ := ctx.Deadline()
	c, err := controllerwire.DialTLS(addr, controllerwire.StreamForward, time.Until(deadline), cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	req := map[string]any{"op": controllerwire.OpDescribeQuorum, "timeoutMs": max(time.Until(deadline).Milliseconds(), 1)}
	if err := controllerwire.WriteFrame(c, req); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := controllerwire.ReadFrame(c, &raw); err != nil {
		return err
	}
	return json.Unmarshal(raw, resp)
}
