package metadata

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// heartbeats runs RunBrokerHeartbeats for chosen brokers, each stoppable.
type heartbeats struct {
	c       *testCluster
	wg      sync.WaitGroup
	mu      sync.Mutex
	cancels map[int32]context.CancelFunc
}

func (h *heartbeats) start(id int32) {
	ctx, cancel := context.WithCancel(context.Background())
	h.mu.Lock()
	h.cancels[id] = cancel
	h.mu.Unlock()
	node := h.c.nodes[id-1]
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		node.RunBrokerHeartbeats(ctx, id)
	}()
}

func (h *heartbeats) stop(id int32) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cancel := h.cancels[id]; cancel != nil {
		cancel()
		delete(h.cancels, id)
	}
}

func (h *heartbeats) stopAll() {
	h.mu.Lock()
	for id, cancel := range h.cancels {
		cancel()
		delete(h.cancels, id)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// eventually waits until cond holds for every running node's image.
func (c *testCluster) eventually(what string, cond func(*Image) bool) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, n := range c.nodes {
			if n != nil && !cond(n.Image()) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting until %s", what)
		}
		c.waitAnyChange(50 * time.Millisecond)
	}
}

func partitionsOf(img *Image, topic string) []PartitionImage {
	t, _ := img.Topic(topic)
	return t.Partitions
}

