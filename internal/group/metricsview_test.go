package group

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func doMsg(t *testing.T, c *Coordinator, msg kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := c.Do(context.Background(), Request{Msg: msg, ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func metricsView(t *testing.T, c *Coordinator) MetricsView {
	t.Helper()
	v, err := c.MetricsView(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMetricsViewFollowsGroupStates drives a classic group through a
// generation and a consumer group through a join, and checks the counts
// by type and state, protocol type, members and rebalances.
func TestMetricsViewFollowsGroupStates(t *testing.T) {
	c := New(Options{Config: Config{NumPartitions: 1, MinSessionTimeout: time.Second, MaxSessionTimeout: time.Minute},
		Clock: stoppedClock{}})
	ctx, cancel := context.WithCancel(context.Background())
	go c.Run(ctx)
	t.Cleanup(func() { cancel(); <-c.done })
	log := newMemLog()
	c.Elect(0, log)
	fetch(t, c, false) // loaded

	if v := metricsView(t, c); len(v.Groups) != 0 || len(v.Members) != 0 {
		t.Fatalf("no groups yet: %+v", v)
	}
	// A lone member's join completes the generation at once (no initial
	// rebalance delay is configured): CompletingRebalance, one member.
	join := joinReq("", "", 3)
	joined := doMsg(t, c, join).(*kmsg.JoinGroupResponse)
	if joined.ErrorCode != 0 {
		t.Fatalf("join: error %d", joined.ErrorCode)
	}
	v := metricsView(t, c)
	if v.Groups[GroupTypeState{TypeClassic, "CompletingRebalance"}] != 1 || v.Members[TypeClassic] != 1 || v.ProtocolTypes["consumer"] != 1 {
		t.Fatalf("after the join: %+v", v)
	}
	if classic, _ := c.Rebalances(); classic != 1 {
		t.Fatalf("classic rebalances %d, want 1", classic)
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 3
	sync.Group, sync.MemberID, sync.Generation = "g", joined.MemberID, joined.Generation
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: joined.MemberID, MemberAssignment: []byte("a")}}
	if resp := doMsg(t, c, sync).(*kmsg.SyncGroupResponse); resp.ErrorCode != 0 {
		t.Fatalf("sync: error %d", resp.ErrorCode)
	}
	if v := metricsView(t, c); v.Groups[GroupTypeState{TypeClassic, "Stable"}] != 1 || len(v.Groups) != 1 {
		t.Fatalf("after the sync: %+v", v)
	}

	// A consumer (KIP-848) group's first heartbeat bumps its epoch.
	hb := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	hb.Version = 1
	hb.Group, hb.MemberID, hb.MemberEpoch, hb.RebalanceTimeoutMillis = "cg", "m1", 0, 30000
	hb.SubscribedTopicNames = []string{"t"}
	if resp := doMsg(t, c, hb).(*kmsg.ConsumerGroupHeartbeatResponse); resp.ErrorCode != 0 {
		t.Fatalf("heartbeat: error %d", resp.ErrorCode)
	}
	v = metricsView(t, c)
	consumerGroups := 0
	for k, n := range v.Groups {
		if k.Type == TypeConsumer {
			consumerGroups += n
		}
	}
	if consumerGroups != 1 || v.Members[TypeConsumer] != 1 || v.Members[TypeClassic] != 1 {
		t.Fatalf("with a consumer group: %+v", v)
	}
	if _, consumer := c.Rebalances(); consumer != 1 {
		t.Fatalf("consumer rebalances %d, want 1", consumer)
	}

	// Leaving empties the classic group and completes no generation.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version = 0
	leave.Group, leave.MemberID = "g", joined.MemberID
	doMsg(t, c, leave)
	if v := metricsView(t, c); v.Groups[GroupTypeState{TypeClassic, "Empty"}] != 1 || v.Members[TypeClassic] != 0 {
		t.Fatalf("after the leave: %+v", v)
	}
}

// TestMetricsViewStopped checks that a coordinator that no longer runs
// gives an error rather than a hang.
func TestMetricsViewStopped(t *testing.T) {
	c := New(Options{Config: Config{NumPartitions: 1}, Clock: stoppedClock{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	cancel()
	<-done
	if _, err := c.MetricsView(context.Background()); err == nil {
		t.Fatal("no error from a stopped coordinator")
	}
}

func TestStatesListEveryState(t *testing.T) {
	if got := len(ClassicStates()); got != 5 {
		t.Fatalf("classic states %d", got)
	}
	if got := len(ConsumerStates()); got != 5 {
		t.Fatalf("consumer states %d", got)
	}
}
