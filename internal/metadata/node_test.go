package metadata

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
)

// startNode starts a single-voter node in dir and waits until it is ready.
func startNode(t testing.TB, dir string) *Node {
	t.Helper()
	// A fixed address: the Raft configuration stored at bootstrap names it,
	// and a restarted node must be found at the same one.
	addr, trans := raft.NewInmemTransport("node-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	n, err := Start(ctx, Options{Dir: dir, NodeID: 1, Transport: trans, LocalAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitReady(ctx); err != nil {
		n.Close()
		t.Fatal(err)
	}
	t.Logf("metadata node ready in %v", time.Since(began))
	t.Cleanup(func() {
		n.Close()
		trans.Close()
	})
	return n
}

func registerSelf(t testing.TB, n *Node, ids ...int32) {
	t.Helper()
	for _, id := range ids {
		if err := n.RegisterBroker(context.Background(), BrokerRegistration{NodeID: id, Host: "localhost", Port: 9092 + id}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStartReadyFast(t *testing.T) {
	began := time.Now()
	n := startNode(t, t.TempDir())
	if elapsed := time.Since(began); elapsed > 2*time.Second {
		t.Fatalf("single node took %v to become ready", elapsed)
	}
	if !n.Leader() {
		t.Fatal("single voter is not leader")
	}
	if n.Image().ClusterID() == "" {
		t.Fatal("no cluster id")
	}
}

func TestStartCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	for range 3 {
		addr, trans := raft.NewInmemTransport("node-1")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n, err := Start(ctx, Options{Dir: dir, NodeID: 1, Transport: trans, LocalAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		registerSelf(t, n, 1)
		cancel()
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		trans.Close()
	}
	// A goroutine raft has already signalled may need a moment to return
	// after Shutdown; poll the count, bounded, instead of sleeping a guess.
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
wait:
	for runtime.NumGoroutine() > before {
		select {
		case <-deadline:
			break wait
		case <-tick.C:
		}
	}
	if after := runtime.NumGoroutine(); after > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines: %d before, %d after\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

func TestClusterIDMismatch(t *testing.T) {
	dir := t.TempDir()
	n := startNode(t, dir)
	id := n.Image().ClusterID()
	n.Close()
	addr, trans := raft.NewInmemTransport("node-1")
	defer trans.Close()
	_, err := Start(context.Background(), Options{Dir: dir, NodeID: 1, Transport: trans, LocalAddr: addr, ClusterID: "other"})
	if err == nil {
		t.Fatal("started with a foreign cluster id")
	}
	n2 := startNode(t, dir)
	if n2.Image().ClusterID() != id {
		t.Fatalf("cluster id changed: %q -> %q", id, n2.Image().ClusterID())
	}
}

func TestSubscribe(t *testing.T) {
	n := startNode(t, t.TempDir())
	var offsets []uint64
	var first bool
	n.Subscribe(func(old, new *Image) {
		if old == nil {
			first = true
		} else if new.Offset() <= old.Offset() {
			t.Errorf("offset went from %d to %d", old.Offset(), new.Offset())
		}
		offsets = append(offsets, new.Offset())
	})
	registerSelf(t, n, 1, 2)
	if !first || len(offsets) != 3 {
		t.Fatalf("first call %v, %d calls", first, len(offsets))
	}
}

func TestAllocateProducerIDs(t *testing.T) {
	n := startNode(t, t.TempDir())
	ctx := context.Background()
	a, err := n.AllocateProducerIDs(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.AllocateProducerIDs(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a != 0 || b != 1000 || n.Image().NextProducerID() != 1010 {
		t.Fatalf("blocks at %d and %d, next %d", a, b, n.Image().NextProducerID())
	}
	for _, count := range []int64{0, -1, MaxProducerIDBlock + 1} {
		if _, err := n.AllocateProducerIDs(ctx, count); !errors.Is(err, kerr.InvalidRequest) {
			t.Errorf("count %d: %v", count, err)
		}
	}
}

// Closing before the first election must not strand the readiness watcher.
func TestCloseBeforeReady(t *testing.T) {
	before := runtime.NumGoroutine()
	addr, trans := raft.NewInmemTransport("node-1")
	n, err := Start(context.Background(), Options{Dir: t.TempDir(), NodeID: 1, Transport: trans, LocalAddr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	trans.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := n.WaitReady(ctx); err == nil && n.Leader() {
		t.Fatal("closed node claims leadership")
	}
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > before {
		select {
		case <-deadline:
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		case <-tick.C:
		}
	}
}

func TestNotController(t *testing.T) {
	n := startNode(t, t.TempDir())
	if err := n.raft.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	_, err := n.CreateTopic(context.Background(), CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1})
	if !errors.Is(err, kerr.NotController) && !errors.Is(err, kerr.InvalidReplicationFactor) {
		t.Fatalf("err = %v", err)
	}
	err = n.RegisterBroker(context.Background(), BrokerRegistration{NodeID: 1, Host: "h", Port: 1})
	if !errors.Is(err, kerr.NotController) {
		t.Fatalf("err = %v", err)
	}
}
