package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// harness drives a core with a fake clock and collects its replies by
// request id, as the driver would.
type harness struct {
	t       *testing.T
	c       *core
	now     time.Time
	nextID  uint64
	replies map[uint64]kmsg.Response
	records []Record
	// log is what the driver would have appended, at offsets 0, 1, ...,
	// with the transaction markers written beside it (marker).
	log []LogRecord
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	n := 0
	cfg := Config{
		NumPartitions: 1, MinSessionTimeout: time.Second, MaxSessionTimeout: time.Minute,
		OffsetMetadataMaxBytes: 16, MaxSize: 10,
		NewMemberID: func(clientID string) string { n++; return fmt.Sprintf("%s-%d", clientID, n) },
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, c: newCore(cfg), now: time.Unix(1000, 0), replies: map[uint64]kmsg.Response{}}
	h.c.finishLoad(0, h.now)
	return h
}

func (h *harness) collect() {
	eff := h.c.takeEffects()
	for _, p := range eff.persists {
		base := int64(len(h.log))
		for _, r := range p.records {
			rec := LogRecord{Offset: int64(len(h.log)), ProducerID: -1, Key: r.Key, Value: r.Value}
			if p.txn != nil {
				rec.ProducerID, rec.Transactional = p.txn.producer.ID, true
			}
			h.log = append(h.log, rec)
		}
		h.records = append(h.records, p.records...)
		h.c.appended(p, base)
	}
	for _, r := range eff.replies {
		if _, dup := h.replies[r.id]; dup {
			h.t.Fatalf("request %d answered twice", r.id)
		}
		h.replies[r.id] = r.resp
	}
}

// send submits a request and returns its id.
func (h *harness) send(client string, msg kmsg.Request) uint64 {
	h.nextID++
	h.c.handle(h.now, h.nextID, Request{Msg: msg, ClientID: client, ClientHost: "/127.0.0.1"})
	h.collect()
	return h.nextID
}

// advance moves the fake clock and fires due deadlines.
func (h *harness) advance(d time.Duration) {
	h.now = h.now.Add(d)
	h.c.tick(h.now)
	h.collect()
}

// plain is a record of a non-transactional batch at offset 0.
func plain(key, value []byte) LogRecord {
	return LogRecord{ProducerID: -1, Key: key, Value: value}
}

func (h *harness) reply(id uint64) kmsg.Response {
	h.t.Helper()
	r, ok := h.replies[id]
	if !ok {
		h.t.Fatalf("request %d not answered", id)
	}
	return r
}

func (h *harness) pending(id uint64) bool {
	_, ok := h.replies[id]
	return !ok
}

func joinReq(memberID, instanceID string, version int16, protocols ...string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = version
	req.Group, req.MemberID, req.ProtocolType = "g", memberID, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 20000
	if instanceID != "" {
		req.InstanceID = &instanceID
	}
	if len(protocols) == 0 {
		protocols = []string{"range"}
	}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte("meta-" + p)})
	}
	return req
}

// joinNew performs KIP-394's two joins and returns the member id and the
// id of the parked second join.
func (h *harness) joinNew(client string) (string, uint64) {
	h.t.Helper()
	first := h.reply(h.send(client, joinReq("", "", 9))).(*kmsg.JoinGroupResponse)
	if first.ErrorCode != kerr.MemberIDRequired.Code || first.MemberID == "" {
		h.t.Fatalf("first join: error %d member %q, want MEMBER_ID_REQUIRED with an id", first.ErrorCode, first.MemberID)
	}
	return first.MemberID, h.send(client, joinReq(first.MemberID, "", 9))
}

func (h *harness) syncReq(memberID string, generation int32, assignments map[string]string) uint64 {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.MemberID, req.Generation = "g", memberID, generation
	for m, a := range assignments {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(a)})
	}
	return h.send("c", req)
}

func (h *harness) heartbeat(memberID string, generation int32) int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = "g", memberID, generation
	return h.reply(h.send("c", req)).(*kmsg.HeartbeatResponse).ErrorCode
}

func (h *harness) state() State { return h.c.groups["g"].state }

func code(resp kmsg.Response) int16 {
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		return r.ErrorCode
	case *kmsg.SyncGroupResponse:
		return r.ErrorCode
	}
	panic("no code")
}

