package assign

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// testTopology has a stateful sub-topology 0 reading "in" and a stateless
// sub-topology 1 reading "in2", four partitions each.
func testPlan(ctx context.Context, counts map[string]int32) ([]TaskInfo, func(TaskID) []TopicPartition, map[TaskID]int64, error) {
	var tasks []TaskInfo
	ends := map[TaskID]int64{}
	for p := range counts["in"] {
		tasks = append(tasks, TaskInfo{ID: TaskID{0, p}, Stateful: true})
		ends[TaskID{0, p}] = 1_000_000
	}
	for p := range counts["in2"] {
		tasks = append(tasks, TaskInfo{ID: TaskID{1, p}})
	}
	topics := []string{"in", "in2"}
	return tasks, func(t TaskID) []TopicPartition { return []TopicPartition{{topics[t.Subtopology], t.Partition}} }, ends, ctx.Err()
}

// groupMember is one member of a simulated group: its balancer and what
// it subscribes with.
type groupMember struct {
	id       string
	b        *Balancer
	sub      Subscription
	userData []byte // if set, sent in place of the encoded subscription
}

func newMember(t *testing.T, id string, sub Subscription, plan PlanFunc) *groupMember {
	m := &groupMember{id: id, sub: sub}
	b, err := NewBalancer(BalancerConfig{Assignor: DefaultConfig(), Plan: plan,
		Subscription: func() Subscription { return m.sub }})
	if err != nil {
		t.Fatal(err)
	}
	m.b = b
	return m
}

