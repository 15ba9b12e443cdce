package workergroup

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// Timings of the end-to-end tests: the broker's smallest session timeout
// (group.min.session.timeout.ms defaults to 6 s), heartbeats often enough
// that rebalances start promptly, and a short scheduled delay.
const (
	testSessionTimeout    = 6 * time.Second
	testHeartbeatInterval = 300 * time.Millisecond
	testRebalanceTimeout  = 15 * time.Second
	testMaxDelay          = 2 * time.Second
	// settleTimeout bounds each wait for the group to reach a state.
	settleTimeout = 30 * time.Second
)

// workerGroup runs Members against a real broker and records what each
// runs, as its callbacks tell. Every callback checks that no live worker
// is told to start work another live worker still runs.
type workerGroup struct {
	t      *testing.T
	addr   string
	group  string
	config struct {
		sync.Mutex
		snapshot ConfigSnapshot
	}
	changed chan struct{} // one slot: something was recorded
	workers map[string]*testWorker
	mu      struct {
		sync.Mutex
		running map[string]work // live worker -> what it runs
		joins   []joinEvent
	}
	wg sync.WaitGroup
}

type joinEvent struct {
	worker string
	at     time.Time
	joined Joined
}

type testWorker struct {
	name   string
	member *Member
	cancel context.CancelFunc
	done   chan error
}

func startWorkerGroup(t *testing.T, connectors map[string]int) *workerGroup {
	srv := fjordtest.Start(t, fjordtest.Options{Config: map[string]string{
		// One join phase for workers started together, without the 3 s
		// default wait of a new group.
		"group.initial.rebalance.delay.ms": "300",
	}})
	g := &workerGroup{t: t, addr: srv.Addr, group: "connect-cluster", changed: make(chan struct{}, 1)}
	g.config.snapshot = ConfigSnapshot{Offset: 10, Connectors: connectors}
	g.mu.running = map[string]work{}
	g.workers = map[string]*testWorker{}
	t.Cleanup(g.wg.Wait)
	return g
}

func (g *workerGroup) configState() ConfigSnapshot {
	g.config.Lock()
	defer g.config.Unlock()
	return ConfigSnapshot{Offset: g.config.snapshot.Offset, Connectors: maps.Clone(g.config.snapshot.Connectors)}
}

func (g *workerGroup) setConfig(connectors map[string]int) {
	g.config.Lock()
	defer g.config.Unlock()
	g.config.snapshot = ConfigSnapshot{Offset: g.config.snapshot.Offset + 1, Connectors: connectors}
}

