package metadata

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestNewControllerDecidesOnTheLatestImage is the controller half of issue
// 12, made deterministic: a node takes over the quorum's leadership while
// its image lags entries it already holds in its log (its FSM is held back
// here; in the fault run it had not yet learnt that its predecessor's last
// entries were committed), and is asked at once for a decision that depends
// on them. The predecessor fenced broker 2 (ISR [1 2 3] -> [1 3]); the new
// controller then fences broker 3. Deciding on its stale image it would
// write ISR [1 2], putting back a fenced broker that may lack acknowledged
// records, with a partition epoch that the predecessor had already used.
// It must first apply everything committed before its term.
func TestNewControllerDecidesOnTheLatestImage(t *testing.T) {
	// No heartbeats and a long session: fencing is only what the test does.
	c := startClusterWith(t, 3, func(o *Options) { o.SessionTimeout = time.Minute })
	c.registerAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	old := c.leader()
	next := (old + 1) % 3
	if _, err := c.nodes[old].CreateTopic(ctx, CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2, 3}}}); err != nil {
		t.Fatal(err)
	}
	c.converged()

	// Every state the partition goes through, as the third node applies
	// them: no two may share a partition epoch, and none may list a
	// fenced broker in the ISR of a live leader.
	var states partitionStates
	c.nodes[3-old-next].Subscribe(states.record)
	defer func() {
		if err := states.check(); err != nil {
			t.Error(err)
		}
	}()

	// Hold next's FSM inside the publication of the next entry it applies
	// (a producer id block): its image stops there.
	var armed atomic.Bool
	blocked, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	c.nodes[next].Subscribe(func(_, _ *Image) {
		if armed.CompareAndSwap(true, false) {
			close(blocked)
			<-release
		}
	})
	armed.Store(true)
	if _, err := c.nodes[old].AllocateProducerIDs(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, blocked, "the new controller's FSM to block")
	stale := partitionsOf(c.nodes[next].Image(), "t")[0]

	// The old controller fences broker 2; the entry reaches next's log but
	// not its image.
	if err := c.nodes[old].FenceBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	fenced := partitionsOf(c.nodes[old].Image(), "t")[0]
	if !slices.Equal(fenced.ISR, []int32{1, 3}) {
		t.Fatalf("after fencing 2: ISR %v, want [1 3]", fenced.ISR)
	}
	committed := c.nodes[old].raft.LastIndex()
	waitFor(t, "the fencing entry in the new controller's log", func() bool { return c.nodes[next].raft.LastIndex() >= committed })
	if got := partitionsOf(c.nodes[next].Image(), "t")[0]; got.PartitionEpoch != stale.PartitionEpoch {
		t.Fatalf("the new controller's image moved on while its FSM was held: %+v", got)
	}

	id := raft.ServerID(strconv.Itoa(next + 1))
	if err := c.nodes[old].raft.LeadershipTransferToServer(id, raft.ServerAddress(c.voters[next].Addr)).Error(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	waitFor(t, "the new controller to lead", c.nodes[next].Leader)

	// Fence broker 3 on the new controller. Let it go as far as it can
	// before its FSM moves: until it appended, as leader, a command (its
	// decision) or a barrier (waiting to catch up first).
	done := make(chan error, 1)
	go func() { done <- c.nodes[next].FenceBroker(ctx, 3) }()
	waitFor(t, "the new controller to append a command or a barrier", func() bool {
		return appendedAfter(c.nodes[next], committed, raft.LogCommand, raft.LogBarrier)
	})
	unblock()
	if err := <-done; err != nil {
		t.Fatalf("fencing broker 3 on the new controller: %v", err)
	}
	c.converged()
	got := partitionsOf(c.nodes[next].Image(), "t")[0]
	if !slices.Equal(got.ISR, []int32{1}) || got.PartitionEpoch != fenced.PartitionEpoch+1 || got.Leader != 1 {
		t.Fatalf("after fencing 2, then 3 on a new controller: %+v; want leader 1, ISR [1], partition epoch %d",
			got, fenced.PartitionEpoch+1)
	}
}

// appendedAfter reports whether n's log holds an entry of one of types past
// index.
func appendedAfter(n *Node, index uint64, types ...raft.LogType) bool {
	last, err := n.store.LastIndex()
	if err != nil {
		return false
	}
	for i := index + 1; i <= last; i++ {
		var l raft.Log
		if n.store.GetLog(i, &l) == nil && slices.Contains(types, l.Type) {
			return true
		}
	}
	return false
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitFor polls cond; it never touches an FSM's lock, which a held FSM
// keeps.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// partitionStates records the states of partition t-0 an image goes
// through.
type partitionStates struct {
	mu     sync.Mutex
	states []partitionState
}

type partitionState struct {
	PartitionImage
	fenced []int32
}

func (s *partitionStates) record(_, img *Image) {
	parts := partitionsOf(img, "t")
	if len(parts) == 0 {
		return
	}
	st := partitionState{PartitionImage: parts[0]}
	for _, b := range img.Brokers() {
		if b.Fenced {
			st.fenced = append(st.fenced, b.NodeID)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.states); n > 0 && s.states[n-1].PartitionEpoch == st.PartitionEpoch &&
		slices.Equal(s.states[n-1].ISR, st.ISR) && s.states[n-1].Leader == st.Leader {
		return
	}
	s.states = append(s.states, st)
}

// check returns an error for the first state that reuses or lowers a
// partition epoch, or that lists a fenced broker in the ISR of a leader.
func (s *partitionStates) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range s.states {
		if i > 0 && st.PartitionEpoch <= s.states[i-1].PartitionEpoch {
			return fmt.Errorf("partition epoch %d after %d: %+v then %+v", st.PartitionEpoch, s.states[i-1].PartitionEpoch, s.states[i-1], st)
		}
		for _, id := range st.ISR {
			if st.Leader >= 0 && slices.Contains(st.fenced, id) {
				return fmt.Errorf("fenced broker %d in the ISR of leader %d: %+v", id, st.Leader, st)
			}
		}
	}
	return nil
}
