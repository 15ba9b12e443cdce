package group

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeTopics is a mutable topic set; each change bumps its version. The
// core gets a snapshot per call, as from the broker's immutable image.
type fakeTopics struct {
	version uint64
	topics  map[string]TopicInfo
}

func (f *fakeTopics) add(name string, partitions int32) topicID {
	var id topicID
	copy(id[:], fmt.Sprintf("%016s", name))
	f.version++
	f.topics[name] = TopicInfo{Name: name, ID: id, Partitions: partitions}
	return id
}

type topicsSnapshot struct {
	version uint64
	topics  map[string]TopicInfo
}

func (f *fakeTopics) snapshot() Topics {
	cp := map[string]TopicInfo{}
	for k, v := range f.topics {
		cp[k] = v
	}
	return topicsSnapshot{f.version, cp}
}

func (s topicsSnapshot) Version() uint64 { return s.version }
func (s topicsSnapshot) Topic(name string) (TopicInfo, bool) {
	t, ok := s.topics[name]
	return t, ok
}
func (s topicsSnapshot) TopicByID(id [16]byte) (TopicInfo, bool) {
	for _, t := range s.topics {
		if t.ID == id {
			return t, true
		}
	}
	return TopicInfo{}, false
}
func (s topicsSnapshot) Names() []string {
	var out []string
	for n := range s.topics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func newConsumerHarness(t *testing.T) (*harness, *fakeTopics) {
	topics := &fakeTopics{topics: map[string]TopicInfo{}}
	h := newHarness(t, func(c *Config) {
		c.ConsumerSessionTimeout = 10 * time.Second
		c.ConsumerHeartbeatInterval = time.Second
		c.Topics = topics.snapshot
	})
	return h, topics
}

// cmember is a scripted consumer protocol member.
type cmember struct {
	h      *harness
	id     string
	group  string
	epoch  int32
	topics []string
	regex  *string
	// owned is what the member reports; nil sends no Topics.
	owned assignment
}

func (h *harness) member(group, id string, topics ...string) *cmember {
	return &cmember{h: h, id: id, group: group, topics: topics}
}

func (m *cmember) request(epoch int32) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Version = 1
	req.Group, req.MemberID, req.MemberEpoch = m.group, m.id, epoch
	req.RebalanceTimeoutMillis = 30000
	req.SubscribedTopicNames = m.topics
	if req.SubscribedTopicNames == nil && m.regex == nil {
		req.SubscribedTopicNames = []string{}
	}
	req.SubscribedTopicRegex = m.regex
	if m.owned != nil {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		for _, t := range m.owned.sortedTopics() {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: t, Partitions: m.owned[t]})
		}
	}
	return req
}

// beat sends a heartbeat at the member's epoch; on success the member
// adopts the epoch and, when given, the assignment (it revokes at once).
func (m *cmember) beat() *kmsg.ConsumerGroupHeartbeatResponse {
	m.h.t.Helper()
	if m.owned == nil {
		m.owned = assignment{}
	}
	return m.send(m.request(m.epoch))
}

func (m *cmember) send(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	m.h.t.Helper()
	resp := m.h.reply(m.h.send("client-"+m.id, req)).(*kmsg.ConsumerGroupHeartbeatResponse)
	if resp.ErrorCode != 0 {
		return resp
	}
	m.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		m.owned = assignment{}
		for _, t := range resp.Assignment.Topics {
			for _, p := range t.Partitions {
				m.owned.add(t.TopicID, p)
			}
		}
	}
	return resp
}

func mustOK(t *testing.T, resp *kmsg.ConsumerGroupHeartbeatResponse) {
	t.Helper()
	if resp.ErrorCode != 0 {
		t.Fatalf("heartbeat: %v (%s)", kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage))
	}
}

func TestConsumerRegexPicksUpNewTopic(t *testing.T) {
	h, topics := newConsumerHarness(t)
	first := topics.add("rx-first", 2)
	topics.add("other", 2)
	m := h.member("g", "m1")
	re := "rx-.*"
	m.regex = &re
	mustOK(t, m.beat())
	if got := m.owned.count(); got != 2 || len(m.owned[first]) != 2 {
		t.Fatalf("owned %v, want rx-first's 2 partitions", m.owned)
	}
	later := topics.add("rx-later", 3)
	mustOK(t, m.beat())
	if got := len(m.owned[later]); got != 3 {
		t.Fatalf("after rx-later was created, owned %v", m.owned)
	}
	if m.epoch != 2 {
		t.Errorf("epoch %d, want 2", m.epoch)
	}
}

