package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestStaticMemberRestartKeepsAssignment(t *testing.T) {
	h := newHarness(t, nil)
	// Two static members reach generation 2 (static members skip KIP-394).
	ja := h.send("a", joinReq("", "inst-a", 9))
	a := h.reply(ja).(*kmsg.JoinGroupResponse).MemberID
	jb := h.send("b", joinReq("", "inst-b", 9))
	ja2 := h.send("a", joinReq(a, "inst-a", 9))
	b := h.reply(jb).(*kmsg.JoinGroupResponse).MemberID
	if r := h.reply(ja2).(*kmsg.JoinGroupResponse); r.Generation != 2 {
		t.Fatalf("generation %d", r.Generation)
	}
	h.syncReq(b, 2, nil)
	h.syncReq(a, 2, map[string]string{a: "A", b: "B"})
	if h.state() != StateStable {
		t.Fatalf("state %v", h.state())
	}

	// b restarts: a join without member id but with its instance id.
	restart := h.reply(h.send("b", joinReq("", "inst-b", 9))).(*kmsg.JoinGroupResponse)
	if restart.ErrorCode != 0 || restart.Generation != 2 || restart.MemberID == b {
		t.Fatalf("static rejoin: %+v", restart)
	}
	if h.state() != StateStable {
		t.Fatalf("static restart caused a rebalance: %v", h.state())
	}
	s := h.reply(h.syncReq(restart.MemberID, 2, nil)).(*kmsg.SyncGroupResponse)
	if string(s.MemberAssignment) != "B" {
		t.Fatalf("assignment after restart %q", s.MemberAssignment)
	}
	if got := h.heartbeat(a, 2); got != 0 {
		t.Fatalf("other member disturbed: %d", got)
	}
	// The old incarnation is fenced.
	hb := kmsg.NewPtrHeartbeatRequest()
	inst := "inst-b"
	hb.Group, hb.MemberID, hb.Generation, hb.InstanceID = "g", b, 2, &inst
	if got := h.reply(h.send("b", hb)).(*kmsg.HeartbeatResponse).ErrorCode; got != kerr.FencedInstanceID.Code {
		t.Fatalf("old static member heartbeat: %d", got)
	}
	commit := commitReq(b, 2, "t", 0, 5, "")
	commit.InstanceID = &inst
	if got := h.commitCode(commit); got != kerr.FencedInstanceID.Code {
		t.Fatalf("old static member commit: %d", got)
	}
	// Leaving by instance id removes the current incarnation.
	leave := kmsg.NewPtrLeaveGroupRequest()
	leave.Version, leave.Group = 4, "g"
	leave.Members = []kmsg.LeaveGroupRequestMember{{InstanceID: &inst}}
	if r := h.reply(h.send("b", leave)).(*kmsg.LeaveGroupResponse); r.Members[0].ErrorCode != 0 {
		t.Fatalf("leave by instance: %d", r.Members[0].ErrorCode)
	}
	if h.state() != StatePreparingRebalance {
		t.Fatalf("state %v after static leave", h.state())
	}
}

func commitReq(member string, generation int32, topic string, partition int32, offset int64, metadata string) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 9
	req.Group, req.MemberID, req.Generation = "g", member, generation
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.Metadata = partition, offset, &metadata
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func (h *harness) commitCode(req *kmsg.OffsetCommitRequest) int16 {
	h.t.Helper()
	r := h.reply(h.send("c", req)).(*kmsg.OffsetCommitResponse)
	return r.Topics[0].Partitions[0].ErrorCode
}

func (h *harness) fetchOffset(topic string, partition int32) int64 {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{partition}}}}}
	r := h.reply(h.send("c", req)).(*kmsg.OffsetFetchResponse)
	return r.Groups[0].Topics[0].Partitions[0].Offset
}

func TestOffsetCommitValidation(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.PartitionExists = func(topic string, _ int32) bool { return topic != "missing" }
	})
	a, _ := stableGroup(t, h)
	tests := []struct {
		name string
		req  *kmsg.OffsetCommitRequest
		want int16
	}{
		{"member of the generation", commitReq(a, 2, "t", 0, 10, "ok"), 0},
		{"unknown member", commitReq("ghost", 2, "t", 0, 99, ""), kerr.UnknownMemberID.Code},
		{"stale generation", commitReq(a, 1, "t", 0, 99, ""), kerr.IllegalGeneration.Code},
		{"simple commit to an active group", commitReq("", -1, "t", 0, 99, ""), kerr.UnknownMemberID.Code},
		{"metadata too large", commitReq(a, 2, "t", 0, 99, "0123456789abcdefX"), kerr.OffsetMetadataTooLarge.Code},
		{"unknown topic", commitReq(a, 2, "missing", 0, 99, ""), kerr.UnknownTopicOrPartition.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.commitCode(tt.req); got != tt.want {
				t.Fatalf("error %d, want %d", got, tt.want)
			}
		})
	}
	// Only the valid commit landed; refused ones left no trace.
	if got := h.fetchOffset("t", 0); got != 10 {
		t.Fatalf("committed offset %d, want 10", got)
	}
	if got := h.fetchOffset("t", 1); got != -1 {
		t.Fatalf("uncommitted partition %d, want -1", got)
	}
	// A commit during CompletingRebalance is refused.
	h.joinNew("c")
	h.send("a", joinReq(a, "", 9))
	h.advance(21 * time.Second)
	if h.state() != StateCompletingRebalance {
		t.Fatalf("state %v", h.state())
	}
	if got := h.commitCode(commitReq(a, 3, "t", 0, 50, "")); got != kerr.RebalanceInProgress.Code {
		t.Fatalf("commit while completing: %d", got)
	}
}

