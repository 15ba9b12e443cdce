// Package serverproc runs `fjord server` as a child process, for the
// harnesses that need a real broker: the end-to-end tests (fjordtest) and
// `fjord bench` with a broker of its own. The server announces that clients
// can connect with one line on stdout,
//
//	fjord: broker ready on HOST:PORT
//
// (ReadyPrefix, which cmd/fjord prints), the contract with every harness.
//
// A Process owns one goroutine, which copies the child's stdout to the log
// and reaps the child; it ends when the child exits.
package serverproc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ReadyPrefix starts the line the server prints once it accepts clients.
const ReadyPrefix = "fjord: broker ready on "

// Process is a running (or exited) `fjord server` child.
type Process struct {
	cmd    *exec.Cmd
	ready  chan string
	exited chan struct{}
}

// Launch starts binary with args, its stdout and stderr going to log, and
// returns without waiting for readiness (WaitReady). log must be safe for
// concurrent writes from two goroutines.
func Launch(binary string, args []string, log io.Writer) (*Process, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stderr = log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("server stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	p := &Process{cmd: cmd, ready: make(chan string, 1), exited: make(chan struct{})}
	go p.readStdout(stdout, log)
	return p, nil
}

// readStdout forwards the ready address and copies every line to log; once
// the child closes stdout it reaps the child.
func (p *Process) readStdout(stdout io.Reader, log io.Writer) {
	defer close(p.exited)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if addr, ok := strings.CutPrefix(line, ReadyPrefix); ok {
			select {
			case p.ready <- strings.TrimSpace(addr):
			default:
			}
		}
		_, _ = log.Write([]byte(line + "\n"))
	}
	// A line longer than the scanner's buffer stops the scan; drain, so
	// the server never blocks writing to a full pipe.
	_, _ = io.Copy(log, stdout)
	_ = p.cmd.Wait()
}

// WaitReady waits for the ready line and returns the address it names. A
// process that exits first, or is not ready within timeout or before ctx
// ends, is an error; a process not ready in time is killed.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration) (string, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case addr := <-p.ready:
		return addr, nil
	case <-p.exited:
		return "", fmt.Errorf("server exited before becoming ready")
	case <-timer.C:
		p.Kill()
		return "", fmt.Errorf("server not ready after %v", timeout)
	case <-ctx.Done():
		p.Kill()
		return "", fmt.Errorf("waiting for the server: %w", ctx.Err())
	}
}

// Exited is closed once the process has exited and been reaped.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to a process that has not exited.
func (p *Process) Signal(sig syscall.Signal) {
	select {
	case <-p.exited:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// Kill ends the process with SIGKILL and waits until it is reaped.
func (p *Process) Kill() {
	p.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends sig (SIGCONT after it, so that a paused process runs to act
// on it) and waits up to timeout for the process to exit. A process still
// running then gets SIGQUIT, on which the Go runtime writes every
// goroutine's stack to stderr (the log) and exits, and SIGKILL if even that
// does not end it within dumpTimeout; Stop then reports that it hung.
func (p *Process) Stop(sig syscall.Signal, timeout time.Duration) error {
	p.Signal(sig)
	p.Signal(syscall.SIGCONT)
	return p.WaitExited(timeout)
}

// dumpTimeout bounds the wait for a goroutine dump on SIGQUIT.
const dumpTimeout = 10 * time.Second

// WaitExited waits up to timeout for the process to exit, after a signal
// sent earlier; a process still running then is dumped and killed as by
// Stop, and reported.
func (p *Process) WaitExited(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
	}
	p.Signal(syscall.SIGQUIT)
	dump := time.NewTimer(dumpTimeout)
	defer dump.Stop()
	select {
	case <-p.exited:
	case <-dump.C:
		p.Kill()
	}
	return fmt.Errorf("server did not exit within %v; its goroutines are in its log", timeout)
}