func TestConsumerIncrementalReconciliation(t *testing.T) {
	h, topics := newConsumerHarness(t)
	tp := topics.add("t", 6)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	if a.epoch != 1 || a.owned.count() != 6 {
		t.Fatalf("a: epoch %d owns %v, want epoch 1 and all 6", a.epoch, a.owned)
	}
	b := h.member("g", "b", "t")
	mustOK(t, b.beat())
	if b.epoch != 2 || b.owned.count() != 0 {
		t.Fatalf("b: epoch %d owns %v, want epoch 2 and nothing yet (unreleased)", b.epoch, b.owned)
	}
	// a has not said what it owns: it stays at epoch 1 and is asked to
	// keep only 3.
	a.owned = nil
	resp := a.send(a.request(a.epoch))
	mustOK(t, resp)
	if resp.MemberEpoch != 1 || resp.Assignment == nil || a.owned.count() != 3 {
		t.Fatalf("a: epoch %d assignment %v, want epoch 1 keeping 3", resp.MemberEpoch, a.owned)
	}
	if g := h.c.groups["g"].consumer; g.state() != ConsumerReconciling || g.members["a"].state != memberUnrevoked {
		t.Fatalf("group %s, a %s", g.state(), g.members["a"].state)
	}
	// b must still wait: a has not reported the revocation.
	mustOK(t, b.beat())
	if b.owned.count() != 0 {
		t.Fatalf("b got %v before a revoked", b.owned)
	}
	// a reports owning only its 3: it moves to epoch 2, b gets the rest.
	mustOK(t, a.beat())
	if a.epoch != 2 {
		t.Fatalf("a: epoch %d after revoking, want 2", a.epoch)
	}
	mustOK(t, b.beat())
	if b.owned.count() != 3 {
		t.Fatalf("b owns %v, want 3", b.owned)
	}
	for _, p := range b.owned[tp] {
		if a.owned.has(tp, p) {
			t.Fatalf("partition %d owned by both", p)
		}
	}
	if g := h.c.groups["g"].consumer; g.state() != ConsumerStable {
		t.Fatalf("group %s, want Stable", g.state())
	}
}

func TestConsumerSessionTimeoutAndLeave(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 4)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	settle(t, a, b)
	if a.owned.count() != 2 || b.owned.count() != 2 {
		t.Fatalf("split %v / %v", a.owned, b.owned)
	}
	// b goes silent; a keeps heartbeating.
	for i := 0; i < 11; i++ {
		h.advance(time.Second)
		mustOK(t, a.beat())
	}
	if a.owned.count() != 4 {
		t.Fatalf("a owns %v after b's session timeout, want 4", a.owned)
	}
	if resp := b.beat(); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("expired member: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// a leaves: the group is empty.
	resp := a.send(a.request(leaveEpoch))
	mustOK(t, resp)
	if resp.MemberEpoch != leaveEpoch {
		t.Fatalf("leave answered epoch %d", resp.MemberEpoch)
	}
	if g := h.c.groups["g"].consumer; g.state() != ConsumerEmpty {
		t.Fatalf("group %s after leave", g.state())
	}
}

// settle heartbeats every member until none changes its epoch.
func settle(t *testing.T, members ...*cmember) {
	t.Helper()
	for round := 0; round < 10; round++ {
		changed := false
		for _, m := range members {
			before, owned := m.epoch, m.owned.count()
			mustOK(t, m.beat())
			changed = changed || before != m.epoch || owned != m.owned.count()
		}
		if !changed {
			return
		}
	}
	t.Fatalf("members did not settle")
}

