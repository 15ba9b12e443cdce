// Package fjordtest starts the real fjord binary for end-to-end tests: it
// builds cmd/fjord once per test binary, runs `fjord server` as a child
// process on a free loopback port (or a given address, in a given network
// namespace) with its own data directory, and stops it (SIGTERM, or SIGKILL
// for crash tests) when the test ends.
//
// The process is run by internal/serverproc, whose ready line tells the
// harness the port chosen for --listen 127.0.0.1:0.
package fjordtest

import (
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

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/serverproc"
)

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
	listen  string // --listen of the first launch
	netNS   string // network namespace to run in; empty: the test's own
	// httpArg is the index in args of --http's value, 0 without HTTP.
	httpArg int

	mu struct {
		sync.Mutex
		proc *serverproc.Process
		log  *lockedWriter
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
	// Listen is the --listen address (of the first listener), kept across
	// restarts; empty means the first address of Config's listeners, else
	// 127.0.0.1 on a free port.
	Listen string
	// NetNS names a network namespace (/run/netns/NetNS, as `ip netns add`
	// makes) to run the server in, through nsenter, which execs: the
	// process signalled (Kill, Pause) is the server itself. Listen is then
	// an address inside that namespace.
	NetNS string
	// HTTP runs the HTTP listener (/metrics, /healthz, /readyz, the
	// console) on a free loopback port, kept across restarts; HTTPAddr
	// says which.
	HTTP bool
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
		waits[i] = servers[i].launch(t, servers[i].listen)
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
	listen := opts.Listen
	if listen == "" {
		listen = firstListenerAddr(opts.Config["listeners"])
	}
	// --listen sets the address of the first listener (PLAINTEXT without
	// Config's listeners), the one clients get; it is always passed so
	// that a restart can name the port the first launch bound.
	args := []string{"server", "--data-dir", dataDir, "--listen", listen}
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
	httpArg := 0
	if opts.HTTP {
		args = append(args, "--http", "127.0.0.1:0")
		httpArg = len(args) - 1
	}
	args = append(args, opts.Args...)
	return &Server{t: t, DataDir: dataDir, args: args, listen: listen, netNS: opts.NetNS, httpArg: httpArg}
}

// firstListenerAddr is the HOST:PORT of the first NAME://HOST:PORT entry
// of a listeners property, or 127.0.0.1:0 (a free loopback port) when
// there is none.
func firstListenerAddr(listeners string) string {
	first, _, _ := strings.Cut(listeners, ",")
	if _, addr, ok := strings.Cut(strings.TrimSpace(first), "://"); ok && addr != "" {
		return addr
	}
	return "127.0.0.1:0"
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
	args[4] = listen // restarts keep the port clients know
	if s.httpArg > 0 {
		if addr := s.HTTPAddr(); addr != "" {
			args[s.httpArg] = addr // and the HTTP port scrapers know
		}
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
	binary := Binary(t)
	if s.netNS != "" {
		args = append([]string{"--net=" + filepath.Join("/run/netns", s.netNS), binary}, args...)
		binary = "nsenter"
	}
	logStart := logW.Len()
	proc, err := serverproc.Launch(binary, args, logW)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.mu.proc, s.mu.log = proc, logW
	s.mu.Unlock()
	return func() {
		t.Helper()
		addr, err := proc.WaitReady(context.Background(), startTimeout)
		if err != nil {
			t.Fatalf("fjord server: %v:\n%s", err, logW.String())
		}
		// The HTTP line goes to stderr before the ready line goes to
		// stdout, but the two pipes are read apart.
		if s.httpArg > 0 && !logW.waitFor(httpStartedLine, logStart, startTimeout) {
			t.Fatalf("fjord server: ready without logging its HTTP listener:\n%s", logW.String())
		}
		s.Addr = addr
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

// httpStartedLine is what the node logs once its HTTP listener is bound
// (internal/node, http.go), with the bound address in addr=.
const httpStartedLine = `msg="http listener started" addr=`

// HTTPAddr is the HOST:PORT of the server's HTTP listener, taken from its
// log (the last start's), or "" when it has none (Options.HTTP unset).
// The listener is bound before the server reports ready.
func (s *Server) HTTPAddr() string {
	log := s.Log()
	i := strings.LastIndex(log, httpStartedLine)
	if i < 0 {
		return ""
	}
	rest := log[i+len(httpStartedLine):]
	if end := strings.IndexAny(rest, " \n"); end >= 0 {
		rest = rest[:end]
	}
	return strings.Trim(rest, `"`)
}

// HTTPURL is the URL of path on the server's HTTP listener; the test fails
// when the server has none.
func (s *Server) HTTPURL(t testing.TB, path string) string {
	t.Helper()
	addr := s.HTTPAddr()
	if addr == "" {
		t.Fatalf("fjord server %s has no HTTP listener (Options.HTTP)", s.Addr)
	}
	return "http://" + addr + path
}

// PID is the process id of the running server.
func (s *Server) PID() int { return s.proc().PID() }

func (s *Server) proc() *serverproc.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.proc
}

// stopTimeout bounds how long a server may take to exit on a signal.
const stopTimeout = 30 * time.Second

// Stop ends the server with SIGTERM and waits for it; a server that does not
// exit within the timeout is made to dump its goroutines, killed, and the
// test fails.
func (s *Server) Stop() { s.signalAndWait(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, as a crash, and waits for it.
func (s *Server) Kill() { s.signalAndWait(syscall.SIGKILL) }

func (s *Server) signalAndWait(sig syscall.Signal) {
	proc := s.proc()
	if proc == nil {
		return
	}
	if err := proc.Stop(sig, stopTimeout); err != nil {
		s.t.Errorf("fjord server on %v: %v:\n%s", sig, err, s.Log())
	}
}

// WaitExited waits up to timeout for the process to exit after a signal
// sent without waiting (Terminate). A process still running then is made to
// dump its goroutines and killed, and the test fails.
func (s *Server) WaitExited(timeout time.Duration) {
	if err := s.proc().WaitExited(timeout); err != nil {
		s.t.Errorf("fjord server: %v:\n%s", err, s.Log())
	}
}

// Pause stops the process with SIGSTOP, as a hung or partitioned node: it
// holds its connections and files but answers nothing until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	if proc := s.proc(); proc != nil {
		proc.Signal(sig)
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
	select {
	case <-s.proc().Exited():
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
	// wrote gets a token after each write, for waitFor.
	wrote chan struct{}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote == nil {
		l.wrote = make(chan struct{}, 1)
	}
	select {
	case l.wrote <- struct{}{}:
	default:
	}
	return l.w.Write(p)
}

// Len is how many bytes were written.
func (l *lockedWriter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Len()
}

// waitFor waits until the bytes written from offset on contain substr,
// for at most timeout, and reports whether they do.
func (l *lockedWriter) waitFor(substr string, from int, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		found := strings.Contains(l.w.String()[from:], substr)
		if l.wrote == nil {
			l.wrote = make(chan struct{}, 1)
		}
		wrote := l.wrote
		l.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-wrote:
		case <-timer.C:
			return false
		}
	}
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// CreateTopics creates topics (name to partition count) with one replica
// each on s, failing the test on any error.
func (s *Server) CreateTopics(t testing.TB, topics map[string]int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for topic, partitions := range topics {
		resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}
}