func (g *workerGroup) notify() {
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// testLog sends a worker's log lines to the test's log.
type testLog struct {
	t    *testing.T
	name string
}

func (l testLog) Write(b []byte) (int, error) {
	l.t.Logf("%s: %s", l.name, strings.TrimSpace(string(b)))
	return len(b), nil
}

// start runs a worker.
func (g *workerGroup) start(name string) *testWorker {
	t := g.t
	client, err := kgo.NewClient(kgo.SeedBrokers(g.addr), kgo.ClientID(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	m, err := New(Config{
		Client: client, GroupID: g.group, WorkerURL: "http://" + name + ":8083",
		SessionTimeout: testSessionTimeout, HeartbeatInterval: testHeartbeatInterval,
		RebalanceTimeout: testRebalanceTimeout, ScheduledRebalanceMaxDelay: testMaxDelay,
		ConfigState: g.configState,
		OnRevoked:   func(connectors []string, tasks []TaskID) { g.revoked(name, connectors, tasks) },
		OnAssigned:  func(j Joined) { g.assigned(name, j) },
		Logger:      slog.New(slog.NewTextHandler(testLog{t, name}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.mu.running[name] = newWork()
	g.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	w := &testWorker{name: name, member: m, cancel: cancel, done: make(chan error, 1)}
	g.workers[name] = w
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		w.done <- m.Run(ctx)
	}()
	t.Cleanup(func() { g.stop(w) })
	return w
}

// crash ends a worker's Run as if its process died: no callback, no
// LeaveGroup, heartbeats just stop.
func (g *workerGroup) crash(w *testWorker) {
	w.member.vanish.Store(true)
	g.mu.Lock()
	g.mu.running[w.name] = newWork() // gone with the process
	g.mu.Unlock()
	g.stop(w)
}

// others names the live workers but one.
func (g *workerGroup) others(but string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, name := range slices.Sorted(maps.Keys(g.mu.running)) {
		if name != but {
			out = append(out, name)
		}
	}
	return out
}

// stop ends a worker's Run and forgets it as a live worker.
func (g *workerGroup) stop(w *testWorker) {
	w.cancel()
	if err := <-w.done; err != nil {
		g.t.Errorf("%s: Run: %v", w.name, err)
	}
	w.done <- nil // later stops return at once
	g.mu.Lock()
	defer g.mu.Unlock()
	if left, ok := g.mu.running[w.name]; ok && !left.isEmpty() {
		g.t.Errorf("%s stopped still running %v", w.name, left.public())
	}
	delete(g.mu.running, w.name)
}

func (g *workerGroup) revoked(name string, connectors []string, tasks []TaskID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	running := g.mu.running[name]
	stopped := workOf(ConnectorsAndTasks{Connectors: connectors, Tasks: tasks})
	if extra := stopped.minus(running); !extra.isEmpty() {
		g.t.Errorf("%s told to stop %v, which it does not run", name, extra.public())
	}
	running.removeAll(stopped)
	g.notify()
}

func (g *workerGroup) assigned(name string, j Joined) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := workOf(ConnectorsAndTasks{Connectors: j.Assignment.Connectors, Tasks: j.Assignment.Tasks})
	for other, w := range g.mu.running {
		if other != name && w.overlaps(now) {
			g.t.Errorf("%s runs %v while %s is given %v", other, w.public(), name, now.public())
		}
	}
	if running, ok := g.mu.running[name]; ok {
		running.removeAll(running)
		running.addAll(now)
	}
	g.mu.joins = append(g.mu.joins, joinEvent{worker: name, at: time.Now(), joined: j})
	g.notify()
}

// view is what waitFor's conditions see: the live workers' running work
// and every Joined so far. It is read under the group's lock: conditions
// must not call the group's methods.
type view struct {
	running map[string]work
	joins   []joinEvent
}

// waitFor waits until cond holds, woken by each callback; it never
// sleeps on a guess.
func (g *workerGroup) waitFor(what string, cond func(view) bool) {
	g.t.Helper()
	deadline := time.NewTimer(settleTimeout)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		ok := cond(view{running: g.mu.running, joins: g.mu.joins})
		state := describeRunning(g.mu.running)
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-g.changed:
		case <-deadline.C:
			g.t.Fatalf("after %v, still waiting for %s; running:%s", settleTimeout, what, state)
		}
	}
}

func describeRunning(running map[string]work) string {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(running)) {
		fmt.Fprintf(&b, "\n  %s: %v", name, running[name].public())
	}
	return b.String()
}

// balancedOver returns the condition: exactly these workers live, between
// them running every configured connector and task once, with counts of
// connectors, and of tasks, within one of each other.
func (g *workerGroup) balancedOver(names ...string) func(view) bool {
	return func(v view) bool {
		running := v.running
		if !slices.Equal(slices.Sorted(maps.Keys(running)), slices.Sorted(slices.Values(names))) {
			return false
		}
		all, total := newWork(), 0
		lo, hi := [2]int{1 << 30, 1 << 30}, [2]int{}
		for _, w := range running {
			all.addAll(w)
			total += len(w.connectors) + len(w.tasks)
			for i, n := range []int{len(w.connectors), len(w.tasks)} {
				lo[i], hi[i] = min(lo[i], n), max(hi[i], n)
			}
		}
		want := configuredWork(g.configState().Connectors)
		return total == len(want.connectors)+len(want.tasks) && all.minus(want).isEmpty() && want.minus(all).isEmpty() &&
			hi[0]-lo[0] <= 1 && hi[1]-lo[1] <= 1
	}
}

func (g *workerGroup) joinsSince(from int) []joinEvent {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.mu.joins[from:])
}

// follower names a live worker that is not the leader, as of the last
// assignments.
func (g *workerGroup) follower() *testWorker {
	g.mu.Lock()
	defer g.mu.Unlock()
	last := map[string]Joined{}
	for _, j := range g.mu.joins {
		last[j.worker] = j.joined
	}
	for _, name := range slices.Sorted(maps.Keys(g.mu.running)) {
		if j := last[name]; j.MemberID != "" && j.MemberID != j.Assignment.Leader {
			return g.workers[name]
		}
	}
	g.t.Fatal("no follower")
	return nil
}

func (g *workerGroup) joinCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.mu.joins)
}

