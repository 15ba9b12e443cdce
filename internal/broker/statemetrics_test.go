package broker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/broker"
	"github.com/fjordhq/fjord/internal/config"
	"github.com/fjordhq/fjord/internal/metadata"
	"github.com/fjordhq/fjord/internal/metrics/metricstest"
	"github.com/fjordhq/fjord/internal/server"
	"github.com/fjordhq/fjord/internal/vfs"
)

// stateCluster is n combined nodes in this process, each a metadata
// quorum member on loopback TCP and a broker whose serving part (the
// broker, its Kafka listener and background work) stops and starts again
// on its own while the quorum member keeps heartbeating: a follower that
// stops fetching without being fenced, so that its leader shrinks the ISR.
type stateCluster struct {
	t     testing.TB
	nodes []*stateNode
}

type stateNode struct {
	id     int32
	dir    string
	cfg    config.Broker
	meta   *metadata.Node
	port   int
	logger *slog.Logger
	// stopHeartbeats ends the broker's heartbeats, so that a fence sticks.
	stopHeartbeats context.CancelFunc

	mu     sync.Mutex
	b      *broker.Broker
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stateProps are broker properties that make a stopped follower leave the
// ISR within a second and a group rebalance at once.
func stateProps() map[string]string {
	return map[string]string{
		"replica.lag.time.max.ms":          "1000",
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "1",
	}
}

func startStateCluster(t testing.TB, n int, props map[string]string) *stateCluster {
	t.Helper()
	c := &stateCluster{t: t}
	logger := slog.New(slog.DiscardHandler)
	var voters []metadata.Voter
	var nets []*metadata.Network
	for i := range n {
		nw, err := metadata.Listen("127.0.0.1:0", "", nil, metadata.NetworkTLS{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nw.Close() })
		nets = append(nets, nw)
		voters = append(voters, metadata.Voter{NodeID: int32(i + 1), Addr: string(nw.Addr())})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var heartbeats sync.WaitGroup
	t.Cleanup(func() { cancel(); heartbeats.Wait() })
	for i := range n {
		nd := &stateNode{id: int32(i + 1), dir: t.TempDir(), logger: logger}
		all := map[string]string{"log.dirs": nd.dir, "node.id": strconv.Itoa(i + 1), "offsets.topic.replication.factor": strconv.Itoa(n)}
		maps.Copy(all, stateProps())
		maps.Copy(all, props)
		cfg, err := config.ParseBroker(all)
		if err != nil {
			t.Fatal(err)
		}
		nd.cfg = cfg
		meta, err := metadata.Start(ctx, metadata.Options{Dir: nd.dir, NodeID: nd.id, Network: nets[i], Voters: voters,
			HeartbeatInterval: 100 * time.Millisecond, SessionTimeout: 5 * time.Second, Broker: cfg, Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		nd.meta = meta
		t.Cleanup(func() { meta.Close() })
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes {
		if err := nd.meta.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, nd := range c.nodes {
		ln := nd.register(t, ctx)
		hbCtx, stop := context.WithCancel(ctx)
		nd.stopHeartbeats = stop
		heartbeats.Go(func() { nd.meta.RunBrokerHeartbeats(hbCtx, nd.id) })
		nd.start(t, ln)
	}
	// Brokers stop before the quorum members their cleanups registered
	// earlier close.
	t.Cleanup(func() {
		for _, nd := range c.nodes {
			nd.stop()
		}
	})
	return c
}

// register binds the node's Kafka listener and registers the broker.
func (nd *stateNode) register(t testing.TB, ctx context.Context) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nd.port = ln.Addr().(*net.TCPAddr).Port
	reg := metadata.BrokerRegistration{NodeID: nd.id, Host: "127.0.0.1", Port: int32(nd.port)}
	_, _ = rand.Read(reg.Incarnation[:])
	if err := nd.meta.RegisterBroker(ctx, reg); err != nil {
		t.Fatal(err)
	}
	waitState(t, fmt.Sprintf("broker %d registered", nd.id), func() (bool, string) {
		br, ok := nd.meta.Image().Broker(nd.id)
		return ok && br.Incarnation == reg.Incarnation, fmt.Sprintf("%+v", br)
	})
	return ln
}

// start runs the broker on ln until stop.
func (nd *stateNode) start(t testing.TB, ln net.Listener) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := broker.New(broker.Options{NodeID: nd.id, AdvertiseHost: "127.0.0.1", AdvertisePort: int32(nd.port),
		DataDir: nd.dir, Config: nd.cfg, FS: vfs.Default(), Meta: nd.meta, Logger: nd.logger})
	if err := b.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := server.New(b.Routes(), server.DefaultLimits(), nd.logger)
	nd.mu.Lock()
	nd.b, nd.cancel = b, cancel
	nd.mu.Unlock()
	nd.wg.Go(func() { _ = srv.Serve(ctx, ln) })
	nd.wg.Go(func() { b.Run(ctx) })
}

// stop stops the broker, leaving the quorum member running.
func (nd *stateNode) stop() {
	nd.mu.Lock()
	cancel, b := nd.cancel, nd.b
	nd.cancel = nil
	nd.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	nd.wg.Wait()
	_ = b.Close()
}

// restart starts the broker again on its registered port.
func (nd *stateNode) restart(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.port)))
	if err != nil {
		t.Fatal(err)
	}
	nd.start(t, ln)
}

func (nd *stateNode) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.port)) }

