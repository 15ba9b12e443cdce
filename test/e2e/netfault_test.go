package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The network fault fabric of TestClusterFailover: real cuts, latency and
// loss between the nodes of a cluster, and between them and the test's
// clients, on one link and one direction at a time.
//
// Each node runs in a network namespace of its own that holds nothing but
// a loopback interface, so it can reach no other node except through the
// test process. The node listens on 127.0.0.1:P (Kafka), 127.0.0.1:C
// (controller) and, when its brokers replicate over a listener of their
// own (inter.broker.listener.name), 127.0.0.1:I inside its namespace, and
// advertises those addresses. In every other node's namespace the test
// listens on the same addresses, and in its own namespace too: the address a node advertises is thus, in
// each namespace, a TCP proxy that the test owns for one link (source,
// destination), and the same address in the test's namespace is the
// clients' proxy to that node. Every proxy dials its destination from
// inside the destination's namespace. Every byte between two nodes, or
// between a client and a node, passes one proxy, which knows its link.
//
//	node 1's namespace          test process                node 2's namespace
//	fjord 1 --> 127.0.0.1:P2 --> proxy (1->2) --dial in 2--> 127.0.0.1:P2 fjord 2
//	kgo (test's namespace) --> 127.0.0.1:P2 --> proxy (clients->2) --^
//
// A link's direction carries the bytes its source sends, on connections
// either end opened: cutting 1->2 holds node 1's requests to node 2 and
// its answers to node 2's requests, as dropping every packet from 1 to 2
// would. Held bytes are delivered when the cut heals, as TCP retransmits
// them; a close is held like data. A new connection across a cut is
// accepted (the kernel completes the handshake at the proxy) but passes
// nothing, so the dialer sees its first request time out rather than its
// connect: the one way the fabric differs from dropped packets.

// clientsEndpoint is the endpoint number of the test's own clients in a
// link; nodes are 1 to n.
const clientsEndpoint = 0

// netLink is one direction between two endpoints.
type netLink struct{ from, to int }

// linkFault is what a link direction does to the bytes it carries.
type linkFault struct {
	// cut holds every byte (and close) until it is healed.
	cut bool
	// delay is added to each chunk's delivery: one-way latency.
	delay time.Duration
	// lossPercent is the chance that a chunk is "lost": see forward.
	lossPercent int
}

// Limits of one proxied connection.
const (
	// proxyChunkBytes is the most one read takes from a connection.
	proxyChunkBytes = 32 << 10
	// proxyQueueChunks bounds the chunks read and not yet delivered per
	// direction; beyond them the kernel's buffers fill and the sender
	// blocks, as behind a slow link.
	proxyQueueChunks = 16
	// proxyDialTimeout bounds a proxy's dial to its destination, which is
	// on the same host.
	proxyDialTimeout = 2 * time.Second
	// minRTO is Linux's minimum TCP retransmission timeout, the stall a
	// lost segment costs (see forward).
	minRTO = 200 * time.Millisecond
	// maxLossesInARow bounds the retransmissions of one chunk.
	maxLossesInARow = 4
)

// netFabric is the namespaces and proxies of one cluster. Its goroutines
// (one accept loop per listener, four per connection: a reader and a
// forwarder per direction) are joined by close.
type netFabric struct {
	nodes           int
	names           []string // names[n-1] is node n's namespace
	kafkaPorts      []int    // kafkaPorts[n-1] is node n's Kafka port
	controllerPorts []int
	// interBrokerPorts are the ports of an inter-broker listener,
	// proxied whether or not the nodes listen there.
	interBrokerPorts []int
	ctx              context.Context
	cancel           context.CancelFunc
	wg               sync.WaitGroup

	mu struct {
		sync.Mutex
		links map[netLink]linkFault
		// changed is closed and replaced whenever links change, waking
		// the forwarders held by a cut.
		changed   chan struct{}
		listeners []net.Listener
		conns     map[net.Conn]struct{}
	}
}

