//go:build !linux

package e2e

import (
	"errors"
	"net"
	"time"
)

// Network namespaces exist on Linux only; elsewhere the fault tests run
// without network faults (netfault_ns_linux_test.go).

func netNSUsable() error { return errors.ErrUnsupported }

func addNetNS(string) error { return errors.ErrUnsupported }

func deleteNetNS(string) error { return errors.ErrUnsupported }

func removeStaleNetNS() {}

func listenIn(ns, addr string) (net.Listener, error) {
	if ns == "" {
		return net.Listen("tcp", addr)
	}
	return nil, errors.ErrUnsupported
}

func dialIn(string, string, time.Duration) (net.Conn, error) { return nil, errors.ErrUnsupported }
