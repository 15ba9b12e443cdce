package metadata

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// The controller listener carries two protocols on one TCP port, told apart
// by the first byte a dialer writes (as Consul multiplexes its server port):
//
//	'R'  hashicorp/raft's NetworkTransport RPCs, unchanged after the byte
//	'F'  forwarded controller operations (forward.go)
//
// One port per node keeps --controllers the only address list an operator
// writes, as Kafka's controller.quorum.voters.
const (
	streamRaft    = controllerwire.StreamRaft
	streamForward = controllerwire.StreamForward
)

// Limits of the controller listener.
const (
	// raftMaxPool: pooled outbound raft connections per peer; raft uses a
	// few at most (heartbeats, appends, a snapshot).
	raftMaxPool = 3
	// raftIOTimeout bounds one raft RPC's write and read; InstallSnapshot
	// scales it with the snapshot size.
	raftIOTimeout = 5 * time.Second
	// streamHeaderTimeout: a connection must name its protocol this fast;
	// an idle or slowloris connection is closed, not held.
	streamHeaderTimeout = 5 * time.Second
	// maxPendingStreams bounds connections that have not yet named their
	// protocol; more are closed at once.
	maxPendingStreams = 64
	// maxForwardConns bounds concurrently served forwarded operations.
	maxForwardConns = 64
	// raftAcceptQueue: accepted raft connections waiting for raft's accept
	// loop, which takes them immediately.
	raftAcceptQueue = 16
)

// ErrNetworkClosed is returned by a closed Network.
var ErrNetworkClosed = errors.New("metadata: controller listener closed")

// Network is a node's controller listener: the raft transport and the
// forwarding server on one TCP port. It is created before the Node (raft
// needs the transport) and closed after it. Its accept loop and the
// per-connection goroutines it starts are joined by Close.
type Network struct {
	ln        net.Listener
	advertise raft.ServerAddress
	logger    *slog.Logger
	transport *raft.NetworkTransport
	clientTLS func(serverName string) *tls.Config

	raftConns chan net.Conn
	pending   chan struct{} // semaphore of connections naming their protocol
	forwardSe chan struct{} // semaphore of served forward connections
	closed    chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu struct {
		sync.Mutex
		handler func(net.Conn) // serves an 'F' stream; nil until a Node starts
		conns   map[net.Conn]struct{}
		dialed  map[*dialedConn]struct{} // outbound raft connections
	}
}

// Listen binds the controller listener on addr (HOST:PORT). advertise is the
// address other nodes dial, as written in --controllers; empty means the
// bound address.
func Listen(addr, advertise string, logger *slog.Logger, sec NetworkTLS) (*Network, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metadata: controller listener on %s: %w", addr, err)
	}
	if sec.Server != nil {
		// The handshake runs within the first read, which the stream
		// header's deadline bounds.
		ln = tls.NewListener(ln, sec.Server)
	}
	if advertise == "" {
		advertise = ln.Addr().String()
	}
	nw := &Network{
		ln: ln, advertise: raft.ServerAddress(advertise), logger: logger, clientTLS: sec.Client,
		raftConns: make(chan net.Conn, raftAcceptQueue),
		pending:   make(chan struct{}, maxPendingStreams),
		forwardSe: make(chan struct{}, maxForwardConns),
		closed:    make(chan struct{}),
	}
	nw.mu.conns = map[net.Conn]struct{}{}
	nw.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  raftStream{nw},
		MaxPool: raftMaxPool,
		Timeout: raftIOTimeout,
		Logger:  newHCLogger(logger),
	})
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		nw.acceptLoop()
	}()
	return nw, nil
}

// Addr is the address other nodes reach this one at.
func (nw *Network) Addr() raft.ServerAddress { return nw.advertise }

// Transport is the raft transport over this listener.
func (nw *Network) Transport() raft.Transport { return nw.transport }

// Close stops the listener and the raft transport, closes every served
// connection and waits for the goroutines of the Network.
func (nw *Network) Close() error {
	var err error
	nw.closeOnce.Do(func() {
		close(nw.closed)
		err = nw.ln.Close()
		_ = nw.transport.Close()
		nw.mu.Lock()
		for c := range nw.mu.conns {
			c.Close()
		}
		nw.mu.Unlock()
		nw.wg.Wait()
	drain:
		for {
			select {
			case c := <-nw.raftConns:
				c.Close()
			default:
				break drain
			}
		}
	})
	return err
}

