package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The KIP-848 consumer protocol end to end: franz-go members opted in to
// server-side assignment (kgo.ServerSideBalancer, no version cap), and a raw
// ConsumerGroupHeartbeat member that can go silent.

// kip848BrokerConfig shortens the consumer protocol's server-side session
// timeout and heartbeat interval so the tests run in seconds.
func kip848BrokerConfig() map[string]string {
	cfg := groupBrokerConfig()
	cfg["group.consumer.session.timeout.ms"] = "3000"
	cfg["group.consumer.heartbeat.interval.ms"] = "200"
	return cfg
}

func kip848Opts() []kgo.Opt { return []kgo.Opt{kgo.ServerSideBalancer()} }

// raw848 is a consumer protocol member speaking ConsumerGroupHeartbeat by
// hand.
type raw848 struct {
	client   *kgo.Client
	group    string
	memberID string
	epoch    int32
	owned    []kmsg.ConsumerGroupHeartbeatRequestTopic
}

func newRaw848(t *testing.T, addr, groupID string) *raw848 {
	return &raw848{client: newKgo(t, addr), group: groupID, memberID: fmt.Sprintf("raw-%d", time.Now().UnixNano())}
}

// heartbeat sends one heartbeat reporting what it owns and adopts the
// assignment it is given.
func (r *raw848) heartbeat(ctx context.Context, topics []string) (*kmsg.ConsumerGroupHeartbeatResponse, error) {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group, req.MemberID, req.MemberEpoch = r.group, r.memberID, r.epoch
	req.RebalanceTimeoutMillis = 10000
	req.SubscribedTopicNames = topics
	req.Topics = r.owned
	if req.Topics == nil {
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	}
	resp, err := req.RequestWith(ctx, r.client)
	if err != nil {
		return nil, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return resp, err
	}
	r.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		r.owned = nil
		for _, at := range resp.Assignment.Topics {
			r.owned = append(r.owned, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: at.TopicID, Partitions: at.Partitions})
		}
		if r.owned == nil {
			r.owned = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		}
	}
	return resp, nil
}

func (r *raw848) ownedCount() int {
	n := 0
	for _, t := range r.owned {
		n += len(t.Partitions)
	}
	return n
}

// TestGroupFranzGoKIP848 is acceptance 1 on the consumer protocol.
func TestGroupFranzGoKIP848(t *testing.T) {
	srv := startServer(t, kip848BrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "kip848")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "franz-kip848"
	sink := &consumed{}

	a := startGroupMember(t, srv.Addr, groupID, topic, "a", sink, kip848Opts()...)
	b := startGroupMember(t, srv.Addr, groupID, topic, "b", sink, kip848Opts()...)
	waitSplit(t, ctx, 6, []int{3, 3}, a, b)
	produced := produceValues(t, ctx, producer, topic, "one", 120)

	c := startGroupMember(t, srv.Addr, groupID, topic, "c", sink, kip848Opts()...)
	waitSplit(t, ctx, 6, []int{2, 2, 2}, a, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	eventually(t, ctx, "first records consumed", func() (bool, string) {
		return sink.count() == len(produced), fmt.Sprint(sink.count())
	})

	described := describeConsumerGroup(t, ctx, producer, groupID)
	if described.State != "Stable" || len(described.Members) != 3 || described.AssignorName != "uniform" {
		t.Errorf("ConsumerGroupDescribe: state %s, %d members, assignor %s", described.State, len(described.Members), described.AssignorName)
	}

	a.close()
	waitSplit(t, ctx, 6, []int{3, 3}, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "three", 120)...)

	// A member that gets partitions, then never heartbeats again, as a
	// killed process: the coordinator removes it at its session timeout.
	silent := newRaw848(t, srv.Addr, groupID)
	eventually(t, ctx, "silent member assigned 2 partitions", func() (bool, string) {
		resp, err := silent.heartbeat(ctx, []string{topic})
		if err != nil {
			return false, err.Error()
		}
		return silent.ownedCount() == 2 && resp.MemberEpoch > 0, fmt.Sprintf("epoch %d owns %d", silent.epoch, silent.ownedCount())
	})
	waitSplit(t, ctx, 4, []int{2, 2}, b, c)
	waitSplit(t, ctx, 6, []int{3, 3}, b, c)
	if _, err := silent.heartbeat(ctx, []string{topic}); err != kerr.UnknownMemberID {
		t.Errorf("heartbeat of the expired member: %v, want UNKNOWN_MEMBER_ID", err)
	}
	produced = append(produced, produceValues(t, ctx, producer, topic, "four", 120)...)

	eventually(t, ctx, "every record consumed", func() (bool, string) {
		return sink.count() >= len(produced), fmt.Sprint(sink.count())
	})
	checkExactlyOnce(t, produced, sink.snapshot())
}

