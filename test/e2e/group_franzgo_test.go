package e2e

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupFranzGoClassic is acceptance 1 on the classic protocol: two
// members split six partitions 3/3, a third makes it 2/2/2, a closed member's
// partitions move to the rest, and a member that goes silent is removed after
// its session timeout. Every record is consumed exactly once.
func TestGroupFranzGoClassic(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "group")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "franz-classic"
	sink := &consumed{}
	opts := []kgo.Opt{classicVersions(), kgo.Balancers(kgo.RoundRobinBalancer())}

	a := startGroupMember(t, srv.Addr, groupID, topic, "a", sink, opts...)
	b := startGroupMember(t, srv.Addr, groupID, topic, "b", sink, opts...)
	waitSplit(t, ctx, 6, []int{3, 3}, a, b)
	produced := produceValues(t, ctx, producer, topic, "one", 120)

	c := startGroupMember(t, srv.Addr, groupID, topic, "c", sink, opts...)
	waitSplit(t, ctx, 6, []int{2, 2, 2}, a, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	eventually(t, ctx, "first records consumed", func() (bool, string) {
		return sink.count() == len(produced), ""
	})

	a.close()
	waitSplit(t, ctx, 6, []int{3, 3}, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "three", 120)...)

	// A member that joins and then never heartbeats again, as a killed
	// process: it gets partitions, then loses them at its session timeout.
	silent := joinRaw(t, ctx, srv.Addr, groupID, topic, "roundrobin", 1500*time.Millisecond)
	if got := silent.assigned(t, topic); len(got) != 2 {
		t.Fatalf("silent member assigned %v, want 2 partitions", got)
	}
	waitSplit(t, ctx, 4, []int{2, 2}, b, c)
	waitSplit(t, ctx, 6, []int{3, 3}, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "four", 120)...)

	eventually(t, ctx, "every record consumed", func() (bool, string) {
		return sink.count() >= len(produced), ""
	})
	checkExactlyOnce(t, produced, sink.snapshot())
}

// TestGroupFranzGoCooperative runs franz-go's default cooperative-sticky
// balancer on the classic protocol: incremental rebalances need only
// correct join and sync semantics from the broker.
func TestGroupFranzGoCooperative(t *testing.T) {
	srv := startServer(t, groupBrokerConfig())
	ctx := testContext(t, testTimeout)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "coop")
	createTopic(t, ctx, adm, topic, 6, nil)
	producer := newKgo(t, srv.Addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const groupID = "franz-cooperative"
	sink := &consumed{}
	opts := []kgo.Opt{classicVersions()}

	a := startGroupMember(t, srv.Addr, groupID, topic, "a", sink, opts...)
	b := startGroupMember(t, srv.Addr, groupID, topic, "b", sink, opts...)
	waitSplit(t, ctx, 6, []int{3, 3}, a, b)
	produced := produceValues(t, ctx, producer, topic, "one", 120)
	c := startGroupMember(t, srv.Addr, groupID, topic, "c", sink, opts...)
	waitSplit(t, ctx, 6, []int{2, 2, 2}, a, b, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "two", 120)...)
	b.close()
	waitSplit(t, ctx, 6, []int{3, 3}, a, c)
	produced = append(produced, produceValues(t, ctx, producer, topic, "three", 120)...)
	eventually(t, ctx, "every record consumed", func() (bool, string) {
		return sink.count() >= len(produced), ""
	})
	checkExactlyOnce(t, produced, sink.snapshot())
}
