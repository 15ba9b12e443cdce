package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// committedOffsets is the group's committed offset per partition of topic.
func committedOffsets(t *testing.T, ctx context.Context, adm *kadm.Client, groupID, topic string) map[int32]int64 {
	t.Helper()
	resp, err := adm.FetchOffsets(ctx, groupID)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("OffsetFetch %s: %v", groupID, err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			out[o.Partition] = o.At
		}
	})
	return out
}

// nextOffsets is one past the highest consumed offset of each partition.
func nextOffsets(records []rec) map[int32]int64 {
	out := map[int32]int64{}
	for _, r := range records {
		out[r.Partition] = max(out[r.Partition], r.Offset+1)
	}
	return out
}

// TestGroupOffsetsSurviveRestarts is acceptance 3: commits survive a
// consumer restart and a broker SIGKILL, and a restarted consumer resumes
// exactly after the last commit.
func TestGroupOffsetsSurviveRestarts(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "offsets")
	createTopic(t, ctx, adm, topic, 3, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "survivor"
	opts := []kgo.Opt{classicVersions()}
	// Each consumer reads what was produced since the previous one closed:
	// resuming before the last commit would consume records twice, after
	// it would miss some.
	phase := func(name string, produced []string) *consumed {
		sink := &consumed{}
		m := startGroupMember(t, srv.Addr, groupID, topic, name, sink, opts...)
		eventually(t, ctx, name+" consumed its records", func() (bool, string) {
			return sink.count() >= len(produced), ""
		})
		m.close()
		return sink
	}

	one := produceValues(t, ctx, producer, topic, "one", 300)
	first := phase("first", one)
	checkExactlyOnce(t, one, first.snapshot())
	if got, want := committedOffsets(t, ctx, adm, groupID, topic), nextOffsets(first.snapshot()); !equalOffsets(got, want) {
		t.Fatalf("committed %v, consumed through %v", got, want)
	}

	// A consumer restart.
	two := produceValues(t, ctx, producer, topic, "two", 300)
	second := phase("second", two)
	checkResumed(t, first.snapshot(), second.snapshot())
	checkExactlyOnce(t, two, second.snapshot())
	before := nextOffsets(append(first.snapshot(), second.snapshot()...))

	// A broker crash.
	srv.Kill()
	srv.Restart(t)
	adm = newAdmin(t, srv.Addr)
	eventually(t, ctx, "offsets loaded after SIGKILL", func() (bool, string) {
		resp, err := adm.FetchOffsets(ctx, groupID)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if got := committedOffsets(t, ctx, adm, groupID, topic); !equalOffsets(got, before) {
		t.Fatalf("after SIGKILL committed %v, want %v", got, before)
	}
	producer = newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	three := produceValues(t, ctx, producer, topic, "three", 300)
	third := phase("third", three)
	checkResumed(t, append(first.snapshot(), second.snapshot()...), third.snapshot())
	checkExactlyOnce(t, three, third.snapshot())
}

func equalOffsets(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for p, o := range a {
		if b[p] != o {
			return false
		}
	}
	return true
}

// checkResumed asserts that, in every partition, the later consumer's first
// record is the one right after the earlier consumers' last.
func checkResumed(t *testing.T, earlier, later []rec) {
	t.Helper()
	next := nextOffsets(earlier)
	first := map[int32]int64{}
	for _, r := range later {
		if o, ok := first[r.Partition]; !ok || r.Offset < o {
			first[r.Partition] = r.Offset
		}
	}
	for p, o := range first {
		if o != next[p] {
			t.Errorf("partition %d resumed at %d, last commit was %d", p, o, next[p])
		}
	}
}

// TestGroupStaticMembership is acceptance 4: a static member restarted
// within its session timeout keeps its partitions and the others see no
// rebalance.
func TestGroupStaticMembership(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "static")
	createTopic(t, ctx, adm, topic, 6, nil)
	const groupID = "static"
	sink := &consumed{}
	opts := func(instance string) []kgo.Opt {
		return []kgo.Opt{classicVersions(), kgo.Balancers(kgo.RoundRobinBalancer()), kgo.InstanceID(instance),
			kgo.SessionTimeout(10 * time.Second)}
	}
	a := startGroupMember(t, srv.Addr, groupID, topic, "a", sink, opts("instance-a")...)
	b := startGroupMember(t, srv.Addr, groupID, topic, "b", sink, opts("instance-b")...)
	waitSplit(t, ctx, 6, []int{3, 3}, a, b)
	ownedBefore, revokesBefore := b.partitions(), a.revocations()

	// A static member does not leave the group on close.
	b.close()
	b2 := startGroupMember(t, srv.Addr, groupID, topic, "b2", sink, opts("instance-b")...)
	eventually(t, ctx, "restarted static member assigned", func() (bool, string) {
		return len(b2.partitions()) == 3, ""
	})
	if got := b2.partitions(); !equalInt32s(got, ownedBefore) {
		t.Errorf("restarted member owns %v, before restart %v", got, ownedBefore)
	}
	if got := a.revocations(); got != revokesBefore {
		t.Errorf("the other member saw %d revocations during a static restart", got-revokesBefore)
	}
	described, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	dg := described[groupID]
	if dg.State != "Stable" || len(dg.Members) != 2 {
		t.Fatalf("group %s with %d members after static restart", dg.State, len(dg.Members))
	}
}

func equalInt32s(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGroupBadInput is acceptance 7: commits from unknown members, stale
// generations and oversized metadata, and bad joins get Kafka's error
// codes, and the group and its offsets stay as they were.
func TestGroupBadInput(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "bad")
	createTopic(t, ctx, adm, topic, 2, nil)
	const groupID = "bad-input"
	member := joinRaw(t, ctx, srv.Addr, groupID, topic, "range", 30*time.Second)
	cl := newKgo(t, srv.Addr, classicVersions())

	commit := func(memberID string, generation int32, offset int64, metadata string) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.MemberID, req.Generation = groupID, memberID, generation
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = 0, offset, &metadata
		rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{rp}
		req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("OffsetCommit: %v", err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	if got := commit(member.memberID, member.generation, 7, "good"); got != 0 {
		t.Fatalf("valid commit: %v", kerr.ErrorForCode(got))
	}
	tests := []struct {
		name       string
		memberID   string
		generation int32
		metadata   string
		want       *kerr.Error
	}{
		{"unknown member", "ghost", member.generation, "", kerr.UnknownMemberID},
		{"stale generation", member.memberID, member.generation - 1, "", kerr.IllegalGeneration},
		{"future generation", member.memberID, member.generation + 5, "", kerr.IllegalGeneration},
		{"oversized metadata", member.memberID, member.generation, strings.Repeat("x", 4097), kerr.OffsetMetadataTooLarge},
	}
	for _, tt := range tests {
		if got := commit(tt.memberID, tt.generation, 99, tt.metadata); got != tt.want.Code {
			t.Errorf("%s: got %v, want %v", tt.name, kerr.ErrorForCode(got), tt.want)
		}
	}

	join := kmsg.NewPtrJoinGroupRequest()
	join.Group, join.ProtocolType, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = groupID, "consumer", 10, 1000
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	if resp, err := join.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.InvalidSessionTimeout.Code {
		t.Errorf("join with a 10ms session: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = groupID, member.memberID, member.generation-1
	if resp, err := hb.RequestWith(ctx, cl); err != nil || resp.ErrorCode != kerr.IllegalGeneration.Code {
		t.Errorf("stale heartbeat: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}

	// Nothing refused landed, and the member is still the group.
	if got := committedOffsets(t, ctx, adm, groupID, topic); got[0] != 7 {
		t.Errorf("committed offset %v after refused commits, want 7", got)
	}
	hb.Generation = member.generation
	if resp, err := hb.RequestWith(ctx, cl); err != nil || resp.ErrorCode != 0 {
		t.Errorf("valid heartbeat after bad input: %v %v", err, kerr.ErrorForCode(resp.ErrorCode))
	}
	described, err := adm.DescribeGroups(ctx, groupID)
	if err != nil {
		t.Fatal(err)
	}
	if dg := described[groupID]; dg.State != "Stable" || len(dg.Members) != 1 {
		t.Errorf("group %s with %d members after bad input", dg.State, len(dg.Members))
	}
}
