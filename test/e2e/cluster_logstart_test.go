package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterFollowerBehindLeaderLogStart stops a partition's leader,
// deletes records on the new leader past everything the stopped replica
// holds, and restarts it: the returning replica restarts its log at the
// leader's log start, rejoins the ISR, and once it leads again serves the
// same log start and records as the others.
func TestClusterFollowerBehindLeaderLogStart(t *testing.T) {
	servers := startCluster(t, 3, fastFailover())
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic = "log-start"
	createTopicRF(t, ctx, adm, topic, 1, 3, map[string]string{"min.insync.replicas": "2"})
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.Addr)
	}
	cl := newKgo(t, servers[0].Addr, kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
				t.Fatalf("produce v%d: %v", i, err)
			}
		}
	}
	produce(0, 50)

	stopped := leaderOf(t, ctx, adm, topic, 0)
	servers[stopped-1].Kill()
	eventually(t, ctx, "a new leader", func() (bool, string) {
		md, err := newAdmin(t, servers[stopped%3].Addr).Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		l := md.Topics[topic].Partitions[0].Leader
		return l > 0 && l != stopped, fmt.Sprint("leader ", l)
	})
	produce(50, 100)
	other := newAdmin(t, servers[stopped%3].Addr)
	deleted, err := other.DeleteRecords(ctx, kadm.Offsets{topic: {0: {At: 120}}})
	if err != nil || deleted[topic][0].Err != nil {
		t.Fatalf("DeleteRecords: %v %v", err, deleted)
	}
	// Answered once the live follower deleted them too.
	if low := deleted[topic][0].LowWatermark; low != 120 {
		t.Fatalf("DeleteRecords low watermark %d, want 120", low)
	}

	servers[stopped-1].Restart(t)
	eventually(t, ctx, "the restarted replica back in the ISR", func() (bool, string) {
		md, err := other.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		isr := md.Topics[topic].Partitions[0].ISR
		return slices.Contains(isr, stopped), fmt.Sprint("isr ", isr)
	})
	// The restarted replica is the preferred one: it leads again.
	if _, err := other.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil); err != nil {
		t.Fatalf("ElectLeaders: %v", err)
	}
	eventually(t, ctx, "the restarted replica leads with the leader's log start", func() (bool, string) {
		if l := leaderOf(t, ctx, other, topic, 0); l != stopped {
			return false, fmt.Sprint("leader ", l)
		}
		starts, err := other.ListStartOffsets(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		o, _ := starts.Lookup(topic, 0)
		return o.Err == nil && o.Offset == 120, fmt.Sprintf("log start %d %v", o.Offset, o.Err)
	})
	got := consumePartitionKgo(t, ctx, servers[stopped-1].Addr, topic, 0, 120, 30)
	for i, r := range got {
		if want := fmt.Sprintf("v%d", 120+i); r.Offset != int64(120+i) || r.Value != want {
			t.Fatalf("record %d: %s at %d, want %s at %d", i, r.Value, r.Offset, want, 120+i)
		}
	}
}