// stableGroup brings two members to a stable generation 1; a is leader.
func stableGroup(t *testing.T, h *harness) (a, b string) {
	t.Helper()
	a, ja := h.joinNew("a")
	join := h.reply(ja).(*kmsg.JoinGroupResponse)
	if join.ErrorCode != 0 || join.Generation != 1 || join.LeaderID != a || len(join.Members) != 1 {
		t.Fatalf("single join: %+v", join)
	}
	// b joins: a must rejoin for generation 2.
	b, jb := h.joinNew("b")
	if h.state() != StatePreparingRebalance || !h.pending(jb) {
		t.Fatalf("state %v, b's join pending %v", h.state(), h.pending(jb))
	}
	if got := h.heartbeat(a, 1); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("leader heartbeat during rebalance: %d", got)
	}
	ja2 := h.send("a", joinReq(a, "", 9))
	ra, rb := h.reply(ja2).(*kmsg.JoinGroupResponse), h.reply(jb).(*kmsg.JoinGroupResponse)
	if ra.Generation != 2 || rb.Generation != 2 || ra.LeaderID != a || len(ra.Members) != 2 || len(rb.Members) != 0 {
		t.Fatalf("generation 2: leader %+v follower %+v", ra, rb)
	}
	if *ra.Protocol != "range" {
		t.Fatalf("protocol %q", *ra.Protocol)
	}
	sb := h.syncReq(b, 2, nil)
	if !h.pending(sb) {
		t.Fatal("follower sync answered before the leader's")
	}
	sa := h.syncReq(a, 2, map[string]string{a: "A", b: "B"})
	if got := string(h.reply(sa).(*kmsg.SyncGroupResponse).MemberAssignment); got != "A" {
		t.Fatalf("leader assignment %q", got)
	}
	if got := string(h.reply(sb).(*kmsg.SyncGroupResponse).MemberAssignment); got != "B" {
		t.Fatalf("follower assignment %q", got)
	}
	if h.state() != StateStable {
		t.Fatalf("state %v after sync", h.state())
	}
	return a, b
}

func TestJoinSyncStable(t *testing.T) {
	h := newHarness(t, nil)
	a, b := stableGroup(t, h)
	if got := h.heartbeat(a, 2); got != 0 {
		t.Fatalf("heartbeat: %d", got)
	}
	if got := h.heartbeat(b, 1); got != kerr.IllegalGeneration.Code {
		t.Fatalf("stale generation heartbeat: %d", got)
	}
	if got := h.heartbeat("nobody", 2); got != kerr.UnknownMemberID.Code {
		t.Fatalf("unknown member heartbeat: %d", got)
	}
	// The generation's assignment was persisted as group metadata.
	var found bool
	for _, r := range h.records {
		d, err := decodeRecord(r.Key, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		if d.metadata != nil && d.metadata.Generation == 2 && len(d.metadata.Members) == 2 {
			found = true
		}
	}
	if !found {
		t.Fatal("no group metadata record for generation 2")
	}
}

func TestSessionTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t, nil)
	a, b := stableGroup(t, h)
	for i := 0; i < 3; i++ {
		h.advance(3 * time.Second)
		if got := h.heartbeat(a, 2); got != 0 {
			t.Fatalf("heartbeat %d: %d", i, got)
		}
	}
	// b has been silent for 12s > 10s session: removed, rebalance.
	h.advance(3 * time.Second)
	if _, ok := h.c.groups["g"].members[b]; ok {
		t.Fatal("silent member not removed")
	}
	if got := h.heartbeat(a, 2); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("heartbeat after expiry: %d", got)
	}
	ja := h.send("a", joinReq(a, "", 9))
	if r := h.reply(ja).(*kmsg.JoinGroupResponse); r.Generation != 3 || len(r.Members) != 1 {
		t.Fatalf("rejoin: %+v", r)
	}
}

func TestRebalanceTimeoutDropsMembersThatDoNotRejoin(t *testing.T) {
	h := newHarness(t, nil)
	a, b := stableGroup(t, h)
	_, jc := h.joinNew("c")
	ja := h.send("a", joinReq(a, "", 9))
	// b keeps heartbeating but never rejoins: at the rebalance timeout the
	// phase completes without it.
	for i := 0; i < 7; i++ {
		h.advance(3 * time.Second)
		h.heartbeat(b, 2)
	}
	if h.pending(ja) || h.pending(jc) {
		t.Fatal("join phase did not end at the rebalance timeout")
	}
	if r := h.reply(ja).(*kmsg.JoinGroupResponse); r.Generation != 3 || len(r.Members) != 2 {
		t.Fatalf("generation 3: %+v", r)
	}
	if got := h.heartbeat(b, 2); got != kerr.UnknownMemberID.Code {
		t.Fatalf("dropped member heartbeat: %d", got)
	}
}

func TestLeaveGroup(t *testing.T) {
	h := newHarness(t, nil)
	a, b := stableGroup(t, h)
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version, req.Group = 5, "g"
	req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: b}, {MemberID: "ghost"}}
	resp := h.reply(h.send("b", req)).(*kmsg.LeaveGroupResponse)
	if resp.ErrorCode != 0 || resp.Members[0].ErrorCode != 0 || resp.Members[1].ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("leave: %+v", resp)
	}
	if h.state() != StatePreparingRebalance {
		t.Fatalf("state %v", h.state())
	}
	ja := h.send("a", joinReq(a, "", 9))
	if r := h.reply(ja).(*kmsg.JoinGroupResponse); r.Generation != 3 {
		t.Fatalf("rejoin: %+v", r)
	}
	// The last member leaving empties the group (v0 single member form).
	old := kmsg.NewPtrLeaveGroupRequest()
	old.Group, old.MemberID = "g", a
	if r := h.reply(h.send("a", old)).(*kmsg.LeaveGroupResponse); r.ErrorCode != 0 {
		t.Fatalf("v0 leave: %d", r.ErrorCode)
	}
	if h.state() != StateEmpty {
		t.Fatalf("state %v after last leave", h.state())
	}
}

