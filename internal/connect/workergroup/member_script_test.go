package workergroup

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// scriptedBroker is a transport whose answers the test gives one request
// at a time, to reach the answers a real broker rarely gives (fencing,
// coordinator moves, dropped connections) in a set order. Heartbeats are
// answered without error unless the test asks for one.
type scriptedBroker struct {
	t     *testing.T
	calls chan call
}

type call struct {
	node  int32 // -1: any broker
	req   kmsg.Request
	reply chan reply
}

type reply struct {
	resp kmsg.Response
	err  error
}

func (b *scriptedBroker) anyBroker(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	return b.send(ctx, -1, req)
}

func (b *scriptedBroker) broker(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	return b.send(ctx, node, req)
}

func (b *scriptedBroker) send(ctx context.Context, node int32, req kmsg.Request) (kmsg.Response, error) {
	c := call{node: node, req: req, reply: make(chan reply, 1)}
	select {
	case b.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.reply:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// next returns the next request, which must be of type T and go to node.
func next[T kmsg.Request](b *scriptedBroker, node int32) (T, call) {
	b.t.Helper()
	var zero T
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case c := <-b.calls:
			_, isHeartbeat := c.req.(*kmsg.HeartbeatRequest)
			if _, wantHeartbeat := any(zero).(*kmsg.HeartbeatRequest); isHeartbeat && !wantHeartbeat {
				c.answer(kmsg.NewPtrHeartbeatResponse())
				continue
			}
			req, ok := c.req.(T)
			if !ok {
				b.t.Fatalf("got %s, want %T", kmsg.NameForKey(c.req.Key()), zero)
			}
			if c.node != node {
				b.t.Fatalf("%s sent to node %d, want %d", kmsg.NameForKey(c.req.Key()), c.node, node)
			}
			return req, c
		case <-timeout.C:
			b.t.Fatalf("no %T came", zero)
			return zero, call{}
		}
	}
}

func (c call) answer(resp kmsg.Response) { c.reply <- reply{resp: resp} }

func coordinatorIs(node int32) *kmsg.FindCoordinatorResponse {
	resp := kmsg.NewPtrFindCoordinatorResponse()
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.NodeID = node
	resp.Coordinators = append(resp.Coordinators, c)
	return resp
}

func joinError(code int16, memberID string) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.ErrorCode, resp.MemberID, resp.Generation = code, memberID, -1
	return resp
}

func joinedAs(memberID, leader, protocol string, generation int32, members ...kmsg.JoinGroupResponseMember) *kmsg.JoinGroupResponse {
	resp := kmsg.NewPtrJoinGroupResponse()
	resp.MemberID, resp.LeaderID, resp.Generation, resp.Protocol = memberID, leader, generation, kmsg.StringPtr(protocol)
	resp.Members = members
	return resp
}

func syncAnswer(t *testing.T, a Assignment) *kmsg.SyncGroupResponse {
	b, err := EncodeAssignment(a)
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.MemberAssignment = b
	return resp
}

// events records the callbacks as strings, in order.
type events chan string

func (e events) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-e:
		if got != want {
			t.Fatalf("callback %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no callback; want %q", want)
	}
}

func scriptedMember(t *testing.T, protocol string, config ConfigSnapshot) (*Member, *scriptedBroker, events) {
	b := &scriptedBroker{t: t, calls: make(chan call)}
	ev := make(events, 100)
	m, err := newMember(Config{
		GroupID: "g", Protocol: protocol, WorkerURL: "http://me",
		SessionTimeout: time.Second, HeartbeatInterval: 20 * time.Millisecond, RebalanceTimeout: time.Second,
		ScheduledRebalanceMaxDelay: time.Minute, RetryBackoff: 5 * time.Millisecond,
		ConfigState: func() ConfigSnapshot { return config },
		OnRevoked:   func(c []string, tasks []TaskID) { ev <- fmt.Sprintf("revoked %v %v", c, tasks) },
		OnAssigned: func(j Joined) {
			a := j.Assignment
			ev <- fmt.Sprintf("assigned %d %s %v %v delay %v", j.Generation, j.Protocol, a.Connectors, a.Tasks, a.Delay)
		},
	}, b)
	if err != nil {
		t.Fatal(err)
	}
	return m, b, ev
}

