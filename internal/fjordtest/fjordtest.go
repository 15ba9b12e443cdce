// Package fjordtest starts the real fjord binary for end-to-end tests: it
// builds cmd/fjord once per test binary, runs `fjord server` as a child
// process on a free loopback port with its own data directory, and stops it
// (SIGTERM, or SIGKILL for crash tests) when the test ends.
//
// The server announces readiness with one stdout line,
//
//	fjord: broker ready on HOST:PORT
//
// which is how the harness learns the port chosen for --listen 127.0.0.1:0.
package fjordtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ReadyPrefix starts the line the server prints once it accepts clients.
const ReadyPrefix = "fjord: broker ready on "

// startTimeout bounds how long a server may take to become ready; it is
// generous because CI machines run tests in parallel on two cores.
const startTimeout = 60 * time.Second

// BinaryEnv names an environment variable that, when set, is the path of a
// fjord binary to run instead of building cmd/fjord: CI builds once for
// several test binaries, and a developer can pin a known-good build while
// the tree is mid-change.
const BinaryEnv = "FJORD_TEST_BINARY"

// Binary builds cmd/fjord once per test process and returns its path, or
// returns $FJORD_TEST_BINARY when set. Every call after the first returns
// the cached result.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if path := os.Getenv(BinaryEnv); path != "" {
			binPath, buildErr = filepath.Abs(path)
			return
		}
		dir, err := os.MkdirTemp("", "fjord-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "fjord")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/fjordhq/fjord/cmd/fjord")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/fjord: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// The build is shared by every test in one test binary; sync.Once is the
// only package-level state and it is written exactly once.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Server is one running `fjord server` child process.
type Server struct {
	t       testing.TB
	DataDir string
	Addr    string // HOST:PORT clients connect to
	args    []string

	mu struct {
		sync.Mutex
		cmd    *exec.Cmd
		exited chan struct{}
		log    *lockedWriter
	}
}

// Options adjust a server started by Start.
type Options struct {
	// DataDir reuses a directory (for restarts); empty means a new temp dir.
	DataDir string
	// Args are extra flags after `fjord server`.
	Args []string
	// Config is written to a properties file passed with --config.
	Config map[string]string
}

// Start runs a server and waits until it is ready. It is stopped with
// SIGTERM when the test ends, if still running, and its output is logged
// if the test failed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return StartAll(t, opts)[0]
}

// StartAll launches one server per Options at once and then waits until
// each is ready: the nodes of a cluster cannot become ready one at a time,
// since none has a quorum alone.
func StartAll(t testing.TB, opts ...Options) []*Server {
	t.Helper()
	servers := make([]*Server, len(opts))
	waits := make([]func(), len(opts))
	for i, o := range opts {
		servers[i] = newServer(t, o)
		waits[i] = servers[i].launch(t, "127.0.0.1:0")
		s := servers[i]
		t.Cleanup(func() {
			s.Stop()
			if t.Failed() {
				t.Logf("fjord server %s (data %s) log:\n%s", s.Addr, s.DataDir, s.Log())
			}
		})
	}
	for _, wait := range waits {
		wait()
	}
	return servers
}

func newServer(t testing.TB, opts Options) *Server {
	t.Helper()
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	args := []string{"server", "--listen", "127.0.0.1:0", "--data-dir", dataDir}
	if len(opts.Config) > 0 {
		path := filepath.Join(t.TempDir(), "server.properties")
		var b strings.Builder
		for k, v := range opts.Config {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	args = append(args, opts.Args...)
	return &Server{t: t, DataDir: dataDir, args: args}
}

// start launches the process with listen as --listen and waits for readiness.
func (s *Server) start(t testing.TB, listen string) {
	t.Helper()
	s.launch(t, listen)()
}

// launch starts the process with listen as --listen and returns a function
// that waits for readiness.
func (s *Server) launch(t testing.TB, listen string) (wait func()) {
	t.Helper()
	args := append([]string(nil), s.args...)
	args[2] = listen
	cmd := exec.Command(Binary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// One log across restarts: a failure is often explained by what the
	// previous process did on its way down.
	s.mu.Lock()
	logW := s.mu.log
	s.mu.Unlock()
	if logW == nil {
		logW = &lockedWriter{w: &strings.Builder{}}
	} else {
		logW.Write([]byte("--- restarted ---\n"))
	}
	cmd.Stderr = logW
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if addr, ok := strings.CutPrefix(line, ReadyPrefix); ok {
				select {
				case ready <- strings.TrimSpace(addr):
				default:
				}
			}
			logW.Write([]byte(line + "\n"))
		}
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.mu.cmd, s.mu.exited, s.mu.log = cmd, exited, logW
	s.mu.Unlock()
	began := time.Now()
	return func() {
		t.Helper()
		select {
		case addr := <-ready:
			s.Addr = addr
		case <-exited:
			t.Fatalf("fjord server exited before becoming ready:\n%s", logW.String())
		case <-time.After(startTimeout - time.Since(began)):
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("fjord server not ready after %v:\n%s", startTimeout, logW.String())
		}
	}
}

// Log returns what the server printed so far, over all its restarts.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.log == nil {
		return ""
	}
	return s.mu.log.String()
}

