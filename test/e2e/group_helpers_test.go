package e2e

// Helpers for the consumer group acceptance tests: a broker configured for
// quick rebalances, a franz-go group member that records what it consumed
// and owns, and a raw protocol member that can be made to go silent.

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// groupBrokerConfig makes rebalances quick: no initial delay, short session
// timeouts allowed, and few offsets partitions to create at start.
func groupBrokerConfig() map[string]string {
	return map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "300",
		"offsets.topic.num.partitions":     "8",
	}
}

// classicVersions caps franz-go below ConsumerGroupHeartbeat so that it
// uses the classic protocol whatever the broker advertises.
func classicVersions() kgo.Opt { return kgo.MaxVersions(kversion.V3_6_0()) }

// consumed is every record consumed by a group, by consumer, safe for
// concurrent use.
type consumed struct {
	mu      sync.Mutex
	records []rec
	by      map[string]int
	// where lists, per value, who consumed it at which partition and
	// offset, so that a duplicate can be traced to the members involved.
	where map[string][]string
}

func (c *consumed) add(who string, rs []rec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[string]int{}
		c.where = map[string][]string{}
	}
	c.records = append(c.records, rs...)
	c.by[who] += len(rs)
	for _, r := range rs {
		c.where[r.Value] = append(c.where[r.Value], fmt.Sprintf("%s@%d/%d", who, r.Partition, r.Offset))
	}
}

// distinct is the number of different values consumed: a wait on it is not
// ended early by a duplicate standing in for a record not consumed yet.
func (c *consumed) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.where)
}

// logDuplicates logs who consumed each value consumed more than once.
func (c *consumed) logDuplicates(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for v, at := range c.where {
		if len(at) > 1 {
			t.Logf("value %s consumed at %v", v, at)
		}
	}
}

func (c *consumed) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

func (c *consumed) snapshot() []rec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rec(nil), c.records...)
}

// groupMember is a franz-go consumer in a group that commits after
// processing each poll and blocks rebalances while it does, so a record is
// never handed to two members.
type groupMember struct {
	name   string
	client *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	owned   map[int32]bool
	revokes int // revocation or loss callbacks that took partitions away
}

func startGroupMember(t *testing.T, addr, groupID, topic, name string, sink *consumed, opts ...kgo.Opt) *groupMember {
	t.Helper()
	m := &groupMember{name: name, owned: map[int32]bool{}, done: make(chan struct{})}
	base := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.SessionTimeout(3 * time.Second),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.ClientID(name),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) { m.change(a[topic], true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { m.change(r[topic], false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { m.change(l[topic], false) }),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("kgo.NewClient: %v", err)
	}
	m.client = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.loop(ctx, t, sink)
	t.Cleanup(m.close)
	return m
}

func (m *groupMember) change(partitions []int32, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !add && len(partitions) > 0 {
		m.revokes++
	}
	for _, p := range partitions {
		if add {
			m.owned[p] = true
		} else {
			delete(m.owned, p)
		}
	}
}

func (m *groupMember) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int32
	for p := range m.owned {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (m *groupMember) revocations() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revokes
}

func (m *groupMember) loop(ctx context.Context, t *testing.T, sink *consumed) {
	defer close(m.done)
	for ctx.Err() == nil {
		fetches := m.client.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			m.client.AllowRebalance()
			return
		}
		var batch []rec
		var records []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			batch = append(batch, recFromKgo(r))
			records = append(records, r)
		})
		if len(records) > 0 {
			// The commit outlives a close: records fetched are processed
			// and committed in full, or a commit cancelled half way could
			// land without the records being counted.
			commitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := m.client.CommitRecords(commitCtx, records...)
			cancel()
			if err != nil {
				t.Errorf("%s: commit: %v", m.name, err)
				m.client.AllowRebalance()
				return
			}
			// Counted once committed: a record whose commit failed would
			// be consumed again by the next owner.
			sink.add(m.name, batch)
		}
		m.client.AllowRebalance()
	}
}

