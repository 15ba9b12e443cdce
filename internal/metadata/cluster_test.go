package metadata

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// testCluster is n metadata nodes in one process on loopback TCP.
type testCluster struct {
	t         *testing.T
	configure func(*Options) // optional, applied to each node's options
	voters    []Voter
	dirs      []string
	nets      []*Network
	nodes     []*Node
}

func startCluster(t *testing.T, size int) *testCluster {
	t.Helper()
	return startClusterWith(t, size, nil)
}

func startClusterWith(t *testing.T, size int, configure func(*Options)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, configure: configure}
	for i := range size {
		nw, err := Listen("127.0.0.1:0", "", nil, NetworkTLS{})
		if err != nil {
			t.Fatal(err)
		}
		c.nets = append(c.nets, nw)
		c.dirs = append(c.dirs, t.TempDir())
		c.voters = append(c.voters, Voter{NodeID: int32(i + 1), Addr: string(nw.Addr())})
	}
	c.nodes = make([]*Node, size)
	for i := range size {
		c.startNode(i, c.nets[i])
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
	})
	for i := range size {
		c.waitReady(i)
	}
	return c
}

func (c *testCluster) startNode(i int, nw *Network) {
	c.t.Helper()
	opts := Options{Dir: c.dirs[i], NodeID: int32(i + 1), Network: nw, Voters: c.voters,
		HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 600 * time.Millisecond}
	if c.configure != nil {
		c.configure(&opts)
	}
	n, err := Start(context.Background(), opts)
	if err != nil {
		c.t.Fatal(err)
	}
	c.nets[i], c.nodes[i] = nw, n
}

func (c *testCluster) waitReady(i int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.nodes[i].WaitReady(ctx); err != nil {
		c.t.Fatalf("node %d: %v", i+1, err)
	}
}

// stop closes node i (a crash as far as the others can tell).
func (c *testCluster) stop(i int) {
	if c.nodes[i] != nil {
		c.nodes[i].Close()
		c.nodes[i] = nil
	}
	if c.nets[i] != nil {
		c.nets[i].Close()
		c.nets[i] = nil
	}
}

// restart starts node i again from its directory on its address.
func (c *testCluster) restart(i int) {
	c.t.Helper()
	nw, err := Listen(c.voters[i].Addr, "", nil, NetworkTLS{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.startNode(i, nw)
	c.waitReady(i)
}

// leader waits until exactly one running node leads and returns its index.
func (c *testCluster) leader() int {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		found := -1
		count := 0
		for i, n := range c.nodes {
			if n != nil && n.Leader() {
				found, count = i, count+1
			}
		}
		if count == 1 {
			return found
		}
		c.waitAnyChange(100 * time.Millisecond)
	}
	c.t.Fatal("no single leader")
	return -1
}

// waitAnyChange blocks until some node's image changes or d passes; it
// paces polling loops without sleeping blindly.
func (c *testCluster) waitAnyChange(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for _, n := range c.nodes {
		if n != nil {
			_, ch := n.fsm.latest()
			select {
			case <-ch:
				return
			case <-timer.C:
				return
			default:
			}
		}
	}
	<-timer.C
}

func (c *testCluster) follower() int {
	l := c.leader()
	for i, n := range c.nodes {
		if n != nil && i != l {
			return i
		}
	}
	c.t.Fatal("no follower")
	return -1
}

func (c *testCluster) registerAll() {
	c.t.Helper()
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := n.RegisterBroker(ctx, BrokerRegistration{NodeID: int32(i + 1), Host: "127.0.0.1", Port: int32(9092 + i)})
		cancel()
		if err != nil {
			c.t.Fatalf("registering %d: %v", i+1, err)
		}
	}
}

func snapshotBytes(t *testing.T, img *Image) string {
	t.Helper()
	b, err := img.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// converged waits until every running node's image encodes the same.
func (c *testCluster) converged() {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var first string
		same := true
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			s := snapshotBytes(c.t, n.Image())
			if first == "" {
				first = s
			} else if s != first {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatal("images did not converge")
		}
		c.waitAnyChange(50 * time.Millisecond)
	}
}