// TestMembersShareWorkAndReshareWhenOneLeaves: three workers split three
// connectors of four tasks evenly; a new connector is picked up when a
// worker asks to rejoin; a worker (not the leader, whose memory of the
// assignment would leave with it) that leaves cleanly has its work held
// for the scheduled delay and then spread over the other two; a worker
// joining takes its share back.
func TestMembersShareWorkAndReshareWhenOneLeaves(t *testing.T) {
	g := startWorkerGroup(t, map[string]int{"jdbc": 4, "s3": 4, "http": 4})
	for _, name := range []string{"w1", "w2", "w3"} {
		g.start(name)
	}
	g.waitFor("three workers balanced", g.balancedOver("w1", "w2", "w3"))
	for _, j := range g.joinsSince(0) {
		if j.joined.Protocol != Sessioned || j.joined.Assignment.Error != NoError {
			t.Fatalf("%s joined with protocol %v, error %d", j.worker, j.joined.Protocol, j.joined.Assignment.Error)
		}
	}

	g.setConfig(map[string]int{"jdbc": 4, "s3": 4, "http": 4, "mongo": 3})
	g.follower().member.RequestRejoin()
	g.waitFor("the new connector assigned", g.balancedOver("w1", "w2", "w3"))

	from := g.joinCount()
	leaving := g.follower()
	staying := g.others(leaving.name)
	left := time.Now()
	g.stop(leaving)
	g.waitFor("two workers balanced after one left", g.balancedOver(staying...))
	if waited := time.Since(left); waited < testMaxDelay {
		t.Fatalf("%s's work moved after %v, before the %v delay", leaving.name, waited, testMaxDelay)
	}
	held := false
	for _, j := range g.joinsSince(from) {
		held = held || j.joined.Assignment.Delay > 0
	}
	if !held {
		t.Fatalf("no assignment announced a delay while %s's work was held", leaving.name)
	}

	g.start("w4")
	g.waitFor("w4 takes its share", g.balancedOver(append(staying, "w4")...))
}

// TestMemberThatStopsHeartbeatingLosesItsWorkAfterTheDelay: a worker that
// vanishes without a word is noticed after the session timeout; its work
// then stays unassigned for the scheduled delay before moving to the
// others, and a worker that joins afterwards gets its share.
func TestMemberThatStopsHeartbeatingLosesItsWorkAfterTheDelay(t *testing.T) {
	g := startWorkerGroup(t, map[string]int{"jdbc": 4, "s3": 4, "http": 4})
	for _, name := range []string{"w1", "w2", "w3"} {
		g.start(name)
	}
	g.waitFor("three workers balanced", g.balancedOver("w1", "w2", "w3"))
	crashing := g.follower()
	staying := g.others(crashing.name)
	g.mu.Lock()
	lost := g.mu.running[crashing.name].clone()
	g.mu.Unlock()

	from := g.joinCount()
	crashed := time.Now()
	g.crash(crashing)
	var heldAt time.Time
	g.waitFor("a rebalance that holds the lost work", func(v view) bool {
		for _, j := range v.joins[from:] {
			if j.joined.Assignment.Delay > 0 && heldAt.IsZero() {
				heldAt = j.at
				for name, w := range v.running {
					if w.overlaps(lost) {
						t.Fatalf("%s runs some of the lost %v during the delay", name, lost.public())
					}
				}
			}
		}
		return !heldAt.IsZero()
	})
	if noticed := heldAt.Sub(crashed); noticed < testSessionTimeout/2 {
		t.Fatalf("the crash was noticed after %v, well within the %v session", noticed, testSessionTimeout)
	}
	g.waitFor("two workers balanced after the delay", g.balancedOver(staying...))
	// The round that hands the work over comes a full delay after the
	// leader first missed it; this member heard of that a little later.
	const slack = time.Second
	if moved := time.Since(heldAt); moved < testMaxDelay-slack {
		t.Fatalf("the lost work moved %v after the delay was announced, before the %v delay", moved, testMaxDelay)
	}

	g.start("w4")
	g.waitFor("w4 takes its share", g.balancedOver(append(staying, "w4")...))
}
