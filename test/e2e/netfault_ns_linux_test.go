package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Network namespaces for the fault fabric (netfault_test.go), made and
// removed with iproute2 (`ip netns`), which needs root. The test process
// enters a namespace only on a locked OS thread, for the one socket call
// that must happen there (a listen or a dial): a socket stays in the
// namespace it was made in, whatever thread later uses it.

// netNSDir is where `ip netns add` mounts named namespaces.
const netNSDir = "/run/netns"

// netNSUsable says why namespaces cannot be used here, or nil.
func netNSUsable() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		return err
	}
	return nil
}

// addNetNS makes a namespace holding only a loopback interface, up.
func addNetNS(name string) error {
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		_ = deleteNetNS(name)
		return fmt.Errorf("ip -n %s link set lo up: %v: %s", name, err, out)
	}
	return nil
}

func deleteNetNS(name string) error {
	if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns delete %s: %v: %s", name, err, out)
	}
	return nil
}

// removeStaleNetNS deletes the namespaces of fault tests whose process is
// gone (a run killed before its cleanup). Processes still inside one keep
// it alive; they are not ours to end.
func removeStaleNetNS() {
	entries, err := os.ReadDir(netNSDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), netNSPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.SplitN(rest, "-", 2)[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); errors.Is(err, os.ErrNotExist) {
			_ = deleteNetNS(e.Name())
		}
	}
}

// inNetNS runs fn on an OS thread switched into the named namespace. If
// the thread cannot be switched back it stays locked, so that the runtime
// ends it with the goroutine instead of reusing it.
func inNetNS(name string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join(netNSDir, name))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", name, err)
	}
	defer func() {
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

// listenIn listens on addr inside namespace ns ("" is the test's own).
func listenIn(ns, addr string) (net.Listener, error) {
	if ns == "" {
		return net.Listen("tcp", addr)
	}
	var l net.Listener
	err := inNetNS(ns, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// dialIn dials addr from inside namespace ns.
func dialIn(ns, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := inNetNS(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	return c, err
}