// close leaves the group (LeaveGroup) and stops the loop.
func (m *groupMember) close() {
	m.cancel()
	<-m.done
	m.client.Close()
}

// waitSplit waits until the members own exactly want partitions each,
// together all of them.
func waitSplit(t *testing.T, ctx context.Context, partitions int, want []int, members ...*groupMember) {
	t.Helper()
	eventually(t, ctx, fmt.Sprintf("partitions split %v", want), func() (bool, string) {
		seen := map[int32]bool{}
		var got []int
		desc := ""
		for _, m := range members {
			ps := m.partitions()
			got = append(got, len(ps))
			desc += fmt.Sprintf("%s=%v ", m.name, ps)
			for _, p := range ps {
				seen[p] = true
			}
		}
		sort.Ints(got)
		wantSorted := append([]int(nil), want...)
		sort.Ints(wantSorted)
		return fmt.Sprint(got) == fmt.Sprint(wantSorted) && len(seen) == partitions, desc
	})
}

// rawMember is a group member speaking the protocol by hand: it joins and
// syncs, then can stay silent as a crashed process would.
type rawMember struct {
	client     *kgo.Client
	group      string
	memberID   string
	generation int32
	assignment []byte
}

// joinRaw joins groupID with a consumer subscription to topic under
// protocol, completing KIP-394's second join, and syncs. When the member
// is the leader it assigns nothing.
func joinRaw(t *testing.T, ctx context.Context, addr, groupID, topic, protocol string, session time.Duration) *rawMember {
	t.Helper()
	cl := newKgo(t, addr, classicVersions())
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	m := &rawMember{client: cl, group: groupID}
	for attempt := 0; ; attempt++ {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = groupID, m.memberID, "consumer"
		req.SessionTimeoutMillis = int32(session.Milliseconds())
		req.RebalanceTimeoutMillis = 10000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: protocol, Metadata: meta.AppendTo(nil)}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("raw JoinGroup: %v", err)
		}
		if resp.ErrorCode == kerr.MemberIDRequired.Code && attempt == 0 {
			m.memberID = resp.MemberID
			continue
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			t.Fatalf("raw JoinGroup: %v", err)
		}
		m.memberID, m.generation = resp.MemberID, resp.Generation
		break
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID, sync.Generation = groupID, m.memberID, m.generation
	resp, err := sync.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("raw SyncGroup: %v", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("raw SyncGroup: %v", err)
	}
	m.assignment = resp.MemberAssignment
	return m
}

// assigned decodes the raw member's assignment of topic.
func (m *rawMember) assigned(t *testing.T, topic string) []int32 {
	t.Helper()
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(m.assignment); err != nil {
		t.Fatalf("decoding assignment: %v", err)
	}
	for _, at := range a.Topics {
		if at.Topic == topic {
			return at.Partitions
		}
	}
	return nil
}

// produceValues produces records with values prefix-000000.. round-robin
// over partitions and returns them.
func produceValues(t *testing.T, ctx context.Context, cl *kgo.Client, topic, prefix string, n int) []string {
	t.Helper()
	var values []string
	var records []*kgo.Record
	for i := 0; i < n; i++ {
		v := fmt.Sprintf("%s-%06d", prefix, i)
		values = append(values, v)
		records = append(records, &kgo.Record{Topic: topic, Key: []byte(v), Value: []byte(v)})
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce %s: %v", prefix, err)
	}
	return values
}

// checkExactlyOnce asserts every produced value was consumed exactly once.
func checkExactlyOnce(t *testing.T, produced []string, got []rec) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range got {
		seen[r.Value]++
		if r.Key != r.Value {
			t.Errorf("record %s/%d: key %q with value %q", "", r.Offset, r.Key, r.Value)
		}
	}
	for _, v := range produced {
		switch seen[v] {
		case 1:
		case 0:
			t.Errorf("value %s never consumed", v)
		default:
			t.Errorf("value %s consumed %d times", v, seen[v])
		}
	}
	if len(got) != len(produced) {
		t.Errorf("consumed %d records, produced %d", len(got), len(produced))
	}
}