func TestClusterForwardingAndConvergence(t *testing.T) {
	c := startCluster(t, 3)
	c.registerAll()
	ids := map[string]bool{}
	for _, n := range c.nodes {
		ids[n.Image().ClusterID()] = true
	}
	if len(ids) != 1 {
		t.Fatalf("nodes disagree on the cluster id: %v", ids)
	}
	f := c.follower()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	created, err := c.nodes[f].CreateTopic(ctx, CreateTopicSpec{Name: "orders", NumPartitions: 3, ReplicationFactor: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Applied locally before the call returned.
	local, ok := c.nodes[f].Image().Topic("orders")
	if !ok || local.ID != created.ID || len(local.Partitions) != 3 {
		t.Fatalf("follower image after forwarded create: %+v %v", local, ok)
	}
	// Errors keep their codes through forwarding.
	_, err = c.nodes[f].CreateTopic(ctx, CreateTopicSpec{Name: "orders", NumPartitions: 1, ReplicationFactor: 1})
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("duplicate create from follower: %v", err)
	}
	var cerr *Error
	if !errors.As(err, &cerr) || cerr.Message == "" {
		t.Fatalf("no message in %v", err)
	}
	if err := c.nodes[f].AlterConfigs(ctx, ResourceTopic, "orders", []ConfigOp{{Name: "retention.ms", Value: "1000"}}, false); err != nil {
		t.Fatal(err)
	}
	if err := c.nodes[f].CreatePartitions(ctx, "orders", 4, nil, false); err != nil {
		t.Fatal(err)
	}
	first, err := c.nodes[f].AllocateProducerIDs(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.nodes[c.leader()].AllocateProducerIDs(ctx, 10)
	if err != nil || second != first+10 {
		t.Fatalf("producer ids %d then %d, %v", first, second, err)
	}
	if err := c.nodes[f].DeleteTopic(ctx, "orders", [16]byte{}); !errors.Is(err, kerr.TopicDeletionDisabled) && err != nil {
		t.Fatal(err)
	}
	c.converged()
}

func TestClusterLeaderFailover(t *testing.T) {
	c := startCluster(t, 3)
	c.registerAll()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := c.leader()
	if _, err := c.nodes[old].CreateTopic(ctx, CreateTopicSpec{Name: "before", NumPartitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	c.stop(old)
	next := c.leader()
	if next == old {
		t.Fatal("stopped node still leads")
	}
	// Both survivors can write, the follower by forwarding to the new leader.
	for i, n := range c.nodes {
		if n == nil {
			continue
		}
		if _, err := n.CreateTopic(ctx, CreateTopicSpec{Name: fmt.Sprintf("after-%d", i), NumPartitions: 1, ReplicationFactor: 1}); err != nil {
			t.Fatalf("node %d: %v", i+1, err)
		}
	}
	c.restart(old)
	c.converged()
	for i := range c.nodes {
		if _, ok := c.nodes[old].Image().Topic(fmt.Sprintf("after-%d", i)); !ok && i != old {
			t.Fatalf("restarted node misses after-%d", i)
		}
	}
	if _, ok := c.nodes[old].Image().Topic("before"); !ok {
		t.Fatal("restarted node lost its own topic")
	}
}

func TestClusterFencing(t *testing.T) {
	c := startCluster(t, 3)
	c.registerAll()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	// Brokers 1 and 2 heartbeat; 3 does not and is fenced.
	for _, i := range []int{0, 1} {
		go func() {
			defer func() { done <- struct{}{} }()
			c.nodes[i].RunBrokerHeartbeats(ctx, int32(i+1))
		}()
	}
	defer func() { cancel(); <-done; <-done }()
	l := c.leader()
	waitBroker := func(id int32, fenced bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if br, ok := c.nodes[l].Image().Broker(id); ok && br.Fenced == fenced {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %d fenced != %v", id, fenced)
			}
			c.waitAnyChange(100 * time.Millisecond)
		}
	}
	waitBroker(3, true)
	if br, _ := c.nodes[l].Image().Broker(1); br.Fenced {
		t.Fatal("heartbeating broker 1 fenced")
	}
	// New topics avoid the fenced broker.
	topic, err := c.nodes[l].CreateTopic(ctx, CreateTopicSpec{Name: "t", NumPartitions: 6, ReplicationFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range topic.Partitions {
		for _, r := range p.Replicas {
			if r == 3 {
				t.Fatalf("replica on fenced broker: %v", p.Replicas)
			}
		}
	}
	// A heartbeat unfences; a controlled shutdown fences at once.
	if err := c.nodes[2].BrokerHeartbeat(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waitBroker(3, false)
	if err := c.nodes[2].FenceBroker(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if br, _ := c.nodes[2].Image().Broker(3); !br.Fenced {
		t.Fatal("controlled shutdown did not fence")
	}
	q, err := controllerwire.DescribeQuorum(ctx, c.voters[2].Addr)
	if err != nil {
		t.Fatal(err)
	}
	if q.LeaderID != int32(l+1) || len(q.Voters) != 3 || len(q.Brokers) != 3 {
		t.Fatalf("quorum %+v", q)
	}
	for _, v := range q.Voters {
		if !v.Reachable || v.Lag < 0 {
			t.Fatalf("voter %+v", v)
		}
	}
}

func TestClusterObserverJoins(t *testing.T) {
	c := startCluster(t, 3)
	c.registerAll()
	nw, err := Listen("127.0.0.1:0", "", nil, NetworkTLS{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	obs, err := Start(ctx, Options{Dir: t.TempDir(), NodeID: 4, Network: nw, Voters: c.voters})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { obs.Close(); nw.Close() }()
	if err := obs.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if obs.Image().ClusterID() != c.nodes[0].Image().ClusterID() {
		t.Fatal("observer has another cluster id")
	}
	if err := obs.RegisterBroker(ctx, BrokerRegistration{NodeID: 4, Host: "127.0.0.1", Port: 9099}); err != nil {
		t.Fatal(err)
	}
	if _, err := obs.CreateTopic(ctx, CreateTopicSpec{Name: "from-observer", NumPartitions: 4, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	if _, ok := obs.Image().Topic("from-observer"); !ok {
		t.Fatal("observer's own image misses its topic")
	}
	q, err := obs.DescribeQuorum(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Voters) != 3 || len(q.Observers) != 1 || q.Observers[0].NodeID != 4 || len(q.Brokers) != 4 {
		t.Fatalf("quorum %+v", q)
	}
	if obs.Leader() {
		t.Fatal("an observer leads")
	}
}
