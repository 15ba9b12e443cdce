package serverproc

import (
	"context"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// launchShell runs a shell script standing in for the server.
func launchShell(t *testing.T, script string) (*Process, *logBuffer) {
	t.Helper()
	log := &logBuffer{}
	p, err := Launch("/bin/sh", []string{"-c", script}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p, log
}

func TestReadyAndStop(t *testing.T) {
	p, log := launchShell(t, `echo starting; echo "`+ReadyPrefix+`127.0.0.1:9092"; exec sleep 60`)
	addr, err := p.WaitReady(context.Background(), 10*time.Second)
	if err != nil || addr != "127.0.0.1:9092" {
		t.Fatalf("WaitReady: %q, %v", addr, err)
	}
	if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "starting") {
		t.Errorf("stdout not in the log: %q", log.String())
	}
}

func TestExitBeforeReady(t *testing.T) {
	p, _ := launchShell(t, `echo "no such flag" >&2; exit 2`)
	if _, err := p.WaitReady(context.Background(), 10*time.Second); err == nil {
		t.Fatal("a process that exited was reported ready")
	}
}

// TestHangIsDumpedAndKilled: a process that ignores SIGTERM is reported,
// and SIGQUIT (a Go server's goroutine dump) or SIGKILL ends it.
func TestHangIsDumpedAndKilled(t *testing.T) {
	p, _ := launchShell(t, `trap "" TERM; echo "`+ReadyPrefix+`x"; while :; do sleep 0.05; done`)
	if _, err := p.WaitReady(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(syscall.SIGTERM, 200*time.Millisecond); err == nil {
		t.Fatal("a process ignoring SIGTERM was reported stopped")
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("the hung process is still running")
	}
}