func (nd *stateNode) broker() *broker.Broker {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.b
}

func (c *stateCluster) addrs() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, nd.addr())
	}
	return out
}

// scrapeState gathers b's state metrics through a pedantic registry,
// which checks them for consistency as a scrape would.
func scrapeState(t testing.TB, b *broker.Broker) metricstest.Families {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(b.StateCollector())
	return metricstest.Gather(t, reg)
}

// waitState polls cond until it holds or 30 s pass: metrics have no change
// notification, and the conditions follow timers of the cluster (the
// replica lag time, fetch backoffs).
func waitState(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, desc := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not reached in time; last: %s", what, desc)
		case <-tick.C:
		}
	}
}

// TestStateMetricsUnderReplicatedWhileFollowerStopped stops a follower of
// a partition replicated three times: its leader reports the partition
// under-replicated and at min.insync.replicas once it shrinks the ISR, and
// back in sync after the follower returns, counting the shrink and the
// expansion. Exactly one node is the active controller, and every node
// agrees on the quorum's leader and term.
func TestStateMetricsUnderReplicatedWhileFollowerStopped(t *testing.T) {
	c := startStateCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs()...), kgo.DefaultProduceTopic("urp"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	minISR := "2"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": &minISR}, "urp"); err != nil {
		t.Fatal(err)
	}
	produceState(ctx, t, cl, 5)
	leader := c.partitionLeader(t, "urp")
	inSync := func(want float64) func() (bool, string) {
		return func() (bool, string) {
			s := scrapeState(t, leader.broker())
			urp, _ := s.Value("fjord_under_replicated_partitions")
			at, _ := s.Value("fjord_at_min_isr_partitions")
			hw, _ := s.Value("fjord_log_high_watermark", "topic", "urp", "partition", "0")
			return urp == want && at == want, fmt.Sprintf("under-replicated %v, at min ISR %v, high watermark %v", urp, at, hw)
		}
	}
	waitState(t, "partition in sync", inSync(0))
	shrinks0, expands0 := isrCounters(t, leader.broker())

	var follower *stateNode
	for _, nd := range c.nodes {
		if nd != leader {
			follower = nd
			break
		}
	}
	follower.stop()
	// An idle partition keeps a silent follower in its ISR (its log end
	// is the leader's): records make it fall behind. acks=all answers
	// once the ISR has shrunk to the two others.
	produceState(ctx, t, cl, 5)
	waitState(t, "leader reports the partition under-replicated", inSync(1))
	if shrinks, _ := isrCounters(t, leader.broker()); shrinks <= shrinks0 {
		t.Fatalf("ISR shrinks %v, want more than %v", shrinks, shrinks0)
	}

	follower.restart(t)
	waitState(t, "partition back in sync", inSync(0))
	if _, expands := isrCounters(t, leader.broker()); expands <= expands0 {
		t.Fatalf("ISR expands %v, want more than %v", expands, expands0)
	}
	waitState(t, "follower's log caught up", func() (bool, string) {
		end, _ := scrapeState(t, follower.broker()).Value("fjord_log_end_offset", "topic", "urp", "partition", "0")
		return end == 10, fmt.Sprintf("follower's log end offset %v", end)
	})
	checkQuorumGauges(t, c)
}