// netNSPrefix starts the name of every namespace the fault tests make,
// followed by the test process's PID, so a later run can remove what a
// crashed one left behind.
const netNSPrefix = "fjnf-"

// netFabricSeq numbers the fabrics of one test process, for unique
// namespace names.
var netFabricSeq atomic.Int64

// newNetFabric makes a namespace per node and the proxies of every link,
// all removed when the test ends. The namespaces are removed last, after
// the servers (started later, so stopped earlier) are gone.
func newNetFabric(t *testing.T, nodes int) *netFabric {
	t.Helper()
	removeStaleNetNS()
	f := &netFabric{nodes: nodes}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.mu.links = map[netLink]linkFault{}
	f.mu.changed = make(chan struct{})
	f.mu.conns = map[net.Conn]struct{}{}
	seq := netFabricSeq.Add(1)
	for n := 1; n <= nodes; n++ {
		name := fmt.Sprintf("%s%d-%d-n%d", netNSPrefix, os.Getpid(), seq, n)
		if err := addNetNS(name); err != nil {
			t.Fatal(err)
		}
		f.names = append(f.names, name)
		t.Cleanup(func() {
			if err := deleteNetNS(name); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(f.close)
	// The clients' proxies take free ports in the test's namespace; the
	// nodes' namespaces are new, so the same ports are free in each.
	for n := 1; n <= nodes; n++ {
		f.kafkaPorts = append(f.kafkaPorts, f.serve(t, "", clientsEndpoint, n, 0))
		f.controllerPorts = append(f.controllerPorts, f.serve(t, "", clientsEndpoint, n, 0))
		f.interBrokerPorts = append(f.interBrokerPorts, f.serve(t, "", clientsEndpoint, n, 0))
	}
	for from := 1; from <= nodes; from++ {
		for to := 1; to <= nodes; to++ {
			if from != to {
				f.serve(t, f.names[from-1], from, to, f.kafkaPorts[to-1])
				f.serve(t, f.names[from-1], from, to, f.controllerPorts[to-1])
				f.serve(t, f.names[from-1], from, to, f.interBrokerPorts[to-1])
			}
		}
	}
	return f
}

// serve listens on 127.0.0.1:port (0: a free one) in namespace ns for the
// link from -> to and returns the port.
func (f *netFabric) serve(t *testing.T, ns string, from, to, port int) int {
	t.Helper()
	l, err := listenIn(ns, fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("proxy %d->%d: %v", from, to, err)
	}
	f.mu.Lock()
	f.mu.listeners = append(f.mu.listeners, l)
	f.mu.Unlock()
	port = l.Addr().(*net.TCPAddr).Port
	f.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if !f.track(c) {
				return
			}
			f.wg.Go(func() { f.proxy(c, from, to, port) })
		}
	})
	return port
}

// track registers a connection for close, or closes it if the fabric is
// closing.
func (f *netFabric) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ctx.Err() != nil {
		c.Close()
		return false
	}
	f.mu.conns[c] = struct{}{}
	return true
}

func (f *netFabric) closeConn(c net.Conn) {
	if c == nil {
		return
	}
	f.mu.Lock()
	delete(f.mu.conns, c)
	f.mu.Unlock()
	c.Close()
}