func TestConsumerStaticMember(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 4)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	instance := "static-b"
	withInstance := func(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatRequest {
		req.InstanceID = &instance
		return req
	}
	mustOK(t, a.beat())
	b.owned = assignment{}
	mustOK(t, b.send(withInstance(b.request(0))))
	settle(t, a)
	mustOK(t, b.send(withInstance(b.request(b.epoch))))
	settle(t, a)
	mustOK(t, b.send(withInstance(b.request(b.epoch))))
	kept, epoch := b.owned.clone(), b.epoch
	if kept.count() != 2 {
		t.Fatalf("b owns %v", kept)
	}
	// Another process with the same instance while b is active.
	other := h.member("g", "b2", "t")
	if resp := other.send(withInstance(other.request(0))); resp.ErrorCode != kerr.UnreleasedInstanceID.Code {
		t.Fatalf("second instance: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	// b leaves for a while: nothing moves.
	resp := b.send(withInstance(b.request(staticLeaveEpoch)))
	mustOK(t, resp)
	if resp.MemberEpoch != staticLeaveEpoch {
		t.Fatalf("static leave answered %d", resp.MemberEpoch)
	}
	groupEpoch := h.c.groups["g"].consumer.epoch
	mustOK(t, a.beat())
	if a.owned.count() != 2 || h.c.groups["g"].consumer.epoch != groupEpoch {
		t.Fatalf("a owns %v, epoch %d: the static leave moved partitions", a.owned, h.c.groups["g"].consumer.epoch)
	}
	// It comes back under a new member id and gets its partitions back.
	other.owned = assignment{}
	resp = other.send(withInstance(other.request(0)))
	mustOK(t, resp)
	if !other.owned.equal(kept) || other.epoch != epoch {
		t.Fatalf("rejoined static member owns %v at %d, want %v at %d", other.owned, other.epoch, kept, epoch)
	}
	if h.c.groups["g"].consumer.members["b"] != nil {
		t.Fatalf("previous incarnation still a member")
	}
}

func TestConsumerHeartbeatErrors(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	str := func(s string) *string { return &s }
	tests := []struct {
		name   string
		mutate func(*kmsg.ConsumerGroupHeartbeatRequest)
		want   int16
	}{
		{"empty group", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "" }, kerr.InvalidRequest.Code},
		{"empty member id v1", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "" }, kerr.InvalidRequest.Code},
		{"epoch below -2", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -3 }, kerr.InvalidRequest.Code},
		{"static leave without instance", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = -2 }, kerr.InvalidRequest.Code},
		{"join without rebalance timeout", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.MemberID, r.MemberEpoch, r.RebalanceTimeoutMillis = "new", 0, -1
		}, kerr.InvalidRequest.Code},
		{"join without subscription", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.MemberID, r.MemberEpoch, r.SubscribedTopicNames = "new", 0, nil
		}, kerr.InvalidRequest.Code},
		{"join owning partitions", func(r *kmsg.ConsumerGroupHeartbeatRequest) {
			r.MemberID, r.MemberEpoch = "new", 0
			r.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{{Partitions: []int32{0}}}
		}, kerr.InvalidRequest.Code},
		{"unknown assignor", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.ServerAssignor = str("sticky") }, kerr.UnsupportedAssignor.Code},
		{"bad regex", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.SubscribedTopicRegex = str("(") }, kerr.InvalidRegularExpression.Code},
		{"unknown member", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID = "ghost" }, kerr.UnknownMemberID.Code},
		{"epoch ahead", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberEpoch = 9 }, kerr.FencedMemberEpoch.Code},
		{"unknown group", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.Group = "nope" }, kerr.GroupIDNotFound.Code},
		{"leave unknown member", func(r *kmsg.ConsumerGroupHeartbeatRequest) { r.MemberID, r.MemberEpoch = "ghost", -1 }, kerr.UnknownMemberID.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := a.request(a.epoch)
			tt.mutate(req)
			resp := h.reply(h.send("c", req)).(*kmsg.ConsumerGroupHeartbeatResponse)
			if resp.ErrorCode != tt.want {
				t.Fatalf("got %v, want %v", kerr.ErrorForCode(resp.ErrorCode), kerr.ErrorForCode(tt.want))
			}
		})
	}
}