func (nw *Network) setForwardHandler(h func(net.Conn)) {
	nw.mu.Lock()
	nw.mu.handler = h
	nw.mu.Unlock()
}

func (nw *Network) acceptLoop() {
	for {
		c, err := nw.ln.Accept()
		if err != nil {
			select {
			case <-nw.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			nw.logger.Warn("controller listener accept failed", "err", err)
			select {
			case <-nw.closed:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case nw.pending <- struct{}{}:
		default:
			c.Close()
			continue
		}
		nw.wg.Add(1)
		go func() {
			defer nw.wg.Done()
			defer func() { <-nw.pending }()
			nw.route(c)
		}()
	}
}

// route reads the protocol byte and hands the connection on.
func (nw *Network) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(streamHeaderTimeout))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch b[0] {
	case streamRaft:
		select {
		case nw.raftConns <- c:
		case <-nw.closed:
			c.Close()
		}
	case streamForward:
		nw.serveForward(c)
	default:
		c.Close()
	}
}

func (nw *Network) serveForward(c net.Conn) {
	select {
	case nw.forwardSe <- struct{}{}:
	default:
		c.Close()
		return
	}
	nw.mu.Lock()
	h := nw.mu.handler
	if h == nil {
		nw.mu.Unlock()
		<-nw.forwardSe
		c.Close()
		return
	}
	nw.mu.conns[c] = struct{}{}
	nw.mu.Unlock()
	nw.wg.Add(1)
	go func() {
		defer nw.wg.Done()
		defer func() {
			nw.mu.Lock()
			delete(nw.mu.conns, c)
			nw.mu.Unlock()
			c.Close()
			<-nw.forwardSe
		}()
		h(c)
	}()
}

// dial connects to a peer's controller listener and names the protocol.
// raftStream is the raft.StreamLayer over the multiplexed listener.
type raftStream struct{ nw *Network }

func (s raftStream) Accept() (net.Conn, error) {
	select {
	case c := <-s.nw.raftConns:
		return c, nil
	case <-s.nw.closed:
		return nil, ErrNetworkClosed
	}
}

func (s raftStream) Close() error   { return nil } // Network.Close owns the listener
func (s raftStream) Addr() net.Addr { return advertisedAddr(s.nw.advertise) }

func (s raftStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := s.nw.dial(string(addr), controllerwire.StreamRaft, timeout)
	if err != nil {
		return nil, err
	}
	s.nw.mu.Lock()
	defer s.nw.mu.Unlock()
	if s.nw.mu.dialed == nil {
		s.nw.mu.dialed = map[*dialedConn]struct{}{}
	}
	d := &dialedConn{Conn: c, nw: s.nw}
	s.nw.mu.dialed[d] = struct{}{}
	return d, nil
}

// dialedConn is an outbound raft connection the Network can close: raft
// reads a pipeline's responses without a deadline, so a peer that stops
// answering (paused, or its link cut) would otherwise hold raft's shutdown
// forever (closeDialed).
type dialedConn struct {
	net.Conn
	nw *Network
}

func (d *dialedConn) Close() error {
	d.nw.mu.Lock()
	delete(d.nw.mu.dialed, d)
	d.nw.mu.Unlock()
	return d.Conn.Close()
}

// closeDialed closes every outbound raft connection.
func (nw *Network) closeDialed() {
	nw.mu.Lock()
	conns := make([]net.Conn, 0, len(nw.mu.dialed))
	for d := range nw.mu.dialed {
		conns = append(conns, d.Conn)
	}
	nw.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// NetworkTLS secures the controller listener: Server for the connections
// it accepts (it should require client certificates, so that only the
// cluster's nodes connect), Client for those it makes. Zero: plaintext.
type NetworkTLS struct {
	Server *tls.Config
	Client func(serverName string) *tls.Config
}

// dial connects to another node's controller listener, over TLS when the
// Network uses it.
func (nw *Network) dial(addr string, stream byte, timeout time.Duration) (net.Conn, error) {
	var cfg *tls.Config
	if nw.clientTLS != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg = nw.clientTLS(host)
	}
	return controllerwire.DialTLS(addr, stream, timeout, cfg)
}

// advertisedAddr is a net.Addr naming the advertised address, which raft
// reports as this node's address.
type advertisedAddr raft.ServerAddress

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }
