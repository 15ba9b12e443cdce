package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The semantics of the group request versions Kafka 4 removed (KIP-896)
// and fjord serves for older clients: OffsetCommit v0 and v1, OffsetFetch
// v0 and JoinGroup v0.

func oldCommitReq(version int16, memberID string, generation int32, partitions ...kmsg.OffsetCommitRequestTopicPartition) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = version
	req.Group, req.MemberID, req.Generation = "g", memberID, generation
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: partitions}}
	return req
}

func commitPartition(partition int32, offset, timestampMs int64) kmsg.OffsetCommitRequestTopicPartition {
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.Timestamp = partition, offset, timestampMs
	return p
}

// fetchOld reads partitions 0-2 of topic t with OffsetFetch at version.
func (h *harness) fetchOld(version int16) *kmsg.OffsetFetchResponse {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.Group = version, "g"
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1, 2}}}
	return h.reply(h.send("c", req)).(*kmsg.OffsetFetchResponse)
}

// commitTimestamps decodes the commit timestamps of the offset records
// written so far, by partition.
func (h *harness) commitTimestamps() map[int32]int64 {
	h.t.Helper()
	out := map[int32]int64{}
	for _, r := range h.records {
		d, err := decodeRecord(r.Key, r.Value)
		if err != nil {
			h.t.Fatal(err)
		}
		if d.offsetKey != nil && d.offset != nil {
			out[d.offsetKey.Partition] = d.offset.CommitTimestamp
		}
	}
	return out
}

// TestOffsetCommitV0AndV1 commits outside any generation with v0 (which old
// Kafka kept in ZooKeeper) and v1, and reads back with OffsetFetch v0 and
// v1: one store. v1's commit timestamp is stored when given, the commit's
// time when -1; v0 has none.
func TestOffsetCommitV0AndV1(t *testing.T) {
	h := newHarness(t, nil)
	v0 := h.reply(h.send("c", oldCommitReq(0, "", 0, commitPartition(0, 10, -1)))).(*kmsg.OffsetCommitResponse)
	v1 := h.reply(h.send("c", oldCommitReq(1, "", -1, commitPartition(1, 11, 1234), commitPartition(2, 12, -1)))).(*kmsg.OffsetCommitResponse)
	for _, resp := range []*kmsg.OffsetCommitResponse{v0, v1} {
		for _, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 {
				t.Fatalf("v%d commit of partition %d: %v", resp.Version, p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	for _, version := range []int16{0, 1} {
		resp := h.fetchOld(version)
		for i, p := range resp.Topics[0].Partitions {
			if p.ErrorCode != 0 || p.Offset != int64(10+i) {
				t.Fatalf("OffsetFetch v%d partition %d: offset %d error %d, want %d", version, p.Partition, p.Offset, p.ErrorCode, 10+i)
			}
		}
	}
	now := h.now.UnixMilli()
	if got := h.commitTimestamps(); got[0] != now || got[1] != 1234 || got[2] != now {
		t.Fatalf("commit timestamps %v, want partition 1 at 1234 and the others at %d", got, now)
	}
}

// TestOffsetCommitV0ToActiveGroup: v0 carries no member, so it is a commit
// from outside the group, which Kafka's coordinator refuses while the group
// has members (as for v1 with generation -1).
func TestOffsetCommitV0ToActiveGroup(t *testing.T) {
	h := newHarness(t, nil)
	stableGroup(t, h)
	resp := h.reply(h.send("c", oldCommitReq(0, "", 0, commitPartition(0, 10, -1)))).(*kmsg.OffsetCommitResponse)
	if got := resp.Topics[0].Partitions[0].ErrorCode; got != kerr.UnknownMemberID.Code {
		t.Fatalf("v0 commit to a stable group: %v, want UNKNOWN_MEMBER_ID", kerr.ErrorForCode(got))
	}
}

// TestJoinGroupV0RebalanceTimeoutIsSessionTimeout: JoinGroup v0 has no
// rebalance timeout; as in Kafka, the session timeout stands in for it, so
// a member that does not rejoin is dropped after 10s, not after the 20s
// the request struct holds but v0 does not carry.
func TestJoinGroupV0RebalanceTimeoutIsSessionTimeout(t *testing.T) {
	h := newHarness(t, nil)
	ja := h.reply(h.send("a", joinReq("", "", 0))).(*kmsg.JoinGroupResponse)
	if ja.ErrorCode != 0 || ja.Generation != 1 || ja.MemberID == "" {
		t.Fatalf("v0 join (no MEMBER_ID_REQUIRED before v4): %+v", ja)
	}
	if r := h.reply(h.syncReq(ja.MemberID, 1, map[string]string{ja.MemberID: "A"})).(*kmsg.SyncGroupResponse); r.ErrorCode != 0 {
		t.Fatalf("sync: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	jb := h.send("b", joinReq("", "", 0))
	for range 3 {
		h.advance(3 * time.Second)
		if got := h.heartbeat(ja.MemberID, 1); got != kerr.RebalanceInProgress.Code {
			t.Fatalf("heartbeat during the rebalance: %v", kerr.ErrorForCode(got))
		}
	}
	if !h.pending(jb) {
		t.Fatal("join phase ended before the 10s session timeout")
	}
	h.advance(2 * time.Second)
	if h.pending(jb) {
		t.Fatal("join phase still open 11s in: the rebalance timeout was not the session timeout")
	}
	if r := h.reply(jb).(*kmsg.JoinGroupResponse); r.ErrorCode != 0 || r.Generation != 2 || len(r.Members) != 1 {
		t.Fatalf("generation 2 without the member that did not rejoin: %+v", r)
	}
}