func TestConsumerAndClassicGroupsConflict(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	join := h.reply(h.send("c", joinReq("", "", 5, "range"))).(*kmsg.JoinGroupResponse)
	if join.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("classic join of a consumer group: %v", kerr.ErrorForCode(join.ErrorCode))
	}
	// A classic group with members refuses consumer members.
	classic := joinReq("", "", 0, "range")
	classic.Group = "classic"
	if resp := h.reply(h.send("c", classic)).(*kmsg.JoinGroupResponse); resp.ErrorCode != 0 {
		t.Fatalf("classic join: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	b := h.member("classic", "b", "t")
	if resp := b.beat(); resp.ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("consumer join of a classic group: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

func consumerCommitReq(group, member string, epoch int32, version int16) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.MemberID, req.Generation = version, group, member, epoch
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, 42
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func TestConsumerOffsetCommitAndFetch(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	tests := []struct {
		name    string
		member  string
		epoch   int32
		version int16
		want    int16
	}{
		{"current epoch", "a", 1, 9, 0},
		{"stale epoch", "a", 0, 9, kerr.StaleMemberEpoch.Code},
		{"unknown member", "ghost", 1, 9, kerr.UnknownMemberID.Code},
		{"old version", "a", 1, 8, kerr.UnsupportedVersion.Code},
		{"outside the group while it has members", "", -1, 9, kerr.UnknownMemberID.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.reply(h.send("c", consumerCommitReq("g", tt.member, tt.epoch, tt.version))).(*kmsg.OffsetCommitResponse)
			if got := resp.Topics[0].Partitions[0].ErrorCode; got != tt.want {
				t.Fatalf("got %v, want %v", kerr.ErrorForCode(got), kerr.ErrorForCode(tt.want))
			}
		})
	}
	fetch := func(member string, epoch int32) int16 {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 9
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group, rg.MemberID, rg.MemberEpoch = "g", &member, epoch
		req.Groups = append(req.Groups, rg)
		return h.reply(h.send("c", req)).(*kmsg.OffsetFetchResponse).Groups[0].ErrorCode
	}
	if code := fetch("a", 1); code != 0 {
		t.Fatalf("fetch at the current epoch: %v", kerr.ErrorForCode(code))
	}
	if code := fetch("a", 3); code != kerr.StaleMemberEpoch.Code {
		t.Fatalf("fetch at a wrong epoch: %v", kerr.ErrorForCode(code))
	}
}

// TestConsumerGroupReload replays the records a coordinator wrote into a
// fresh one: members, epochs, targets and assignments are the same, and
// the members' heartbeats carry on.
func TestConsumerGroupReload(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 5)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	settle(t, a, b)
	c := h.member("g", "c", "t")
	mustOK(t, c.beat())
	mustOK(t, c.send(c.request(leaveEpoch)))
	settle(t, a, b)
	before := h.c.groups["g"].consumer

	h2 := newHarness(t, func(cfg *Config) { cfg.Topics = topics.snapshot })
	h2.c.unload(0)
	for _, r := range h.log {
		if err := h2.c.loadRecord(0, r, h2.now); err != nil {
			t.Fatalf("loading: %v", err)
		}
	}
	h2.c.finishLoad(0, h2.now)
	after := h2.c.groups["g"].consumer
	if after == nil {
		t.Fatalf("group not reloaded as a consumer group")
	}
	if after.epoch != before.epoch || after.assignmentEpoch != before.assignmentEpoch || len(after.members) != 2 {
		t.Fatalf("reloaded epoch %d/%d with %d members, want %d/%d with 2", after.epoch, after.assignmentEpoch, len(after.members), before.epoch, before.assignmentEpoch)
	}
	for id, m := range before.members {
		got := after.members[id]
		if got == nil || got.memberEpoch != m.memberEpoch || !got.assigned.equal(m.assigned) || !after.target[id].equal(before.target[id]) ||
			got.regex != m.regex || fmt.Sprint(got.subscribedNames) != fmt.Sprint(m.subscribedNames) {
			t.Fatalf("member %s reloaded as %+v, was %+v", id, got, m)
		}
	}
	a.h = h2
	mustOK(t, a.beat())
	if after.epoch != before.epoch {
		t.Fatalf("a heartbeat after reload bumped the group epoch to %d", after.epoch)
	}
}

func TestConsumerDescribeAndList(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{"g", "missing"}
	resp := h.reply(h.send("c", req)).(*kmsg.ConsumerGroupDescribeResponse)
	g := resp.Groups[0]
	if g.ErrorCode != 0 || g.State != "Stable" || g.Epoch != 1 || len(g.Members) != 1 || len(g.Members[0].Assignment.TopicPartitions) != 1 ||
		g.Members[0].Assignment.TopicPartitions[0].Topic != "t" {
		t.Fatalf("described %+v", g)
	}
	if resp.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("missing group: %v", kerr.ErrorForCode(resp.Groups[1].ErrorCode))
	}
	list := kmsg.NewPtrListGroupsRequest()
	list.Version, list.TypesFilter = 5, []string{"consumer"}
	lr := h.reply(h.send("c", list)).(*kmsg.ListGroupsResponse)
	if len(lr.Groups) != 1 || lr.Groups[0].GroupType != "consumer" || lr.Groups[0].GroupState != "Stable" {
		t.Fatalf("listed %+v", lr.Groups)
	}
}

// TestConsumerRevocationTimeout: a member that keeps heartbeating but never
// gives up the partitions it must revoke is fenced after its rebalance
// timeout, and the partitions go to the member waiting for them.
func TestConsumerRevocationTimeout(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	b := h.member("g", "b", "t")
	mustOK(t, b.beat())
	stuck := a.owned.clone()
	for elapsed := time.Duration(0); elapsed < 31*time.Second; elapsed += time.Second {
		h.advance(time.Second)
		a.owned = stuck.clone()
		if resp := a.beat(); resp.ErrorCode != 0 {
			if resp.ErrorCode != kerr.UnknownMemberID.Code {
				t.Fatalf("stuck member: %v", kerr.ErrorForCode(resp.ErrorCode))
			}
			break
		}
		a.owned = stuck.clone()
		mustOK(t, b.beat())
	}
	if h.c.groups["g"].consumer.members["a"] != nil {
		t.Fatalf("member that never revoked is still in the group")
	}
	mustOK(t, b.beat())
	if b.owned.count() != 2 {
		t.Fatalf("b owns %v after a was fenced", b.owned)
	}
}
