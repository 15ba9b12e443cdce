package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyPrefix starts the line `fjord server` prints once clients can
// connect; it is the server's contract with every harness.
const readyPrefix = "fjord: broker ready on "

const (
	// brokerStartTimeout bounds the wait for the ready line.
	brokerStartTimeout = 60 * time.Second
	// brokerStopTimeout bounds the wait after SIGTERM before SIGKILL.
	brokerStopTimeout = 30 * time.Second
	// brokerLogTailBytes bounds the broker output kept for error messages.
	brokerLogTailBytes = 16 << 10
)

// childBroker is a `fjord server` child process on a private data
// directory, started for one run and removed after it.
type childBroker struct {
	Addr    string
	cmd     *exec.Cmd
	dataDir string
	exited  chan struct{} // closed when the process has been waited for
	log     *tailBuffer
}

// startChildBroker runs binary as `fjord server --listen 127.0.0.1:0
// --data-dir TMP` and waits for its ready line. The process does not
// inherit ctx: it is stopped by stop, with SIGTERM, so that an interrupted
// benchmark still shuts its broker down cleanly.
func startChildBroker(ctx context.Context, binary string) (*childBroker, error) {
	dataDir, err := os.MkdirTemp("", "fjord-bench-")
	if err != nil {
		return nil, fmt.Errorf("creating broker data directory: %w", err)
	}
	b := &childBroker{dataDir: dataDir, exited: make(chan struct{}), log: &tailBuffer{limit: brokerLogTailBytes}}
	b.cmd = exec.Command(binary, "server", "--listen", "127.0.0.1:0", "--data-dir", dataDir)
	b.cmd.Stderr = b.log
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("broker stdout: %w", err)
	}
	if err := b.cmd.Start(); err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, fmt.Errorf("starting %s server: %w", binary, err)
	}
	ready := make(chan string, 1)
	go b.readStdout(stdout, ready)

	timer := time.NewTimer(brokerStartTimeout)
	defer timer.Stop()
	select {
	case b.Addr = <-ready:
		return b, nil
	case <-b.exited:
		b.stop()
		return nil, fmt.Errorf("broker exited before becoming ready: %s", b.log.String())
	case <-timer.C:
		b.stop()
		return nil, fmt.Errorf("broker not ready after %v: %s", brokerStartTimeout, b.log.String())
	case <-ctx.Done():
		b.stop()
		return nil, fmt.Errorf("waiting for the broker: %w", ctx.Err())
	}
}

// readStdout forwards the ready address and keeps the rest as log; it ends
// when the process closes stdout, then reaps the process. It is the only
// goroutine a childBroker starts and stop waits for it.
func (b *childBroker) readStdout(stdout io.Reader, ready chan<- string) {
	defer close(b.exited)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if addr, ok := strings.CutPrefix(line, readyPrefix); ok {
			select {
			case ready <- strings.TrimSpace(addr):
			default:
			}
		}
		_, _ = b.log.Write([]byte(line + "\n"))
	}
	// A line longer than the scanner's buffer stops the scan; drain so the
	// broker never blocks writing to a full pipe.
	_, _ = io.Copy(b.log, stdout)
	_ = b.cmd.Wait()
}

// stop sends SIGTERM, waits for the process (SIGKILL after
// brokerStopTimeout) and removes the data directory.
func (b *childBroker) stop() error {
	var err error
	select {
	case <-b.exited:
	default:
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(brokerStopTimeout)
		select {
		case <-b.exited:
		case <-timer.C:
			_ = b.cmd.Process.Kill()
			<-b.exited
			err = fmt.Errorf("broker did not exit within %v of SIGTERM and was killed", brokerStopTimeout)
		}
		timer.Stop()
	}
	if rmErr := os.RemoveAll(b.dataDir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("removing broker data directory: %w", rmErr))
	}
	return err
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	limit int
	mu    struct {
		sync.Mutex
		buf []byte
	}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mu.buf = append(t.mu.buf, p...)
	if over := len(t.mu.buf) - t.limit; over > 0 {
		t.mu.buf = append(t.mu.buf[:0], t.mu.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.mu.buf))
}
