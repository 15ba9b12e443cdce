package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fjordhq/fjord/internal/serverproc"
)

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
	proc    *serverproc.Process
	dataDir string
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
	b := &childBroker{dataDir: dataDir, log: &tailBuffer{limit: brokerLogTailBytes}}
	b.proc, err = serverproc.Launch(binary, []string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir}, b.log)
	if err != nil {
		_ = os.RemoveAll(dataDir)
		return nil, err
	}
	if b.Addr, err = b.proc.WaitReady(ctx, brokerStartTimeout); err != nil {
		_ = b.stop()
		return nil, fmt.Errorf("broker: %w: %s", err, b.log.String())
	}
	return b, nil
}

// stop sends SIGTERM, waits for the process (SIGQUIT, then SIGKILL, after
// brokerStopTimeout) and removes the data directory.
func (b *childBroker) stop() error {
	err := b.proc.Stop(syscall.SIGTERM, brokerStopTimeout)
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