// runMember runs m until cancel is called; wait then returns Run's
// result once no goroutine of the member is left. A test that fails
// midway still stops its member, so that the next test starts clean.
func runMember(t *testing.T, m *Member) (cancel func(), wait func() error) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cancel, func() error {
		err := <-done
		done <- err
		waitGoroutines(t, before)
		return err
	}
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func metadataOf(t *testing.T, s WorkerState) []byte {
	b, err := EncodeWorkerState(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// allocationOffered decodes the metadata of the first (newest) protocol of
// a JoinGroup.
func allocationOffered(t *testing.T, req *kmsg.JoinGroupRequest) *Assignment {
	t.Helper()
	s, err := DecodeWorkerState(req.Protocols[0].Metadata)
	if err != nil {
		t.Fatal(err)
	}
	return s.Allocation
}

func sameWork(a *Assignment, connectors []string, tasks []TaskID) bool {
	return a != nil && reflect.DeepEqual(a.Connectors, connectors) && reflect.DeepEqual(a.Tasks, tasks)
}

var errConnectionReset = errors.New("connection reset by peer")

// TestMemberScriptedRebalances walks a member through a sessioned group:
// KIP-394's second join, leading a round, a follower round revoking a
// task (with the immediate follow-up rejoin), fencing, a coordinator
// move, a scheduled delay, a requested rejoin over a dropped connection,
// and leaving.
func TestMemberScriptedRebalances(t *testing.T) {
	m, b, ev := scriptedMember(t, "", ConfigSnapshot{Offset: 5, Connectors: map[string]int{"a": 2, "b": 1}})
	cancel, wait := runMember(t, m)

	_, c := next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(1))
	join, c := next[*kmsg.JoinGroupRequest](b, 1)
	var names []string
	for _, p := range join.Protocols {
		names = append(names, p.Name)
	}
	if join.MemberID != "" || join.ProtocolType != "connect" || fmt.Sprint(names) != "[sessioned compatible default]" {
		t.Fatalf("first join: member %q, type %q, protocols %v", join.MemberID, join.ProtocolType, names)
	}
	if a := allocationOffered(t, join); a != nil || join.SessionTimeoutMillis != 1000 {
		t.Fatalf("new member offers allocation %+v, session %d", a, join.SessionTimeoutMillis)
	}
	c.answer(joinError(kerr.MemberIDRequired.Code, "m1"))

	// The second join, with the id; this member leads a round in which m2
	// keeps what it runs.
	join, c = next[*kmsg.JoinGroupRequest](b, 1)
	if join.MemberID != "m1" {
		t.Fatalf("second join as %q, want m1", join.MemberID)
	}
	m2 := kmsg.NewJoinGroupResponseMember()
	m2.MemberID = "m2"
	m2.ProtocolMetadata = metadataOf(t, WorkerState{Version: 2, URL: "http://m2", ConfigOffset: 5,
		Allocation: &Assignment{Connectors: []string{"b"}, Tasks: []TaskID{{"b", 0}}}})
	m1 := kmsg.NewJoinGroupResponseMember()
	m1.MemberID, m1.ProtocolMetadata = "m1", join.Protocols[0].Metadata
	c.answer(joinedAs("m1", "m1", "sessioned", 1, m1, m2))
	sync, c := next[*kmsg.SyncGroupRequest](b, 1)
	if sync.Generation != 1 || sync.MemberID != "m1" || deref(sync.Protocol) != "sessioned" || len(sync.GroupAssignment) != 2 {
		t.Fatalf("leader's sync: %+v", sync)
	}
	given := map[string]Assignment{}
	for _, ga := range sync.GroupAssignment {
		a, err := DecodeAssignment(ga.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		given[ga.MemberID] = a
	}
	if a := given["m1"]; a.Version != 2 || a.Leader != "m1" || a.LeaderURL != "http://me" || a.ConfigOffset != 5 ||
		!sameWork(&a, []string{"a"}, []TaskID{{"a", 0}, {"a", 1}}) {
		t.Fatalf("leader assigned itself %+v", a)
	}
	if a := given["m2"]; len(a.Connectors)+len(a.Tasks)+len(a.RevokedConnectors)+len(a.RevokedTasks) != 0 {
		t.Fatalf("leader moved m2's work: %+v", a)
	}
	c.answer(syncAnswer(t, given["m1"]))
	ev.expect(t, "assigned 1 sessioned [a] [a-0 a-1] delay 0s")

	// A rebalance: this member rejoins with what it runs and follows m2,
	// which revokes a-1 under the compatible protocol.
	hb, c := next[*kmsg.HeartbeatRequest](b, 1)
	if hb.Generation != 1 || hb.MemberID != "m1" {
		t.Fatalf("heartbeat %+v", hb)
	}
	resp := kmsg.NewPtrHeartbeatResponse()
	resp.ErrorCode = kerr.RebalanceInProgress.Code
	c.answer(resp)
	join, c = next[*kmsg.JoinGroupRequest](b, 1)
	if a := allocationOffered(t, join); join.MemberID != "m1" || !sameWork(a, []string{"a"}, []TaskID{{"a", 0}, {"a", 1}}) {
		t.Fatalf("rejoin as %q offering %+v", join.MemberID, a)
	}
	c.answer(joinedAs("m1", "m2", "compatible", 2))
	sync, c = next[*kmsg.SyncGroupRequest](b, 1)
	if len(sync.GroupAssignment) != 0 || deref(sync.Protocol) != "compatible" {
		t.Fatalf("follower's sync: %+v", sync)
	}
	c.answer(syncAnswer(t, Assignment{Version: 1, Leader: "m2", ConfigOffset: 5, RevokedTasks: []TaskID{{"a", 1}}}))
	ev.expect(t, "revoked [] [a-1]")
	ev.expect(t, "assigned 2 compatible [a] [a-0] delay 0s")

	// The follow-up rejoin comes at once, without a-1; the member is
	// fenced, stops everything and joins anew.
	join, c = next[*kmsg.JoinGroupRequest](b, 1)
	if a := allocationOffered(t, join); !sameWork(a, []string{"a"}, []TaskID{{"a", 0}}) {
		t.Fatalf("follow-up rejoin offers %+v", a)
	}
	c.answer(joinError(kerr.UnknownMemberID.Code, "m1"))
	ev.expect(t, "revoked [a] [a-0]")
	join, c = next[*kmsg.JoinGroupRequest](b, 1)
	if join.MemberID != "" || allocationOffered(t, join) != nil {
		t.Fatalf("fenced member rejoins as %q offering %+v", join.MemberID, allocationOffered(t, join))
	}

	// The coordinator moved.
	c.answer(joinError(kerr.NotCoordinator.Code, ""))
	_, c = next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(2))
	_, c = next[*kmsg.JoinGroupRequest](b, 2)
	c.answer(joinedAs("m1b", "m2", "sessioned", 3))
	_, c = next[*kmsg.SyncGroupRequest](b, 2)
	c.answer(syncAnswer(t, Assignment{Version: 2, Leader: "m2", ConfigOffset: 5, Connectors: []string{"a"},
		Delay: 50 * time.Millisecond}))
	ev.expect(t, "assigned 3 sessioned [a] [] delay 50ms")

	// The scheduled delay brings the member back on its own.
	join, c = next[*kmsg.JoinGroupRequest](b, 2)
	if join.MemberID != "m1b" {
		t.Fatalf("delayed rejoin as %q", join.MemberID)
	}
	c.answer(joinedAs("m1b", "m2", "sessioned", 4))
	_, c = next[*kmsg.SyncGroupRequest](b, 2)
	c.answer(syncAnswer(t, Assignment{Version: 2, Leader: "m2", ConfigOffset: 5}))
	ev.expect(t, "assigned 4 sessioned [a] [] delay 0s")

	// A requested rejoin whose connection drops: the member finds the
	// coordinator again and rejoins; it is stopped while waiting.
	m.RequestRejoin()
	_, c = next[*kmsg.JoinGroupRequest](b, 2)
	c.reply <- reply{err: errConnectionReset}
	_, c = next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(2))
	join, _ = next[*kmsg.JoinGroupRequest](b, 2)
	if join.MemberID != "m1b" {
		t.Fatalf("rejoin after the dropped connection as %q", join.MemberID)
	}
	cancel()
	ev.expect(t, "revoked [a] []")
	leave, c := next[*kmsg.LeaveGroupRequest](b, 2)
	if len(leave.Members) != 1 || leave.Members[0].MemberID != "m1b" || leave.MemberID != "m1b" {
		t.Fatalf("leave %+v", leave)
	}
	c.answer(kmsg.NewPtrLeaveGroupResponse())
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestMemberScriptedEager: under connect.protocol=eager the member offers
// only "default" with V0 metadata, assigns everything anew as leader, and
// stops all its work before each rejoin.
func TestMemberScriptedEager(t *testing.T) {
	m, b, ev := scriptedMember(t, "eager", ConfigSnapshot{Offset: 1, Connectors: map[string]int{"a": 1, "b": 1}})
	cancel, wait := runMember(t, m)
	_, c := next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(1))
	join, c := next[*kmsg.JoinGroupRequest](b, 1)
	if len(join.Protocols) != 1 || join.Protocols[0].Name != "default" {
		t.Fatalf("eager protocols %+v", join.Protocols)
	}
	if s, err := DecodeWorkerState(join.Protocols[0].Metadata); err != nil || s.Version != 0 || s.URL != "http://me" {
		t.Fatalf("eager metadata %+v, %v", s, err)
	}
	other := kmsg.NewJoinGroupResponseMember()
	other.MemberID, other.ProtocolMetadata = "m2", metadataOf(t, WorkerState{URL: "http://m2", ConfigOffset: 1})
	self := kmsg.NewJoinGroupResponseMember()
	self.MemberID, self.ProtocolMetadata = "m1", join.Protocols[0].Metadata
	c.answer(joinedAs("m1", "m1", "default", 1, self, other))
	sync, c := next[*kmsg.SyncGroupRequest](b, 1)
	var mine []byte
	for _, ga := range sync.GroupAssignment {
		if ga.MemberID == "m1" {
			mine = ga.MemberAssignment
		}
	}
	if a, err := DecodeAssignment(mine); err != nil || a.Version != 0 ||
		!sameWork(&a, []string{"a"}, []TaskID{{"a", 0}}) {
		t.Fatalf("eager leader assigned itself %+v, %v", a, err)
	}
	resp := kmsg.NewPtrSyncGroupResponse()
	resp.MemberAssignment = mine
	c.answer(resp)
	ev.expect(t, "assigned 1 eager [a] [a-0] delay 0s")
	_, c = next[*kmsg.HeartbeatRequest](b, 1)
	hbResp := kmsg.NewPtrHeartbeatResponse()
	hbResp.ErrorCode = kerr.RebalanceInProgress.Code
	c.answer(hbResp)
	ev.expect(t, "revoked [a] [a-0]")
	_, _ = next[*kmsg.JoinGroupRequest](b, 1)
	cancel()
	_, c = next[*kmsg.LeaveGroupRequest](b, 1)
	c.answer(kmsg.NewPtrLeaveGroupResponse())
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestMemberScriptedLosesCoordinator: a member that cannot find a
// coordinator for heartbeat.interval.ms stops its work, as Kafka's
// workers do, and keeps looking.
func TestMemberScriptedLosesCoordinator(t *testing.T) {
	m, b, ev := scriptedMember(t, "compatible", ConfigSnapshot{Offset: 1, Connectors: map[string]int{"a": 1}})
	cancel, wait := runMember(t, m)
	_, c := next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(1))
	_, c = next[*kmsg.JoinGroupRequest](b, 1)
	c.answer(joinedAs("m1", "m2", "compatible", 1))
	_, c = next[*kmsg.SyncGroupRequest](b, 1)
	c.answer(syncAnswer(t, Assignment{Version: 1, Leader: "m2", Connectors: []string{"a"}}))
	ev.expect(t, "assigned 1 compatible [a] [] delay 0s")
	_, c = next[*kmsg.HeartbeatRequest](b, 1)
	c.reply <- reply{err: errConnectionReset}
	unavailable := kmsg.NewPtrFindCoordinatorResponse()
	unavailable.ErrorCode = kerr.CoordinatorNotAvailable.Code
	revoked := false
	for !revoked {
		_, c = next[*kmsg.FindCoordinatorRequest](b, -1)
		c.answer(unavailable)
		select {
		case got := <-ev:
			if got != "revoked [a] []" {
				t.Fatalf("callback %q", got)
			}
			revoked = true
		default:
		}
	}
	// Stopped while looking for a coordinator: nothing to leave.
	cancel()
	if err := wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestMemberScriptedFatal: an error the protocol cannot recover from ends
// Run with it.
func TestMemberScriptedFatal(t *testing.T) {
	m, b, _ := scriptedMember(t, "", ConfigSnapshot{})
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	_, c := next[*kmsg.FindCoordinatorRequest](b, -1)
	c.answer(coordinatorIs(1))
	_, c = next[*kmsg.JoinGroupRequest](b, 1)
	c.answer(joinError(kerr.InconsistentGroupProtocol.Code, ""))
	if err := <-done; !errors.Is(err, kerr.InconsistentGroupProtocol) {
		t.Fatalf("Run: %v, want INCONSISTENT_GROUP_PROTOCOL", err)
	}
	if err := m.Run(context.Background()); !errors.Is(err, ErrRunTwice) {
		t.Fatalf("second Run: %v", err)
	}
}