// close ends every proxy and connection and waits for their goroutines.
func (f *netFabric) close() {
	f.cancel()
	f.mu.Lock()
	for _, l := range f.mu.listeners {
		l.Close()
	}
	for c := range f.mu.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// chunk is what one read returned, or the end of the stream.
type chunk struct {
	data []byte
	at   time.Time
	end  bool
}

// proxy joins a connection accepted for from -> to with one it dials to
// node to. A failed dial (the node is down) ends the accepted connection,
// subject to the link as any close is.
func (f *netFabric) proxy(a net.Conn, from, to, port int) {
	b, err := dialIn(f.names[to-1], fmt.Sprintf("127.0.0.1:%d", port), proxyDialTimeout)
	if err != nil || !f.track(b) {
		b = nil
	}
	up := make(chan chunk, proxyQueueChunks)
	down := make(chan chunk, proxyQueueChunks)
	var wg sync.WaitGroup
	wg.Go(func() { f.read(a, up) })
	wg.Go(func() { f.forward(up, b, netLink{from, to}) })
	if b != nil {
		wg.Go(func() { f.read(b, down) })
	} else {
		down <- chunk{end: true}
	}
	wg.Go(func() { f.forward(down, a, netLink{to, from}) })
	wg.Wait()
}

// read passes what c delivers to out, then the end of the stream.
func (f *netFabric) read(c net.Conn, out chan<- chunk) {
	buf := make([]byte, proxyChunkBytes)
	for {
		n, err := c.Read(buf)
		next := chunk{data: bytes.Clone(buf[:n]), at: time.Now(), end: err != nil}
		if n > 0 || next.end {
			select {
			case out <- next:
			case <-f.ctx.Done():
				return
			}
		}
		if next.end {
			return
		}
	}
}

// forward delivers the chunks of in to dst as link l allows: not while it
// is cut, each chunk its delay after it was read, and a lost chunk later
// still. TCP never drops bytes it accepted: it retransmits a lost segment
// after a retransmission timeout (at least minRTO on Linux, doubling for
// each retransmission lost too), while everything behind it on the
// connection waits. So packet loss is modelled as such stalls, not as
// dropped data; the end of the stream closes dst. After a failed write
// (dst went away) the rest is read and discarded.
func (f *netFabric) forward(in <-chan chunk, dst net.Conn, l netLink) {
	broken := dst == nil
	for {
		var c chunk
		select {
		case c = <-in:
		case <-f.ctx.Done():
			return
		}
		lf, ok := f.waitUncut(l)
		if !ok {
			return
		}
		wait := time.Until(c.at.Add(lf.delay))
		rto := minRTO
		for range maxLossesInARow {
			if rand.IntN(100) >= lf.lossPercent {
				break
			}
			wait = max(wait, 0) + rto
			rto *= 2
		}
		if !f.sleep(wait) {
			return
		}
		if c.end {
			f.closeConn(dst)
			return
		}
		if !broken {
			if _, err := dst.Write(c.data); err != nil {
				broken = true
			}
		}
	}
}

// waitUncut waits until l is not cut and returns its fault; false when the
// fabric is closing.
func (f *netFabric) waitUncut(l netLink) (linkFault, bool) {
	for {
		f.mu.Lock()
		lf, changed := f.mu.links[l], f.mu.changed
		f.mu.Unlock()
		if !lf.cut {
			return lf, true
		}
		select {
		case <-changed:
		case <-f.ctx.Done():
			return lf, false
		}
	}
}

// sleep waits d, the link's latency or a retransmission stall; false when
// the fabric is closing.
func (f *netFabric) sleep(d time.Duration) bool {
	if d <= 0 {
		return f.ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// set changes links; each function gets and returns one link's fault.
func (f *netFabric) set(change func(l netLink, lf linkFault) linkFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for from := clientsEndpoint; from <= f.nodes; from++ {
		for to := clientsEndpoint; to <= f.nodes; to++ {
			if from == to {
				continue
			}
			l := netLink{from, to}
			if lf := change(l, f.mu.links[l]); lf == (linkFault{}) {
				delete(f.mu.links, l)
			} else {
				f.mu.links[l] = lf
			}
		}
	}
	close(f.mu.changed)
	f.mu.changed = make(chan struct{})
}

// isNode reports whether an endpoint is a node rather than the clients.
func isNode(endpoint int) bool { return endpoint != clientsEndpoint }

// isolate cuts node n off from every other node, both ways; the clients
// still reach it.
func (f *netFabric) isolate(n int) {
	f.set(func(l netLink, lf linkFault) linkFault {
		if isNode(l.from) && isNode(l.to) && (l.from == n || l.to == n) {
			lf.cut = true
		}
		return lf
	})
}

// silence cuts what node n sends to the other nodes: it still hears them,
// and the clients still reach it both ways.
func (f *netFabric) silence(n int) {
	f.set(func(l netLink, lf linkFault) linkFault {
		if l.from == n && isNode(l.to) {
			lf.cut = true
		}
		return lf
	})
}

// degrade adds delay and loss to every link of node n, both ways, the
// clients' included.
func (f *netFabric) degrade(n int, delay time.Duration, lossPercent int) {
	f.set(func(l netLink, lf linkFault) linkFault {
		if l.from == n || l.to == n {
			lf.delay, lf.lossPercent = delay, lossPercent
		}
		return lf
	})
}

// heal clears every link's fault.
func (f *netFabric) heal() {
	f.set(func(netLink, linkFault) linkFault { return linkFault{} })
}

// controllers lists the nodes' controller addresses as the test's
// namespace reaches them, for `fjord cluster status`.
func (f *netFabric) controllers() []string {
	var out []string
	for _, p := range f.controllerPorts {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", p))
	}
	return out
}

// startNetCluster starts a cluster of nodes combined nodes, each in its
// namespace of a new fabric, and waits until each lists every broker. The
// servers' Addr is the clients' proxy to each; links are healed before the
// servers stop at the end of the test. With sec, the brokers replicate
// over an inter-broker listener on the fabric's inter-broker ports and the
// controllers talk over TLS (cluster_failover_tls_test.go).
func startNetCluster(t *testing.T, nodes int, config map[string]string, sec *clusterSecurity) ([]*fjordtest.Server, *netFabric) {
	t.Helper()
	f := newNetFabric(t, nodes)
	var voters []string
	for i, p := range f.controllerPorts {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, p))
	}
	var opts []fjordtest.Options
	for i := range nodes {
		o := fjordtest.Options{
			Args:   []string{"--node-id", strconv.Itoa(i + 1), "--controllers", strings.Join(voters, ",")},
			Config: config, NetNS: f.names[i], Listen: fmt.Sprintf("127.0.0.1:%d", f.kafkaPorts[i]),
		}
		if sec != nil {
			o = sec.secure(o, i+1, fmt.Sprintf("127.0.0.1:%d", f.interBrokerPorts[i]))
		}
		opts = append(opts, o)
	}
	servers := fjordtest.StartAll(t, opts...)
	t.Cleanup(f.heal)
	waitBrokersListed(t, servers)
	return servers, f
}

// waitBrokersListed waits until every server's Metadata lists them all.
func waitBrokersListed(t *testing.T, servers []*fjordtest.Server) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	for i, s := range servers {
		c := nodeClient(t, s.Addr)
		eventually(t, ctx, fmt.Sprintf("node %d lists %d brokers", i+1, len(servers)), func() (bool, string) {
			md, err := nodeMetadata(ctx, c)
			if err != nil {
				return false, err.Error()
			}
			return len(md.Brokers) == len(servers), fmt.Sprintf("%d brokers", len(md.Brokers))
		})
	}
}

// requireNetNSEnv makes unusable network namespaces a failure instead of a
// skip (TestNetFabric) or a run without network faults
// (TestClusterFailover); .ci/run sets it, since CI runs as root.
const requireNetNSEnv = "FJORD_E2E_REQUIRE_NETNS"

// netFaultsUsable is netNSUsable, fatal when requireNetNSEnv is set.
func netFaultsUsable(t *testing.T) error {
	t.Helper()
	err := netNSUsable()
	if err != nil && os.Getenv(requireNetNSEnv) != "" {
		t.Fatalf("network namespaces are required (%s) but unusable: %v", requireNetNSEnv, err)
	}
	return err
}