// checkQuorumGauges checks that one node is the active controller and that
// the others follow it in the same term.
func checkQuorumGauges(t *testing.T, c *stateCluster) {
	t.Helper()
	waitState(t, "one active controller", func() (bool, string) {
		var active, leaders, followers float64
		var ids, terms []float64
		for _, nd := range c.nodes {
			s := scrapeState(t, nd.broker())
			a, _ := s.Value("fjord_controller_active")
			l, _ := s.Value("fjord_raft_state", "state", "leader")
			f, _ := s.Value("fjord_raft_state", "state", "follower")
			id, _ := s.Value("fjord_raft_leader_id")
			term, _ := s.Value("fjord_raft_term")
			active, leaders, followers = active+a, leaders+l, followers+f
			ids, terms = append(ids, id), append(terms, term)
		}
		same := ids[0] > 0 && ids[1] == ids[0] && ids[2] == ids[0] && terms[1] == terms[0] && terms[2] == terms[0]
		return active == 1 && leaders == 1 && followers == 2 && same,
			fmt.Sprintf("active %v leaders %v followers %v leader ids %v terms %v", active, leaders, followers, ids, terms)
	})
}

// partitionLeader is the node leading topic's partition 0, once every
// node's image shows it led.
func (c *stateCluster) partitionLeader(t *testing.T, topic string) *stateNode {
	t.Helper()
	var leader *stateNode
	waitState(t, topic+"-0 led on every node's image", func() (bool, string) {
		leader = nil
		var desc []string
		for _, nd := range c.nodes {
			tp, ok := nd.meta.Image().Topic(topic)
			if !ok || len(tp.Partitions) == 0 || tp.Partitions[0].Leader < 0 {
				return false, fmt.Sprintf("node %d: no leader yet", nd.id)
			}
			desc = append(desc, fmt.Sprintf("node %d: %+v", nd.id, tp.Partitions[0]))
			for _, l := range c.nodes {
				if l.id == tp.Partitions[0].Leader {
					leader = l
				}
			}
		}
		return leader != nil, strings.Join(desc, "; ")
	})
	return leader
}

func isrCounters(t *testing.T, b *broker.Broker) (shrinks, expands float64) {
	t.Helper()
	s := scrapeState(t, b)
	shrinks, _ = s.Value("fjord_isr_shrinks_total")
	expands, _ = s.Value("fjord_isr_expands_total")
	return shrinks, expands
}

