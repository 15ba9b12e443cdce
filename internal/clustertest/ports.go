package clustertest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
)

// FreeLoopbackPorts returns n distinct ports free at the time of the call:
// a cluster's controller addresses must be known before any node starts.
// They come from below the kernel's ephemeral range, because the brokers
// listen on port 0 and every outgoing connection takes an ephemeral port:
// a port the kernel handed out and took back could be handed out again to
// one of those before the node meant to use it binds it.
func FreeLoopbackPorts(t testing.TB, n int) []int {
	t.Helper()
	low, high := reservablePortRange()
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			t.Fatalf("no %d free loopback ports in [%d, %d)", n, low, high)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", low+rand.IntN(high-low)))
		if err != nil {
			continue // taken; holding the others keeps the picks distinct
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// reservablePortRange is a range of ports below the kernel's ephemeral
// range (Linux's ip_local_port_range, 32768 by default).
func reservablePortRange() (low, high int) {
	low, high = 20000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	var first, last int
	if _, err := fmt.Sscan(string(b), &first, &last); err == nil && first > 11000 {
		high = first
		low = min(low, high-1000)
	}
	return low, high
}
