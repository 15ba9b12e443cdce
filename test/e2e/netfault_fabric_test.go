package e2e

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// quietWindow is how long TestNetFabric waits to see that a cut holds
// bytes back: the absence of an event can only be observed for a while.
const quietWindow = 300 * time.Millisecond

// TestNetFabric checks the fault fabric without fjord: an echo server in
// node 2's namespace, reached from node 1's namespace and from the test's
// through the proxies, with each direction cut and healed on its own, a
// node isolated from the others but not from the clients, and latency.
func TestNetFabric(t *testing.T) {
	if err := netFaultsUsable(t); err != nil {
		t.Skipf("network namespaces: %v", err)
	}
	f := newNetFabric(t, 2)
	addr := "127.0.0.1:" + strconv.Itoa(f.kafkaPorts[1])
	received := startLineEcho(t, f.names[1], addr)

	conn, err := dialIn(f.names[0], addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	roundTrip(t, conn, r, received, "hello")

	// 1 -> 2 cut: the line does not arrive until the heal.
	f.set(func(l netLink, lf linkFault) linkFault {
		lf.cut = l == netLink{1, 2}
		return lf
	})
	writeLine(t, conn, "held")
	select {
	case got := <-received:
		t.Fatalf("server got %q across a cut", got)
	case <-time.After(quietWindow):
	}
	f.heal()
	expectLine(t, received, "held")
	expectEcho(t, conn, r, "held")

	// 2 -> 1 cut: the line arrives, the echo does not until the heal.
	f.set(func(l netLink, lf linkFault) linkFault {
		lf.cut = l == netLink{2, 1}
		return lf
	})
	writeLine(t, conn, "one-way")
	expectLine(t, received, "one-way")
	if err := conn.SetReadDeadline(time.Now().Add(quietWindow)); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("echo %q (%v) across a cut", line, err)
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.heal()
	expectEcho(t, conn, r, "one-way")

	// Node 2 cut off from node 1: the clients still reach it.
	f.isolate(2)
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	roundTrip(t, client, bufio.NewReader(client), received, "client")
	f.heal()

	// Latency on node 2's links, each way.
	const delay = 50 * time.Millisecond
	f.degrade(2, delay, 0)
	began := time.Now()
	roundTrip(t, conn, r, received, "slow")
	if took := time.Since(began); took < 2*delay {
		t.Errorf("round trip took %v with %v each way", took, delay)
	}
	f.heal()
}

// startLineEcho serves addr in namespace ns: every line received is sent
// to the returned channel and echoed. Its goroutines end with the test.
func startLineEcho(t *testing.T, ns, addr string) <-chan string {
	t.Helper()
	l, err := listenIn(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan string, 16)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(stop)
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { echoLines(c, received, stop) })
		}
	})
	return received
}

func echoLines(c net.Conn, received chan<- string, stop <-chan struct{}) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		select {
		case received <- strings.TrimSpace(line):
		case <-stop:
			return
		}
		if _, err := c.Write([]byte(line)); err != nil {
			return
		}
	}
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, received <-chan string, line string) {
	t.Helper()
	writeLine(t, c, line)
	expectLine(t, received, line)
	expectEcho(t, c, r, line)
}

func writeLine(t *testing.T, c net.Conn, line string) {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}

func expectLine(t *testing.T, received <-chan string, want string) {
	t.Helper()
	select {
	case got := <-received:
		if got != want {
			t.Fatalf("server got %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("server never got %q", want)
	}
}

func expectEcho(t *testing.T, c net.Conn, r *bufio.Reader, want string) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != want {
		t.Fatalf("echo %q (%v), want %q", line, err, want)
	}
}