func TestClusterPartitionLeadershipFollowsLiveness(t *testing.T) {
	c := startClusterWith(t, 3, func(o *Options) { o.LeaderImbalanceCheckInterval = 200 * time.Millisecond })
	c.registerAll()
	hb := &heartbeats{c: c, cancels: map[int32]context.CancelFunc{}}
	defer hb.stopAll()
	for id := int32(1); id <= 3; id++ {
		hb.start(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := c.follower()
	if _, err := c.nodes[f].CreateTopic(ctx, CreateTopicSpec{Name: "rf3", NumPartitions: 6, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.nodes[f].CreateTopic(ctx, CreateTopicSpec{Name: "solo", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {3}}}); err != nil {
		t.Fatal(err)
	}
	before := partitionsOf(c.nodes[f].Image(), "rf3")

	// Broker 3 stops heartbeating: fenced, its partitions get new leaders
	// from the ISR with bumped epochs, it leaves every ISR, and the
	// partition only it held goes offline keeping it in the ISR.
	hb.stop(3)
	c.eventually("broker 3's partitions move", func(img *Image) bool {
		br, _ := img.Broker(3)
		solo := partitionsOf(img, "solo")
		if !br.Fenced || len(solo) != 1 || solo[0].Leader != -1 {
			return false
		}
		for _, p := range partitionsOf(img, "rf3") {
			if p.Leader == 3 || slices.Contains(p.ISR, 3) {
				return false
			}
		}
		return true
	})
	c.converged()
	img := c.nodes[0].Image()
	for i, p := range partitionsOf(img, "rf3") {
		old := before[i]
		wantLeaderEpoch := old.LeaderEpoch
		if old.Leader == 3 {
			wantLeaderEpoch++
		}
		if p.LeaderEpoch != wantLeaderEpoch || p.PartitionEpoch != old.PartitionEpoch+1 || len(p.ISR) != 2 {
			t.Fatalf("partition %d after fencing 3: %+v (before %+v)", i, p, old)
		}
	}
	if solo := partitionsOf(img, "solo")[0]; !slices.Equal(solo.ISR, []int32{3}) || solo.LeaderEpoch != 1 {
		t.Fatalf("offline partition %+v", solo)
	}

	// AlterPartition from a follower is forwarded and validated.
	p0 := partitionsOf(img, "rf3")[0]
	topic, _ := img.Topic("rf3")
	f = c.follower()
	_, err := c.nodes[f].AlterPartition(ctx, topic.ID, 0, p0.Leader, p0.LeaderEpoch, p0.PartitionEpoch, []int32{p0.Leader, 3}, nil)
	if !errors.Is(err, kerr.IneligibleReplica) {
		t.Fatalf("fenced broker into the ISR: %v", err)
	}
	_, err = c.nodes[f].AlterPartition(ctx, topic.ID, 0, p0.Leader, p0.LeaderEpoch, p0.PartitionEpoch-1, []int32{p0.Leader}, nil)
	if !errors.Is(err, kerr.InvalidUpdateVersion) {
		t.Fatalf("stale partition epoch: %v", err)
	}
	shrunk, err := c.nodes[f].AlterPartition(ctx, topic.ID, 0, p0.Leader, p0.LeaderEpoch, p0.PartitionEpoch, []int32{p0.Leader}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if shrunk.PartitionEpoch != p0.PartitionEpoch+1 || shrunk.LeaderEpoch != p0.LeaderEpoch || !slices.Equal(shrunk.ISR, []int32{p0.Leader}) {
		t.Fatalf("after AlterPartition: %+v", shrunk)
	}
	if local := partitionsOf(c.nodes[f].Image(), "rf3")[0]; local.PartitionEpoch != shrunk.PartitionEpoch {
		t.Fatalf("forwarding node's image not caught up: %+v", local)
	}

	// Broker 3 heartbeats again: unfenced, the offline partition returns.
	hb.start(3)
	c.eventually("the offline partition returns", func(img *Image) bool {
		solo := partitionsOf(img, "solo")
		return len(solo) == 1 && solo[0].Leader == 3 && solo[0].LeaderEpoch == 2
	})

	// Leaders re-add 3 to their ISRs (what the broker's replication does
	// once 3 caught up); auto.leader.rebalance.enable then moves leadership
	// back to preferred replicas.
	for i := range partitionsOf(c.nodes[f].Image(), "rf3") {
		p := partitionsOf(c.nodes[f].Image(), "rf3")[i]
		isr := []int32{1, 2, 3}
		if _, err := c.nodes[f].AlterPartition(ctx, topic.ID, int32(i), p.Leader, p.LeaderEpoch, p.PartitionEpoch, isr, nil); err != nil {
			// A preferred election may have raced; FENCED_LEADER_EPOCH is
			// the leader's cue to reload, as in Kafka.
			if !errors.Is(err, kerr.FencedLeaderEpoch) && !errors.Is(err, kerr.InvalidUpdateVersion) {
				t.Fatalf("partition %d: %v", i, err)
			}
		}
	}
	c.eventually("preferred replicas lead again", func(img *Image) bool {
		for _, p := range partitionsOf(img, "rf3") {
			if p.Leader != p.Replicas[0] {
				return false
			}
		}
		return true
	})

	// Controlled shutdown of broker 2: leadership moves before it returns.
	hb.stop(2)
	if err := c.nodes[f].FenceBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, p := range partitionsOf(c.nodes[f].Image(), "rf3") {
		if p.Leader == 2 || slices.Contains(p.ISR, 2) {
			t.Fatalf("broker 2 still leads or in sync after its controlled shutdown: %+v", p)
		}
	}
	// ElectLeaders from a follower, forwarded: nothing to do for a
	// partition with a leader; the preferred replica 2 is fenced.
	res, err := c.nodes[f].ElectLeaders(ctx, ElectUnclean, []TopicPartitions{{Topic: "rf3", Partitions: []int32{0}}})
	if err != nil || len(res) != 1 || !errors.Is(res[0].Err(), kerr.ElectionNotNeeded) {
		t.Fatalf("unclean election of a led partition: %+v %v", res, err)
	}
	res, err = c.nodes[f].ElectLeaders(ctx, ElectPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !errors.Is(r.Err(), kerr.PreferredLeaderNotAvailable) {
			t.Fatalf("preferred election with broker 2 fenced: %+v", r)
		}
		if p := partitionsOf(c.nodes[f].Image(), r.Topic)[r.Partition]; p.Replicas[0] != 2 {
			t.Fatalf("partition %+v reported though its preferred replica leads", p)
		}
	}
	c.converged()
}

// A broker registering with a new incarnation while its previous process
// is still registered (a crash and a quick restart) does not go on leading
// at the old leader epochs: its partitions get new epochs. The same
// incarnation registering again changes no epoch.
func TestReregistrationWithNewIncarnationBumpsLeaderEpochs(t *testing.T) {
	c := startClusterWith(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	register := func(id int32, incarnation byte) {
		t.Helper()
		reg := BrokerRegistration{NodeID: id, Host: "127.0.0.1", Port: 9092 + id, Incarnation: [16]byte{incarnation}}
		if err := c.nodes[c.follower()].RegisterBroker(ctx, reg); err != nil {
			t.Fatalf("registering %d: %v", id, err)
		}
	}
	for id := int32(1); id <= 3; id++ {
		register(id, byte(id))
	}
	if _, err := c.nodes[c.follower()].CreateTopic(ctx, CreateTopicSpec{Name: "rf3", NumPartitions: 6, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}
	c.converged()
	before := partitionsOf(c.nodes[0].Image(), "rf3")

	register(2, 2)
	c.converged()
	if after := partitionsOf(c.nodes[0].Image(), "rf3"); !slices.EqualFunc(before, after, func(a, b PartitionImage) bool {
		return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch
	}) {
		t.Fatalf("the same incarnation moved leadership: %+v -> %+v", before, after)
	}

	register(2, 20)
	c.converged()
	img := c.nodes[0].Image()
	if br, _ := img.Broker(2); br.Fenced || br.Incarnation != [16]byte{20} {
		t.Fatalf("broker 2 after restarting: %+v", br)
	}
	led := 0
	for i, p := range partitionsOf(img, "rf3") {
		if before[i].Leader != 2 {
			continue
		}
		led++
		if p.LeaderEpoch <= before[i].LeaderEpoch || p.Leader == 2 && p.LeaderEpoch == before[i].LeaderEpoch {
			t.Fatalf("partition %d led by the restarted broker kept its epoch: %+v (before %+v)", i, p, before[i])
		}
	}
	if led == 0 {
		t.Fatal("broker 2 led no partition: the test shows nothing")
	}
}
