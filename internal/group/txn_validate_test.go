package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestTxnOffsetCommitClassicValidation(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.PartitionExists = func(topic string, _ int32) bool { return topic != "missing" }
	})
	a, _ := stableGroup(t, h)
	withInstance := func(req *kmsg.TxnOffsetCommitRequest, instance string) *kmsg.TxnOffsetCommitRequest {
		req.InstanceID = &instance
		return req
	}
	tests := []struct {
		name string
		req  *kmsg.TxnOffsetCommitRequest
		want int16
	}{
		{"member of the generation", txnReq(3, 1, a, 2, "t", 0, 10), 0},
		{"unknown member", txnReq(3, 1, "ghost", 2, "t", 0, 10), kerr.UnknownMemberID.Code},
		{"stale generation", txnReq(3, 1, a, 1, "t", 0, 10), kerr.IllegalGeneration.Code},
		{"no member named (v3)", txnReq(3, 1, "", -1, "t", 0, 10), 0},
		{"v0-2 carry no member", txnReq(2, 1, "ghost", 9, "t", 0, 10), 0},
		{"unknown static member", withInstance(txnReq(3, 1, a, 2, "t", 0, 10), "i"), kerr.UnknownMemberID.Code},
		{"member without a generation", txnReq(3, 1, a, -1, "t", 0, 10), kerr.IllegalGeneration.Code},
		{"unknown topic", txnReq(3, 1, a, 2, "missing", 0, 10), kerr.UnknownTopicOrPartition.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.txnCommit(tt.req); got != tt.want {
				t.Fatalf("got %v, want %v", kerr.ErrorForCode(got), kerr.ErrorForCode(tt.want))
			}
		})
	}
	// A rebalance in progress does not refuse a transactional commit.
	h.joinNew("c")
	h.send("a", joinReq(a, "", 9))
	h.advance(21 * time.Second)
	if h.state() != StateCompletingRebalance {
		t.Fatalf("state %v", h.state())
	}
	if got := h.txnCommit(txnReq(3, 1, a, 3, "t", 0, 10)); got != 0 {
		t.Fatalf("commit while completing: %v", kerr.ErrorForCode(got))
	}
	unknown := txnReq(3, 1, "m", 4, "t", 0, 1)
	unknown.Group = "other"
	if got := h.txnCommit(unknown); got != kerr.IllegalGeneration.Code {
		t.Fatalf("generation of an unknown group: %v", kerr.ErrorForCode(got))
	}
	unknown.Group = ""
	if got := h.txnCommit(unknown); got != kerr.InvalidGroupID.Code {
		t.Fatalf("empty group id: %v", kerr.ErrorForCode(got))
	}
}

func TestTxnOffsetCommitFencedStaticMember(t *testing.T) {
	h := newHarness(t, nil)
	join := h.reply(h.send("a", joinReq("", "inst", 9))).(*kmsg.JoinGroupResponse)
	if join.ErrorCode != 0 {
		t.Fatalf("static join: %v", kerr.ErrorForCode(join.ErrorCode))
	}
	req := txnReq(3, 1, "someone-else", join.Generation, "t", 0, 10)
	inst := "inst"
	req.InstanceID = &inst
	if got := h.txnCommit(req); got != kerr.FencedInstanceID.Code {
		t.Fatalf("fenced instance: %v", kerr.ErrorForCode(got))
	}
	req.MemberID = join.MemberID
	if got := h.txnCommit(req); got != 0 {
		t.Fatalf("the instance's member: %v", kerr.ErrorForCode(got))
	}
}

// TestTxnOffsetCommitConsumerGroup: a KIP-848 member commits at its current
// member epoch; a stale one is ILLEGAL_GENERATION, as Kafka answers.
func TestTxnOffsetCommitConsumerGroup(t *testing.T) {
	h, topics := newConsumerHarness(t)
	topics.add("t", 2)
	a := h.member("g", "a", "t")
	mustOK(t, a.beat())
	tests := []struct {
		name string
		req  *kmsg.TxnOffsetCommitRequest
		want int16
	}{
		{"current epoch", txnReq(4, 1, "a", a.epoch, "t", 0, 10), 0},
		{"stale epoch", txnReq(4, 1, "a", a.epoch-1, "t", 0, 10), kerr.IllegalGeneration.Code},
		{"unknown member", txnReq(4, 1, "ghost", a.epoch, "t", 0, 10), kerr.UnknownMemberID.Code},
		{"outside the group while it has members", txnReq(4, 1, "", -1, "t", 0, 10), kerr.UnknownMemberID.Code},
		{"v2 names no member", txnReq(2, 1, "a", a.epoch, "t", 0, 10), kerr.UnknownMemberID.Code},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.txnCommit(tt.req); got != tt.want {
				t.Fatalf("got %v, want %v", kerr.ErrorForCode(got), kerr.ErrorForCode(tt.want))
			}
		})
	}
	h.endTxn(1, true)
	if got := h.fetchOffset("t", 0); got != 10 {
		t.Fatalf("committed %d, want 10", got)
	}
	h.checkReplay()
}
