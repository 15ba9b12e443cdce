package e2e

import (
	"io"
	"net"
	"sync"
	"testing"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// faultProxy forwards TCP connections to a broker and can cut them all at
// once, so that requests in flight lose their responses and clients retry.
// The broker is started with --advertise set to the proxy, so every
// connection a client opens after bootstrap goes through it too.
type faultProxy struct {
	listener net.Listener
	wg       sync.WaitGroup

	mu struct {
		sync.Mutex
		target string
		conns  map[net.Conn]struct{}
		closed bool
	}
}

// newFaultProxy listens on a free loopback port; SetTarget must be called
// before clients connect. The proxy and every goroutine it started are
// stopped when the test ends.
func newFaultProxy(t *testing.T) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &faultProxy{listener: ln}
	p.mu.conns = map[net.Conn]struct{}{}
	p.wg.Add(1)
	go p.acceptLoop()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.mu.closed = true
		p.mu.Unlock()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// startBehindProxy starts a broker that advertises a fault proxy in front
// of it. The broker's own port is picked here (the ready line names the
// advertised address, not the listener), so there is a short window in
// which another process could take it; on loopback in tests that is rare
// and shows as a start failure, not a wrong result.
func startBehindProxy(t *testing.T) (*faultProxy, *fjordtest.Server) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test starts a broker")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a port: %v", err)
	}
	listen := ln.Addr().String()
	ln.Close()
	proxy := newFaultProxy(t)
	proxy.SetTarget(listen)
	s := startServer(t, nil, "--listen", listen, "--advertise", proxy.Addr())
	return proxy, s
}

func (p *faultProxy) Addr() string { return p.listener.Addr().String() }

func (p *faultProxy) SetTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.target = addr
}

// Cut closes every open connection in both directions and returns how
// many connections (counting each side) it closed.
func (p *faultProxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.mu.conns {
		c.Close()
	}
	return len(p.mu.conns)
}

func (p *faultProxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return // listener closed at cleanup
		}
		p.mu.Lock()
		target := p.mu.target
		p.mu.Unlock()
		broker, err := net.Dial("tcp", target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client, broker) {
			return
		}
		p.wg.Add(2)
		go p.pipe(client, broker)
		go p.pipe(broker, client)
	}
}

// track registers a connection pair, or closes it if the proxy is closing.
func (p *faultProxy) track(client, broker net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed {
		client.Close()
		broker.Close()
		return false
	}
	p.mu.conns[client] = struct{}{}
	p.mu.conns[broker] = struct{}{}
	return true
}

func (p *faultProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.mu.conns, dst)
	delete(p.mu.conns, src)
	p.mu.Unlock()
}