func produceState(ctx context.Context, t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStateMetricsLogsAndGroups checks the per-partition log gauges against
// what was produced, the quorum gauges of a lone node, the lint of every
// name and help text, and the group gauges through a franz-go consumer
// group joining, consuming and leaving.
func TestStateMetricsLogsAndGroups(t *testing.T) {
	c := startStateCluster(t, 1, nil)
	b := c.nodes[0].broker()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	producer, err := kgo.NewClient(kgo.SeedBrokers(c.addrs()...), kgo.DefaultProduceTopic("logs"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if _, err := kadm.NewClient(producer).CreateTopic(ctx, 2, 1, nil, "logs"); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		rec := &kgo.Record{Value: []byte("v"), Partition: int32(i % 2)} // 4 records to each
		if err := producer.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	want := `
# HELP fjord_log_end_offset The replica's log end offset.
# TYPE fjord_log_end_offset gauge
fjord_log_end_offset{partition="0",topic="logs"} 4
fjord_log_end_offset{partition="1",topic="logs"} 4
# HELP fjord_log_high_watermark The replica's high watermark.
# TYPE fjord_log_high_watermark gauge
fjord_log_high_watermark{partition="0",topic="logs"} 4
fjord_log_high_watermark{partition="1",topic="logs"} 4
# HELP fjord_log_segments Segments of the replica's log.
# TYPE fjord_log_segments gauge
fjord_log_segments{partition="0",topic="logs"} 1
fjord_log_segments{partition="1",topic="logs"} 1
# HELP fjord_log_start_offset The replica's log start offset.
# TYPE fjord_log_start_offset gauge
fjord_log_start_offset{partition="0",topic="logs"} 0
fjord_log_start_offset{partition="1",topic="logs"} 0
# HELP fjord_controller_active 1 on the node that leads the metadata quorum (the active controller).
# TYPE fjord_controller_active gauge
fjord_controller_active 1
# HELP fjord_partitions_led Partitions this broker leads.
# TYPE fjord_partitions_led gauge
fjord_partitions_led 2
# HELP fjord_under_replicated_partitions Partitions led here whose ISR is smaller than their replicas.
# TYPE fjord_under_replicated_partitions gauge
fjord_under_replicated_partitions 0
`
	if err := testutil.CollectAndCompare(b.StateCollector(), strings.NewReader(want), "fjord_log_end_offset",
		"fjord_log_high_watermark", "fjord_log_segments", "fjord_log_start_offset", "fjord_controller_active",
		"fjord_partitions_led", "fjord_under_replicated_partitions"); err != nil {
		t.Fatal(err)
	}
	if size, _ := scrapeState(t, b).Value("fjord_log_size_bytes", "topic", "logs", "partition", "1"); size <= 0 {
		t.Fatalf("log size %v", size)
	}
	problems, err := testutil.CollectAndLint(b.StateCollector())
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %+v", err, problems)
	}
	checkGroupGauges(ctx, t, c, b)
}

// checkGroupGauges runs a classic consumer group of one member, then a
// KIP-848 consumer group of one member, and checks the group gauges while
// each is stable and after it left.
func checkGroupGauges(ctx context.Context, t *testing.T, c *stateCluster, b *broker.Broker) {
	t.Helper()
	for _, tc := range []struct {
		typ, group string
		opts       []kgo.Opt
	}{
		{"classic", "metrics-classic", nil},
		{"consumer", "metrics-consumer", []kgo.Opt{kgo.ServerSideBalancer()}},
	} {
		opts := append([]kgo.Opt{kgo.SeedBrokers(c.addrs()...), kgo.ConsumerGroup(tc.group), kgo.ConsumeTopics("logs"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, tc.opts...)
		consumer, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		for read := 0; read < 8; {
			fetches := consumer.PollFetches(ctx)
			if err := fetches.Err0(); err != nil {
				t.Fatal(err)
			}
			read += fetches.NumRecords()
		}
		groups := func(state string, members float64) func() (bool, string) {
			return func() (bool, string) {
				s := scrapeState(t, b)
				n, _ := s.Value("fjord_groups", "type", tc.typ, "state", state)
				m, _ := s.Value("fjord_group_members", "type", tc.typ)
				r, _ := s.Value("fjord_group_rebalances_total", "type", tc.typ)
				p, _ := s.Value("fjord_groups_by_protocol_type", "protocol_type", "consumer")
				return n == 1 && m == members && r >= 1 && p >= 1, fmt.Sprintf("%s %s groups %v, members %v, rebalances %v, consumer protocol type %v",
					tc.typ, state, n, m, r, p)
			}
		}
		waitState(t, tc.typ+" group stable with one member", groups("Stable", 1))
		consumer.Close() // leaves the group
		waitState(t, tc.typ+" group empty", groups("Empty", 0))
	}
}

// BenchmarkStateCollect1000Partitions measures one scrape of the state
// metrics of a broker leading 1,000 partitions, each with a few records.
func BenchmarkStateCollect1000Partitions(b *testing.B) {
	c := startStateCluster(b, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs()...), kgo.DefaultProduceTopic("many"))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1000, 1, nil, "many"); err != nil {
		b.Fatal(err)
	}
	for i := range 2000 {
		cl.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("v")}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.nodes[0].broker().StateCollector())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		families, err := reg.Gather()
		if err != nil || len(families) == 0 {
			b.Fatal(err)
		}
	}
}

// TestStateMetricsOfflinePartitionOnController fences the only replica of
// a partition: the active controller reports it offline and the broker
// fenced, the other nodes report 0 for both, so that a sum over the
// cluster counts it once.
func TestStateMetricsOfflinePartitionOnController(t *testing.T) {
	c := startStateCluster(t, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "lonely"); err != nil {
		t.Fatal(err)
	}
	owner := c.partitionLeader(t, "lonely")
	// Its next heartbeat would unfence it: a loaded machine could then
	// scrape only after that.
	owner.stopHeartbeats()
	if err := owner.meta.FenceBroker(ctx, owner.id); err != nil {
		t.Fatal(err)
	}
	waitState(t, "the active controller alone reports the partition offline", func() (bool, string) {
		var desc []string
		controllers, reported := 0, 0
		for _, nd := range c.nodes {
			s := scrapeState(t, nd.broker())
			active, _ := s.Value("fjord_controller_active")
			offline, _ := s.Value("fjord_offline_partitions")
			fenced, _ := s.Value("fjord_controller_fenced_brokers")
			registered, _ := s.Value("fjord_controller_registered_brokers")
			desc = append(desc, fmt.Sprintf("node %d: active %v offline %v fenced %v registered %v", nd.id, active, offline, fenced, registered))
			switch {
			case active == 1 && offline == 1 && fenced == 1 && registered == 3:
				controllers++
				reported++
			case active == 0 && offline == 0 && fenced == 0 && registered == 0:
			default:
				reported += 10 // inconsistent
			}
		}
		return controllers == 1 && reported == 1, strings.Join(desc, "; ")
	})
}