func TestJoinValidation(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name string
		req  func() *kmsg.JoinGroupRequest
		want int16
	}{
		{"empty group id", func() *kmsg.JoinGroupRequest { r := joinReq("", "", 9); r.Group = ""; return r }, kerr.InvalidGroupID.Code},
		{"session too short", func() *kmsg.JoinGroupRequest {
			r := joinReq("", "", 9)
			r.SessionTimeoutMillis = 10
			return r
		}, kerr.InvalidSessionTimeout.Code},
		{"session too long", func() *kmsg.JoinGroupRequest {
			r := joinReq("", "", 9)
			r.SessionTimeoutMillis = 120000
			return r
		}, kerr.InvalidSessionTimeout.Code},
		{"unknown member id", func() *kmsg.JoinGroupRequest { return joinReq("who", "", 9) }, kerr.UnknownMemberID.Code},
		{"no protocols", func() *kmsg.JoinGroupRequest { r := joinReq("", "", 9); r.Protocols = nil; return r }, kerr.InconsistentGroupProtocol.Code},
		{"v3 joins at once", func() *kmsg.JoinGroupRequest { return joinReq("", "", 3) }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := h.send("c", tt.req())
			if tt.want == 0 {
				if !h.pending(id) && code(h.reply(id)) != 0 {
					t.Fatalf("error %d", code(h.reply(id)))
				}
				return
			}
			if got := code(h.reply(id)); got != tt.want {
				t.Fatalf("error %d, want %d", got, tt.want)
			}
		})
	}
}

func TestInconsistentProtocolAndVote(t *testing.T) {
	h := newHarness(t, nil)
	a, ja := h.joinNew("a")
	h.reply(ja)
	// A member with no protocol in common is refused.
	other := joinReq("", "", 3, "sticky")
	if got := code(h.reply(h.send("x", other))); got != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("no common protocol: %d", got)
	}
	_ = a
	// The vote: a prefers range then roundrobin; b and c prefer roundrobin.
	h2 := newHarness(t, nil)
	ids := []uint64{
		h2.send("a", joinReq("", "", 3, "range", "roundrobin")),
		h2.send("b", joinReq("", "", 3, "roundrobin", "range")),
		h2.send("c", joinReq("", "", 3, "roundrobin", "range")),
	}
	g := h2.c.groups["g"]
	// a's first join completed generation 1 alone; b and c triggered the
	// next phase, which completes once a rejoins.
	ra := h2.send("a", joinReq(g.order[0], "", 3, "range", "roundrobin"))
	for _, id := range append(ids[1:], ra) {
		if r := h2.reply(id).(*kmsg.JoinGroupResponse); *r.Protocol != "roundrobin" {
			t.Fatalf("selected %q, want roundrobin", *r.Protocol)
		}
	}
}

func TestKIP394PendingMemberExpires(t *testing.T) {
	h := newHarness(t, nil)
	first := h.reply(h.send("a", joinReq("", "", 9))).(*kmsg.JoinGroupResponse)
	if len(h.c.groups["g"].pending) != 1 {
		t.Fatal("no pending member")
	}
	h.advance(11 * time.Second)
	if len(h.c.groups["g"].pending) != 0 {
		t.Fatal("pending member did not expire")
	}
	if got := code(h.reply(h.send("a", joinReq(first.MemberID, "", 9)))); got != kerr.UnknownMemberID.Code {
		t.Fatalf("join with expired id: %d", got)
	}
}

func TestGroupMaxSize(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxSize = 1 })
	_, ja := h.joinNew("a")
	h.reply(ja)
	if got := code(h.reply(h.send("b", joinReq("", "", 9)))); got != kerr.GroupMaxSizeReached.Code {
		t.Fatalf("second member: %d", got)
	}
}

func TestInitialRebalanceDelay(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
	_, ja := h.joinNew("a")
	h.advance(2 * time.Second)
	_, jb := h.joinNew("b")
	h.advance(2 * time.Second)
	// b arrived during the delay: the phase is extended by another delay.
	if !h.pending(ja) || !h.pending(jb) {
		t.Fatal("initial join completed before the extended delay")
	}
	h.advance(3 * time.Second)
	ra := h.reply(ja).(*kmsg.JoinGroupResponse)
	rb := h.reply(jb).(*kmsg.JoinGroupResponse)
	if ra.Generation != 1 || rb.Generation != 1 || len(ra.Members)+len(rb.Members) != 2 {
		t.Fatalf("one generation for both: %+v %+v", ra, rb)
	}
}

func TestNotCoordinator(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.NumPartitions = 2 })
	h.c.unload(0)
	h.c.unload(1)
	if got := code(h.reply(h.send("a", joinReq("", "", 9)))); got != kerr.NotCoordinator.Code {
		t.Fatalf("join on an unowned partition: %d", got)
	}
}