func TestSimpleCommitsAndDelete(t *testing.T) {
	h := newHarness(t, nil)
	// Generation -1 commits create an offsets-only group.
	if got := h.commitCode(commitReq("", -1, "t", 3, 42, "m")); got != 0 {
		t.Fatalf("simple commit: %d", got)
	}
	// A generation names a member, and an empty group has none.
	if got := h.commitCode(commitReq("x", 5, "t", 3, 42, "m")); got != kerr.UnknownMemberID.Code {
		t.Fatalf("commit with a generation to an empty group: %d", got)
	}
	if got := h.fetchOffset("t", 3); got != 42 {
		t.Fatalf("fetched %d", got)
	}
	list := h.reply(h.send("c", kmsg.NewPtrListGroupsRequest())).(*kmsg.ListGroupsResponse)
	if len(list.Groups) != 1 || list.Groups[0].GroupState != "Empty" {
		t.Fatalf("list: %+v", list.Groups)
	}
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g", "nope"}
	r := h.reply(h.send("c", del)).(*kmsg.DeleteGroupsResponse)
	if r.Groups[0].ErrorCode != 0 || r.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("delete: %+v", r.Groups)
	}
	if got := h.fetchOffset("t", 3); got != -1 {
		t.Fatalf("offset survived delete: %d", got)
	}
	// Replaying everything written leaves nothing behind: the tombstones
	// win, as after a restart.
	h2 := newHarness(t, nil)
	for _, rec := range h.log {
		if err := h2.c.loadRecord(0, rec, h2.now); err != nil {
			t.Fatal(err)
		}
	}
	if len(h2.c.groups) != 0 {
		t.Fatalf("groups after replay: %v", h2.c.groups)
	}
}

func TestDeleteNonEmptyGroup(t *testing.T) {
	h := newHarness(t, nil)
	stableGroup(t, h)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g"}
	if r := h.reply(h.send("c", del)).(*kmsg.DeleteGroupsResponse); r.Groups[0].ErrorCode != kerr.NonEmptyGroup.Code {
		t.Fatalf("delete active group: %d", r.Groups[0].ErrorCode)
	}
	desc := kmsg.NewPtrDescribeGroupsRequest()
	desc.Groups = []string{"g", "unknown"}
	r := h.reply(h.send("c", desc)).(*kmsg.DescribeGroupsResponse)
	if r.Groups[0].State != "Stable" || len(r.Groups[0].Members) != 2 || r.Groups[1].State != "Dead" {
		t.Fatalf("describe: %+v", r.Groups)
	}
}

// TestReloadRestoresGroup replays the records of a stable group with
// commits into a fresh core, as a broker restart does: members, generation,
// assignments and offsets come back, and members must heartbeat within
// their session timeout of the load.
func TestReloadRestoresGroup(t *testing.T) {
	h := newHarness(t, nil)
	a, b := stableGroup(t, h)
	if got := h.commitCode(commitReq(a, 2, "t", 1, 77, "meta")); got != 0 {
		t.Fatal(got)
	}
	h2 := newHarness(t, nil)
	h2.c.unload(0)
	for _, rec := range h.log {
		if err := h2.c.loadRecord(0, rec, h2.now); err != nil {
			t.Fatal(err)
		}
	}
	h2.c.finishLoad(0, h2.now)
	if got := h2.fetchOffset("t", 1); got != 77 {
		t.Fatalf("offset after reload %d", got)
	}
	if got := h2.heartbeat(a, 2); got != 0 {
		t.Fatalf("heartbeat after reload: %d", got)
	}
	s := h2.reply(h2.syncReq(b, 2, nil)).(*kmsg.SyncGroupResponse)
	if string(s.MemberAssignment) != "B" {
		t.Fatalf("assignment after reload %q", s.MemberAssignment)
	}
	h2.advance(11 * time.Second)
	if len(h2.c.groups["g"].members) != 0 {
		t.Fatal("members that never came back were not expired")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	c := offsetCommitRecord("g", topicPartition{Topic: "t", Partition: 1}, offsetCommit{Offset: 5, Metadata: "m"})
	f.Add(c.Key, c.Value)
	f.Add(groupMetadataKey("g"), []byte{0, 3, 0, 0})
	f.Add([]byte{0, 2, 0xff, 0xff}, []byte(nil))
	f.Add(groupMetadataKey("g"), []byte{0, 4, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		if _, err := decodeRecord(key, value); err != nil {
			return
		}
		core := newCore(Config{NumPartitions: 1})
		if err := core.loadRecord(0, plain(key, value), time.Unix(0, 0)); err != nil {
			t.Fatalf("decoded but did not load: %v", err)
		}
	})
}
