// Package pgtest starts a throwaway PostgreSQL server for tests: Debian's
// postgresql binaries (/usr/lib/postgresql/<version>/bin), a temporary data
// directory, 127.0.0.1 on a free port, trust authentication for the
// superuser postgres, and wal_level=logical so that change data capture
// through pgoutput works. PostgreSQL refuses to run as root, so a test
// running as root starts it as the postgres user the package creates.
//
// Without the binaries Start skips the test, unless FJORD_PGTEST_REQUIRE is
// set (CI sets it): then their absence fails the test.
package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv, when set, makes a missing PostgreSQL a failure.
const RequireEnv = "FJORD_PGTEST_REQUIRE"

// startTimeout bounds initdb plus the server's start on a loaded machine.
const startTimeout = 2 * time.Minute

// Server is one running PostgreSQL server.
type Server struct {
	// DSN connects as the superuser to the postgres database.
	DSN  string
	Port int

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *lineLog
}

// Start runs a PostgreSQL server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("pgtest: %v (install Debian's postgresql package)", err)
		}
		t.Skipf("pgtest: %v; install Debian's postgresql package to run this test", err)
	}
	cred, err := credential()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dir, err := makeDataDir(cred)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Server{Port: port, dir: dir, done: make(chan struct{}), log: &lineLog{}}
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := s.start(ctx, bin, cred); err != nil {
		t.Fatalf("pgtest: %v\n%s", err, s.log.String())
	}
	t.Cleanup(s.stop)
	return s
}

// start runs postgres and waits until it accepts connections.
func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "wal_level=logical",
		"-c", "max_wal_senders=8",
		"-c", "max_replication_slots=8",
		// A test server's data is thrown away: no fsync makes it faster
		// and kinder to the machine's other tests.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		s.log.follow(stderr, "database system is ready to accept connections", ready)
		_ = s.cmd.Wait()
	}()
	select {
	case <-ready:
		return nil
	case <-s.done:
		return errors.New("postgres exited before accepting connections")
	case <-ctx.Done():
		s.stop()
		return fmt.Errorf("postgres not ready: %w", ctx.Err())
	}
}

// stop shuts the server down at once (SIGQUIT: immediate shutdown) and
// waits for it.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Log is what the server wrote to its log so far.
func (s *Server) Log() string { return s.log.String() }

// binDir is the newest installed PostgreSQL's bin directory.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL in /usr/lib/postgresql/*/bin")
}

// credential is who runs PostgreSQL: the postgres user when the test runs
// as root (PostgreSQL refuses root), else the test's own user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres user (Debian's package creates it): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user ids: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeDataDir makes a directory the server's user owns, outside the test's
// own temporary directory, which only the test's user can enter.
func makeDataDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", "fjord-pgtest-")
	if err != nil {
		return "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

// freePort is a loopback port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lineLog keeps the server's log lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

// follow reads r's lines until it ends, closing ready once a line holds
// readyLine.
func (l *lineLog) follow(r io.Reader, readyLine string, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	signalled := false
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		if !signalled && strings.Contains(line, readyLine) {
			signalled = true
			close(ready)
		}
	}
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
