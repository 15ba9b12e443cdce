package monitoring

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// stateWaitTimeout bounds each wait of the state metrics test: an ISR
// shrink takes replica.lag.time.max.ms (1 s here) plus a check interval,
// an expansion a fetch round trip after the follower resumes.
const stateWaitTimeout = 30 * time.Second

// TestStateMetricsUnderReplicatedPartitions runs three `fjord server`
// processes, pauses (SIGSTOP) a follower of a partition replicated three
// times and scrapes the leader's /metrics until it reports the partition
// under-replicated, then resumes the follower and scrapes until it is back
// in sync; the ISR shrink and expansion are counted, and exactly one node
// is the active controller throughout.
func TestStateMetricsUnderReplicatedPartitions(t *testing.T) {
	servers := stateStartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.Addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic("state-urp"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	minISR := "2"
	created, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": &minISR}, "state-urp")
	if err == nil {
		err = created.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	stateProduce(ctx, t, cl, 10)
	leader := stateLeaderOf(ctx, t, cl, servers, "state-urp")
	stateWait(t, "leader sees the partition in sync with its 10 records", leader, func(sc scrape) (bool, string) {
		urp, _ := sc.Value("fjord_under_replicated_partitions")
		end, _ := sc.Value("fjord_log_end_offset", "topic", "state-urp", "partition", "0")
		hw, _ := sc.Value("fjord_log_high_watermark", "topic", "state-urp", "partition", "0")
		return urp == 0 && end == 10 && hw == 10, fmt.Sprintf("under-replicated %v, log end %v, high watermark %v", urp, end, hw)
	})
	controller := stateActiveController(t, servers)
	shrinks0 := scrapeMetrics(t, leader).MustValue(t, "fjord_isr_shrinks_total")
	expands0 := scrapeMetrics(t, leader).MustValue(t, "fjord_isr_expands_total")

	// Pause a follower, one that is not the active controller when there
	// is a choice, so that the quorum keeps its leader.
	var follower *fjordtest.Server
	for _, s := range servers {
		if s != leader && (follower == nil || follower == controller) {
			follower = s
		}
	}
	follower.Pause()
	paused := true
	defer func() {
		if paused {
			follower.Resume()
		}
	}()
	// A follower that stopped fetching stays in sync while the partition
	// is idle: records make it fall behind.
	stateProduce(ctx, t, cl, 10)
	stateWait(t, "leader reports the partition under-replicated", leader, func(sc scrape) (bool, string) {
		urp, _ := sc.Value("fjord_under_replicated_partitions")
		at, _ := sc.Value("fjord_at_min_isr_partitions")
		shrinks, _ := sc.Value("fjord_isr_shrinks_total")
		return urp == 1 && at == 1 && shrinks > shrinks0, fmt.Sprintf("under-replicated %v, at min ISR %v, shrinks %v", urp, at, shrinks)
	})

	follower.Resume()
	paused = false
	stateWait(t, "partition back in sync", leader, func(sc scrape) (bool, string) {
		urp, _ := sc.Value("fjord_under_replicated_partitions")
		expands, _ := sc.Value("fjord_isr_expands_total")
		return urp == 0 && expands > expands0, fmt.Sprintf("under-replicated %v, expands %v", urp, expands)
	})
	stateWait(t, "follower's log caught up", follower, func(sc scrape) (bool, string) {
		end, _ := sc.Value("fjord_log_end_offset", "topic", "state-urp", "partition", "0")
		in, _ := sc.Value("fjord_replication_bytes_in_total")
		return end == 20 && in > 0, fmt.Sprintf("log end %v, replication bytes in %v", end, in)
	})
	stateActiveController(t, servers)
}

// stateStartCluster starts three combined nodes with HTTP listeners.
func stateStartCluster(t *testing.T) []*fjordtest.Server {
	t.Helper()
	ports := clustertest.FreeLoopbackPorts(t, 3)
	var voters []string
	for i, p := range ports {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, p))
	}
	var opts []fjordtest.Options
	for i := range ports {
		opts = append(opts, fjordtest.Options{HTTP: true,
			Args:   []string{"--node-id", strconv.Itoa(i + 1), "--controllers", strings.Join(voters, ",")},
			Config: map[string]string{"replica.lag.time.max.ms": "1000"}})
	}
	return fjordtest.StartAll(t, opts...)
}

// stateLeaderOf is the server leading topic's partition 0.
func stateLeaderOf(ctx context.Context, t *testing.T, cl *kgo.Client, servers []*fjordtest.Server, topic string) *fjordtest.Server {
	t.Helper()
	md, err := kadm.NewClient(cl).Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := md.Topics[topic].Partitions[0]
	if !ok || p.Leader < 1 || int(p.Leader) > len(servers) {
		t.Fatalf("no leader for %s-0: %+v", topic, md.Topics[topic])
	}
	return servers[p.Leader-1] // node ids are 1..3 in order
}

// stateActiveController waits until exactly one server reports itself
// the active controller and returns it.
func stateActiveController(t *testing.T, servers []*fjordtest.Server) *fjordtest.Server {
	t.Helper()
	deadline := time.Now().Add(stateWaitTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var active []*fjordtest.Server
		var desc []string
		for _, s := range servers {
			sc := scrapeMetrics(t, s)
			a, _ := sc.Value("fjord_controller_active")
			leader, _ := sc.Value("fjord_raft_state", "state", "leader")
			offline, _ := sc.Value("fjord_offline_partitions")
			if a == 1 && leader == 1 && offline == 0 {
				active = append(active, s)
			}
			desc = append(desc, fmt.Sprintf("%s: active %v raft leader %v offline %v", s.Addr, a, leader, offline))
		}
		if len(active) == 1 {
			return active[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("not exactly one active controller: %v", desc)
		}
		<-tick.C
	}
}

// stateWait scrapes s until cond holds or stateWaitTimeout passes.
func stateWait(t *testing.T, what string, s *fjordtest.Server, cond func(scrape) (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(stateWaitTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, desc := cond(scrapeMetrics(t, s))
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %v; last: %s", what, stateWaitTimeout, desc)
		}
		<-tick.C
	}
}

func stateProduce(ctx context.Context, t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}