// PID is the process id of the running server.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.cmd.Process.Pid
}

// Stop ends the server with SIGTERM and waits for it; a server that does not
// exit within the timeout is killed and the test fails.
func (s *Server) Stop() {
	s.signalAndWait(syscall.SIGTERM, 30*time.Second)
}

// Kill ends the server with SIGKILL, as a crash, and waits for it.
func (s *Server) Kill() {
	s.signalAndWait(syscall.SIGKILL, 30*time.Second)
}

func (s *Server) signalAndWait(sig syscall.Signal, timeout time.Duration) {
	s.mu.Lock()
	cmd, exited := s.mu.cmd, s.mu.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(sig)
	_ = cmd.Process.Signal(syscall.SIGCONT) // a paused process must run to exit
	select {
	case <-exited:
	case <-time.After(timeout):
		s.dumpAndKill(cmd, exited)
		s.t.Errorf("fjord server did not exit on %v within %v:\n%s", sig, timeout, s.Log())
	}
}

// dumpAndKill ends a process that hangs: SIGQUIT first, on which the Go
// runtime writes every goroutine's stack to the log and exits, then
// SIGKILL if even that does not end it.
func (s *Server) dumpAndKill(cmd *exec.Cmd, exited <-chan struct{}) {
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// WaitExited waits up to timeout for the process to exit after a signal
// sent without waiting (Terminate). A process still running then is made to
// dump its goroutines and killed, and the test fails.
func (s *Server) WaitExited(timeout time.Duration) {
	s.mu.Lock()
	cmd, exited := s.mu.cmd, s.mu.exited
	s.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(timeout):
		s.dumpAndKill(cmd, exited)
		s.t.Errorf("fjord server did not exit within %v:\n%s", timeout, s.Log())
	}
}

// Pause stops the process with SIGSTOP, as a hung or partitioned node: it
// holds its connections and files but answers nothing until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	cmd := s.mu.cmd
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// Terminate sends SIGTERM, which begins a controlled shutdown, without
// waiting for the process to exit: a schedule can stop the next node while
// this one is still on its way down. Exited says when it is gone.
func (s *Server) Terminate() { s.signal(syscall.SIGTERM) }

// Relaunch starts a server whose process has exited again, on the same data
// directory and port, and returns a function that waits until it is ready.
// The process starts before Relaunch returns; only the wait blocks, so that
// a schedule can go on meanwhile. Call the wait from the test goroutine.
func (s *Server) Relaunch(t testing.TB) (wait func()) {
	t.Helper()
	if !s.Exited() {
		t.Fatalf("fjord server %s relaunched while still running", s.Addr)
	}
	return s.launch(t, s.Addr)
}

// Restart starts the server again on the same data directory and the same
// port, so clients configured with Addr reconnect.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t, s.Addr)
}

// Exited reports whether the process has ended (for tests that check the
// broker stays up).
func (s *Server) Exited() bool {
	s.mu.Lock()
	exited := s.mu.exited
	s.mu.Unlock()
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// Run executes the fjord binary with args (a CLI command) and returns its
// stdout, stderr and error; stdin may be nil.
func Run(t testing.TB, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	var out, errOut strings.Builder
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errOut
	err = cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("fjord %v timed out: %w", args, ctx.Err())
	}
	return out.String(), errOut.String(), err
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