// rebalance runs one rebalance as kgo would, members[0] leading, and
// returns each member's partitions.
func rebalance(t *testing.T, members []*groupMember, partitions map[string]int32) (map[string]map[string][]int32, error) {
	t.Helper()
	var joinedMembers []kmsg.JoinGroupResponseMember
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.ProtocolMetadata = m.b.JoinGroupMetadata(slices.Sorted(maps.Keys(partitions)), nil, 1)
		if m.userData != nil {
			var meta kmsg.ConsumerMemberMetadata
			if err := meta.ReadFrom(jm.ProtocolMetadata); err != nil {
				t.Fatal(err)
			}
			meta.UserData = m.userData
			jm.ProtocolMetadata = meta.AppendTo(nil)
		}
		joinedMembers = append(joinedMembers, jm)
	}
	leader := members[0].b
	mb, topics, err := leader.MemberBalancer(joinedMembers)
	if err != nil {
		return nil, err
	}
	if !maps.Equal(topics, map[string]struct{}{"in": {}, "in2": {}}) {
		t.Fatalf("member topics %v", topics)
	}
	mb.(kgo.GroupMemberBalancerInfo).SetBalanceInfo(kgo.BalanceInfo{LeaderID: members[0].id})
	into, err := mb.(kgo.GroupMemberBalancerOrError).BalanceOrError(partitions)
	if err != nil {
		return nil, err
	}
	got := map[string]map[string][]int32{}
	for _, a := range into.IntoSyncAssignment() {
		for _, m := range members {
			if m.id == a.MemberID {
				if got[m.id], err = m.b.ParseSyncAssignment(a.MemberAssignment); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(got) != len(members) {
		t.Fatalf("%d assignments for %d members", len(got), len(members))
	}
	return got, nil
}

func TestBalancerAssignsEveryPartitionOnce(t *testing.T) {
	running := map[TaskID]int64{}
	for p := range int32(4) {
		running[TaskID{0, p}] = LatestOffset
	}
	members := []*groupMember{
		newMember(t, "m-a1", Subscription{ProcessID: "a", Endpoint: "a:1", TaskOffsetSums: running, PrevActive: ids("0_0 0_1")}, testPlan),
		newMember(t, "m-a2", Subscription{ProcessID: "a", Endpoint: "a:1", TaskOffsetSums: running, PrevActive: ids("0_2 0_3")}, testPlan),
		newMember(t, "m-b1", Subscription{ProcessID: "b", Endpoint: "b:1"}, testPlan),
	}
	got, err := rebalance(t, members, map[string]int32{"in": 4, "in2": 4})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[TopicPartition]string{}
	for id, topics := range got {
		for topic, parts := range topics {
			for _, p := range parts {
				if other, dup := seen[TopicPartition{topic, p}]; dup {
					t.Fatalf("%s %d assigned to %s and %s", topic, p, other, id)
				}
				seen[TopicPartition{topic, p}] = id
			}
		}
	}
	if len(seen) != 8 {
		t.Fatalf("%d partitions assigned, want 8: %v", len(seen), got)
	}
	for _, m := range members {
		a, ok := m.b.LastAssignment()
		if !ok || a.ErrorCode != ErrorNone || len(a.PartitionsByHost) != 2 {
			t.Fatalf("%s: assignment %+v", m.id, a)
		}
		// b is new: the stateful tasks stay on a while b warms up, and only
		// the leader schedules the probing rebalance.
		if want := map[bool]time.Duration{true: DefaultProbingRebalanceInterval}[m == members[0]]; a.NextRebalanceIn != want {
			t.Fatalf("%s: next rebalance in %v, want %v", m.id, a.NextRebalanceIn, want)
		}
		for _, task := range a.Active {
			if partitions := got[m.id][[]string{"in", "in2"}[task.Subtopology]]; !slices.Contains(partitions, task.Partition) {
				t.Fatalf("%s runs %s without its partition: %v", m.id, task, got[m.id])
			}
		}
	}
	// Balance wants one of the four stateful tasks on b's one thread of
	// three: it warms up there; b runs stateless tasks meanwhile.
	if a, _ := members[2].b.LastAssignment(); len(a.Standby) != 1 || len(got["m-b1"]["in"]) != 0 || len(got["m-b1"]["in2"]) != 3 {
		t.Fatalf("new member: %+v, partitions %v; want a warm-up and three stateless tasks", a, got["m-b1"])
	}
}

func TestBalancerShutdownRequested(t *testing.T) {
	members := []*groupMember{
		newMember(t, "m1", Subscription{ProcessID: "a"}, testPlan),
		newMember(t, "m2", Subscription{ProcessID: "b", ErrorCode: ErrorShutdownRequested}, testPlan),
	}
	got, err := rebalance(t, members, map[string]int32{"in": 4, "in2": 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if a, _ := m.b.LastAssignment(); a.ErrorCode != ErrorShutdownRequested || len(got[m.id]) != 0 {
			t.Fatalf("%s: %+v, partitions %v", m.id, a, got[m.id])
		}
	}
}

func TestBalancerIsolatesUndecodableMembers(t *testing.T) {
	members := []*groupMember{
		newMember(t, "m1", Subscription{ProcessID: "a"}, testPlan),
		newMember(t, "m2", Subscription{ProcessID: "b"}, testPlan),
		newMember(t, "m3", Subscription{ProcessID: "c"}, testPlan),
	}
	// m2 speaks a future version, m3 sends garbage.
	future, garbage := members[1], members[2]
	future.userData = []byte{SubscriptionVersion + 1, 0}
	garbage.userData = []byte{SubscriptionVersion, 0xff}
	got, err := rebalance(t, members, map[string]int32{"in": 4, "in2": 4})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got["m1"]["in"]) + len(got["m1"]["in2"]); n != 8 {
		t.Fatalf("m1 got %v, want all 8 partitions", got["m1"])
	}
	for m, code := range map[*groupMember]ErrorCode{future: ErrorVersionProbing, garbage: ErrorAssignment} {
		if a, _ := m.b.LastAssignment(); a.ErrorCode != code || len(got[m.id]) != 0 {
			t.Fatalf("%s: %+v, partitions %v; want error %d", m.id, a, got[m.id], code)
		}
	}
}

func TestBalancerFailsOnBrokenPlan(t *testing.T) {
	errLister := errors.New("list offsets: timed out")
	failing := func(context.Context, map[string]int32) ([]TaskInfo, func(TaskID) []TopicPartition, map[TaskID]int64, error) {
		return nil, nil, nil, errLister
	}
	overlapping := func(ctx context.Context, counts map[string]int32) ([]TaskInfo, func(TaskID) []TopicPartition, map[TaskID]int64, error) {
		tasks, _, ends, err := testPlan(ctx, counts)
		return tasks, func(t TaskID) []TopicPartition { return []TopicPartition{{"in", t.Partition}} }, ends, err
	}
	duplicate := func(ctx context.Context, counts map[string]int32) ([]TaskInfo, func(TaskID) []TopicPartition, map[TaskID]int64, error) {
		tasks, parts, ends, err := testPlan(ctx, counts)
		return append(tasks, tasks[0]), parts, ends, err
	}
	for name, tc := range map[string]struct {
		plan PlanFunc
		want error
	}{
		"plan error":        {failing, errLister},
		"shared partition":  {overlapping, ErrInvalidInput},
		"task listed twice": {duplicate, ErrInvalidInput},
	} {
		members := []*groupMember{newMember(t, "m1", Subscription{ProcessID: "a"}, tc.plan)}
		_, err := rebalance(t, members, map[string]int32{"in": 4, "in2": 4})
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestNewBalancerChecksConfig(t *testing.T) {
	sub := func() Subscription { return Subscription{ProcessID: "a"} }
	for name, cfg := range map[string]BalancerConfig{
		"no plan":         {Assignor: DefaultConfig(), Subscription: sub},
		"no subscription": {Assignor: DefaultConfig(), Plan: testPlan},
		"short probing":   {Assignor: DefaultConfig(), Subscription: sub, Plan: testPlan, ProbingRebalanceInterval: time.Second},
		"bad assignor":    {Subscription: sub, Plan: testPlan},
	} {
		if _, err := NewBalancer(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b, err := NewBalancer(BalancerConfig{Assignor: DefaultConfig(), Subscription: sub, Plan: testPlan})
	if err != nil || b.ProtocolName() != "stream" || b.IsCooperative() {
		t.Fatalf("%v %v", b, err)
	}
}

func TestParseSyncAssignmentRejectsGarbage(t *testing.T) {
	m := newMember(t, "m1", Subscription{ProcessID: "a"}, testPlan)
	ka := kmsg.NewConsumerMemberAssignment()
	ka.UserData = []byte{AssignmentVersion}
	for _, b := range [][]byte{nil, {0, 0, 0}, ka.AppendTo(nil)} {
		if _, err := m.b.ParseSyncAssignment(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%x: got %v, want ErrMalformed", b, err)
		}
	}
	if _, ok := m.b.LastAssignment(); ok {
		t.Fatal("a rejected assignment was kept")
	}
}