func describeConsumerGroup(t *testing.T, ctx context.Context, cl *kgo.Client, groupID string) kmsg.ConsumerGroupDescribeResponseGroup {
	t.Helper()
	req := kmsg.NewPtrConsumerGroupDescribeRequest()
	req.Groups = []string{groupID}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ConsumerGroupDescribe: %v", err)
	}
	if len(resp.Groups) != 1 {
		t.Fatalf("ConsumerGroupDescribe: %d groups", len(resp.Groups))
	}
	if err := kerr.ErrorForCode(resp.Groups[0].ErrorCode); err != nil {
		t.Fatalf("ConsumerGroupDescribe: %v", err)
	}
	return resp.Groups[0]
}

// TestGroupKIP848SurvivesRestart: committed offsets and a member's epoch
// and assignment survive a broker SIGKILL; a new member resumes exactly
// after the last commit.
func TestGroupKIP848SurvivesRestart(t *testing.T) {
	srv := startServer(t, kip848BrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "kip848-restart")
	createTopic(t, ctx, adm, topic, 3, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "kip848-survivor"

	one := produceValues(t, ctx, producer, topic, "one", 300)
	first := &consumed{}
	m := startGroupMember(t, srv.Addr, groupID, topic, "first", first, kip848Opts()...)
	eventually(t, ctx, "first consumed its records", func() (bool, string) {
		return first.count() >= len(one), ""
	})
	m.close()
	checkExactlyOnce(t, one, first.snapshot())
	before := nextOffsets(first.snapshot())
	if got := committedOffsets(t, ctx, adm, groupID, topic); !equalOffsets(got, before) {
		t.Fatalf("committed %v, consumed through %v", got, before)
	}

	// A second group's member keeps its epoch and assignment across the
	// crash: its next heartbeat after the restart is accepted as is.
	raw := newRaw848(t, srv.Addr, "kip848-epochs")
	eventually(t, ctx, "raw member stable", func() (bool, string) {
		if _, err := raw.heartbeat(ctx, []string{topic}); err != nil {
			return false, err.Error()
		}
		return raw.ownedCount() == 3, fmt.Sprint(raw.ownedCount())
	})
	epoch := raw.epoch

	srv.Kill()
	srv.Restart(t)
	adm = newAdmin(t, srv.Addr)
	raw.client = newKgo(t, srv.Addr)
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
	eventually(t, ctx, "raw member heartbeat after restart", func() (bool, string) {
		_, err := raw.heartbeat(ctx, []string{topic})
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if raw.epoch != epoch || raw.ownedCount() != 3 {
		t.Errorf("after restart epoch %d owning %d, want epoch %d owning 3", raw.epoch, raw.ownedCount(), epoch)
	}

	producer = newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	two := produceValues(t, ctx, producer, topic, "two", 300)
	second := &consumed{}
	startGroupMember(t, srv.Addr, groupID, topic, "second", second, kip848Opts()...)
	eventually(t, ctx, "second consumed its records", func() (bool, string) {
		return second.count() >= len(two), ""
	})
	checkResumed(t, first.snapshot(), second.snapshot())
	checkExactlyOnce(t, two, second.snapshot())
}

// TestGroupKIP848Regex: a regular expression subscription picks up a topic
// created after the member joined.
func TestGroupKIP848Regex(t *testing.T) {
	srv := startServer(t, kip848BrokerConfig())
	ctx := testContext(t, 30*time.Second)
	adm := newAdmin(t, srv.Addr)
	prefix := uniqueTopic(t, "rx")
	first := prefix + "-first"
	createTopic(t, ctx, adm, first, 2, nil)
	producer := newKgo(t, srv.Addr)

	got := &consumed{}
	cl := newKgo(t, srv.Addr, kgo.ConsumerGroup("kip848-regex"), kgo.ConsumeRegex(), kgo.ConsumeTopics(prefix+"-.*"),
		kgo.ServerSideBalancer(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond), kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(500*time.Millisecond))
	go func() {
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			if fs.IsClientClosed() {
				return
			}
			var rs []rec
			fs.EachRecord(func(r *kgo.Record) { rs = append(rs, recFromKgo(r)) })
			got.add(cl.OptValue(kgo.ClientID).(string), rs)
		}
	}()
	produce := func(topic string, n int) []string {
		var values []string
		for i := 0; i < n; i++ {
			v := fmt.Sprintf("%s-%d", topic, i)
			values = append(values, v)
			if err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
		return values
	}
	want := produce(first, 10)
	eventually(t, ctx, "first topic consumed", func() (bool, string) { return got.count() >= len(want), "" })

	later := prefix + "-later"
	createTopic(t, ctx, adm, later, 2, nil)
	want = append(want, produce(later, 10)...)
	t.Cleanup(func() {
		if t.Failed() {
			d := describeConsumerGroup(t, context.Background(), producer, "kip848-regex")
			t.Logf("group: %+v", d)
		}
	})
	eventually(t, ctx, "later topic consumed", func() (bool, string) { return got.count() >= len(want), fmt.Sprint(got.count()) })
	var values []string
	for _, r := range got.snapshot() {
		values = append(values, r.Value)
	}
	sort.Strings(values)
	sort.Strings(want)
	if fmt.Sprint(values) != fmt.Sprint(want) {
		t.Errorf("consumed %v, want %v", values, want)
	}
}
