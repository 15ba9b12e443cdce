package streams_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// An instance is the test binary re-executed as one instance of a Streams
// application: instanceEnv names the topology, the other variables its
// settings. It prints "started" once its threads run and closes the
// application when its stdin closes.
const (
	instanceEnv         = "FJORD_STREAMS_INSTANCE"
	instanceBrokersEnv  = "FJORD_STREAMS_BROKERS"
	instanceStateDirEnv = "FJORD_STREAMS_STATE_DIR"
	instanceAppIDEnv    = "FJORD_STREAMS_APP_ID"
	instanceStandbysEnv = "FJORD_STREAMS_STANDBYS"
	// instanceLogDirEnv, when set, keeps each instance's whole output in a
	// file there.
	instanceLogDirEnv = "FJORD_STREAMS_LOG_DIR"
	// instanceRFEnv sets replication.factor of the internal topics.
	instanceRFEnv = "FJORD_STREAMS_RF"
)

func runInstance() int {
	newTopology := func() (*streams.Topology, error) { return newWordCount() }
	switch os.Getenv(instanceEnv) {
	case "windowed":
		newTopology = newWindowedCount
	case "joins":
		newTopology = newJoinTopology
	}
	topo, err := newTopology()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := streams.NewConfig(os.Getenv(instanceAppIDEnv), strings.Split(os.Getenv(instanceBrokersEnv), ",")...)
	cfg.ProcessingGuarantee = streams.ExactlyOnceV2
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.CacheMaxBytes = 0
	cfg.NumStreamThreads = 2
	cfg.StateDir = os.Getenv(instanceStateDirEnv)
	if os.Getenv(instanceStandbysEnv) != "" {
		cfg.NumStandbyReplicas = 1
	}
	if rf := os.Getenv(instanceRFEnv); rf != "" {
		cfg.ReplicationFactor, _ = strconv.Atoi(rf)
	}
	// Short session timeouts so that the group notices a killed instance
	// within seconds, as a fault test needs.
	cfg.Properties["session.timeout.ms"] = "6000"
	cfg.Properties["heartbeat.interval.ms"] = "500"
	app, err := streams.NewApp(topo, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("started")
	_, _ = io.Copy(io.Discard, os.Stdin)
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := app.Close(closeCtx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// instanceProc is one running instance process.
type instanceProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu struct {
		sync.Mutex
		lines []string
	}
}

// startInstance starts an instance and waits until it reports started.
func startInstance(t *testing.T, env []string) *instanceProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), instanceEnv+"=wordcount")
	cmd.Env = append(cmd.Env, env...)
	var logOut io.Writer = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if dir := os.Getenv(instanceLogDirEnv); dir != "" {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("instance-%d.log", time.Now().UnixNano())), os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		logOut = f
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &instanceProc{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	started := make(chan struct{})
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(io.TeeReader(out, logOut))
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.mu.lines = append(p.mu.lines, line)
			if len(p.mu.lines) > 200 {
				p.mu.lines = p.mu.lines[len(p.mu.lines)-200:]
			}
			p.mu.Unlock()
			if line == "started" {
				once.Do(func() { close(started) })
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case <-started:
	case <-p.done:
		t.Fatalf("instance exited before starting:\n%s", p.log())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("instance did not start in 60s:\n%s", p.log())
	}
	return p
}

func (p *instanceProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.mu.lines, "\n")
}

func (p *instanceProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// dumpStacks makes the instance print its goroutines (SIGQUIT) and exit,
// for the log of a failed test.
func (p *instanceProc) dumpStacks() {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	<-p.done
}

// stop closes the instance's stdin and waits for it to leave the group.
func (p *instanceProc) stop(t *testing.T) {
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		p.kill()
		t.Errorf("instance did not stop in 45s:\n%s", p.log())
	}
}
