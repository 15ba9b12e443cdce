package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/node"
	"github.com/fjordhq/fjord/internal/vfs"
)

// startTimeout bounds how long a node may take to serve clients.
const startTimeout = time.Minute

// Cluster is a cluster of combined (broker and controller) nodes running in
// this process, each on loopback ports, stopped when the test ends.
type Cluster struct {
	Nodes []*Node
}

// Node is one node of a Cluster.
type Node struct {
	ID int32
	// FS is the node's file system for partition data: the operating
	// system's behind a FaultFS. It survives restarts, faults included.
	FS *vfs.FaultFS

	t     testing.TB
	props map[string]string
	logs  *logBuffer

	mu struct {
		sync.Mutex
		addr   string
		cancel context.CancelFunc
		done   chan error // receives Run's result, then is closed
	}
}

// Start starts n nodes forming one metadata quorum, with props (Kafka
// broker properties) on each, and waits until every one serves clients.
func Start(t testing.TB, n int, props map[string]string) *Cluster {
	t.Helper()
	ports := FreeLoopbackPorts(t, n)
	voters := make([]string, n)
	for i, p := range ports {
		voters[i] = fmt.Sprintf("%d@127.0.0.1:%d", i+1, p)
	}
	c := &Cluster{}
	for i := range n {
		nd := &Node{ID: int32(i + 1), FS: vfs.NewFaultFS(vfs.Default()), t: t, logs: &logBuffer{}}
		nd.props = map[string]string{
			"node.id":                   strconv.Itoa(i + 1),
			"listeners":                 "PLAINTEXT://127.0.0.1:0",
			"log.dirs":                  filepath.Join(t.TempDir(), "data"),
			node.PropVoters:             strings.Join(voters, ","),
			node.PropControllerListen:   fmt.Sprintf("127.0.0.1:%d", ports[i]),
			"broker.session.timeout.ms": "2000",
		}
		for k, v := range props {
			nd.props[k] = v
		}
		c.Nodes = append(c.Nodes, nd)
	}
	t.Cleanup(func() {
		// Together, as a cluster shutting down: one at a time, the
		// last would wait out its controlled shutdown with no quorum.
		var wg sync.WaitGroup
		for _, nd := range c.Nodes {
			wg.Go(nd.Stop)
		}
		wg.Wait()
		if t.Failed() {
			for _, nd := range c.Nodes {
				t.Logf("node %d log:\n%s", nd.ID, nd.Log())
			}
		}
	})
	// Together: none can serve before a quorum of them runs.
	ready := make([]<-chan error, n)
	for i, nd := range c.Nodes {
		ready[i] = nd.launch()
	}
	for i, nd := range c.Nodes {
		if err := <-ready[i]; err != nil {
			t.Fatalf("node %d: %v", nd.ID, err)
		}
	}
	return c
}

// Addrs are the nodes' Kafka listener addresses, for seed brokers.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, 0, len(c.Nodes))
	for _, nd := range c.Nodes {
		addrs = append(addrs, nd.Addr())
	}
	return addrs
}

// Node returns the node with id.
func (c *Cluster) Node(id int32) *Node {
	for _, nd := range c.Nodes {
		if nd.ID == id {
			return nd
		}
	}
	return nil
}

// Addr is the node's Kafka listener address (it changes on restart).
func (nd *Node) Addr() string {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.mu.addr
}

// Props are the node's broker properties.
func (nd *Node) Props() map[string]string { return nd.props }

// Log is what the node logged, every restart included.
func (nd *Node) Log() string { return nd.logs.String() }

// launch runs the node and returns a channel that receives nil once it
// serves clients, or why it could not.
func (nd *Node) launch() <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan error, 1)
	nd.mu.Lock()
	nd.mu.cancel, nd.mu.done = cancel, done
	nd.mu.Unlock()
	logger := slog.New(slog.NewTextHandler(nd.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	go func() {
		err := node.Run(ctx, node.Options{Props: nd.props, FS: nd.FS, Logger: logger, Ready: func(addr string) {
			nd.mu.Lock()
			nd.mu.addr = addr
			nd.mu.Unlock()
			ready <- nil
		}})
		select { // only if Ready was not called
		case ready <- fmt.Errorf("node stopped before serving: %v", err):
		default:
		}
		done <- err
		close(done)
	}()
	out := make(chan error, 1)
	go func() {
		select {
		case err := <-ready:
			out <- err
		case <-time.After(startTimeout):
			out <- fmt.Errorf("not serving after %v", startTimeout)
		}
	}()
	return out
}

// Stop shuts the node down as SIGTERM does (a controlled shutdown) and
// waits for it; it does nothing if the node is not running.
func (nd *Node) Stop() {
	nd.mu.Lock()
	cancel, done := nd.mu.cancel, nd.mu.done
	nd.mu.cancel, nd.mu.done = nil, nil
	nd.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	if err := <-done; err != nil {
		nd.t.Logf("node %d stopped: %v", nd.ID, err)
	}
}

// Restart stops the node if it runs and starts it again on the same data
// and file system, waiting until it serves clients.
func (nd *Node) Restart() {
	nd.t.Helper()
	nd.Stop()
	if err := <-nd.launch(); err != nil {
		nd.t.Fatalf("node %d restart: %v", nd.ID, err)
	}
}

// logBuffer collects a node's log lines for the test to search and print.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
