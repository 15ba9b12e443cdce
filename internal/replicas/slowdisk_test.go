package replicas

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/vfs"
)

// gatedFS holds every creation of a directory or file under prefix until
// open is closed: a disk that takes as long as the test wants.
type gatedFS struct {
	vfs.FS
	prefix string
	open   chan struct{}
}

func (g gatedFS) wait(name string) {
	if strings.HasPrefix(name, g.prefix) {
		<-g.open
	}
}

func (g gatedFS) MkdirAll(dir string, perm os.FileMode) error {
	g.wait(dir)
	return g.FS.MkdirAll(dir, perm)
}

func (g gatedFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	g.wait(name)
	return g.FS.OpenFile(name, flag, perm)
}

// TestSlowDiskStallsNeitherRaftNorHeartbeats: opening a partition on a disk
// that hangs holds up the replica manager, not the metadata quorum. Images
// are applied off the FSM goroutine, so the controller goes on committing
// and applying (topics are created meanwhile), and the broker, which goes
// on heartbeating, is never fenced; once the disk answers, the partition
// opens.
func TestSlowDiskStallsNeitherRaftNorHeartbeats(t *testing.T) {
	const session = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr, trans := raft.NewInmemTransport("node-1")
	meta, err := metadata.Start(ctx, metadata.Options{Dir: t.TempDir(), NodeID: 1, Transport: trans, LocalAddr: addr,
		SessionTimeout: session, HeartbeatInterval: session / 6})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close(); trans.Close() })
	if err := meta.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := meta.RegisterBroker(ctx, metadata.BrokerRegistration{NodeID: 1, Host: "localhost", Port: 9001}); err != nil {
		t.Fatal(err)
	}
	var fenced atomic.Bool
	meta.Subscribe(func(_, img *metadata.Image) {
		if br, _ := img.Broker(1); br.Fenced {
			fenced.Store(true)
		}
	})
	hbCtx, stopHeartbeats := context.WithCancel(ctx)
	heartbeats := make(chan struct{})
	go func() { defer close(heartbeats); meta.RunBrokerHeartbeats(hbCtx, 1) }()
	defer func() { stopHeartbeats(); <-heartbeats }()

	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	disk := gatedFS{FS: fs, prefix: "/data/slow-", open: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(disk.open)
		}
	}
	defer release()
	cfg, err := config.ParseBroker(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{NodeID: 1, DataDir: "/data", Config: cfg, FS: disk, Meta: meta})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); m.Run(runCtx) }()
	defer func() { release(); stopRun(); <-ran; _ = m.Close() }()

	// A controller write returns once the FSM applied it; an FSM held up
	// by the disk holds it forever (raft's apply future has no deadline
	// once enqueued), so the wait is bounded here.
	create := func(name string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := meta.CreateTopic(ctx, metadata.CreateTopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1,
				Assignments: map[int32][]int32{0: {1}}})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("creating %s while a partition open hangs: %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("creating %s did not return while a partition open hung: the metadata apply is stalled", name)
		}
	}
	create("slow")
	create("next")
	if _, ok := meta.Image().Topic("next"); !ok {
		t.Fatal("the metadata image stopped at the hanging open")
	}
	// Several sessions pass with the open hanging; nothing here can speed
	// the controller's liveness check, so the test waits them out.
	<-time.After(3 * session)
	if fenced.Load() {
		t.Fatal("the broker was fenced while a partition open hung")
	}
	release()
	if err := m.WaitApplied(ctx, meta.Image().Offset()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"slow", "next"} {
		if m.Partition(name, 0) == nil {
			t.Fatalf("%s-0 not opened once the disk answered", name)
		}
	}
	if fenced.Load() {
		t.Fatal("the broker was fenced")
	}
}
