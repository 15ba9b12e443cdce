package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/checker"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// faultSeeds are the schedules TestClusterFailover and the back-to-back
// rolling restarts of TestClusterRollingRestart run; FJORD_FAULT_SEEDS
// (comma-separated) runs others, or more, on demand.
func faultSeeds(t *testing.T) []int64 {
	env := os.Getenv("FJORD_FAULT_SEEDS")
	if env == "" {
		return []int64{1, 2, 3}
	}
	var seeds []int64
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("FJORD_FAULT_SEEDS: %v", err)
		}
		seeds = append(seeds, n)
	}
	return seeds
}

// faultSteps is how many faults one schedule injects: 11, every kind once
// with the network faults, keeps the default seeds within CI time;
// FJORD_FAULT_STEPS asks for longer runs.
func faultSteps(t *testing.T) int {
	env := os.Getenv("FJORD_FAULT_STEPS")
	if env == "" {
		return 11
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 {
		t.Fatalf("FJORD_FAULT_STEPS: want a positive number, got %q", env)
	}
	return n
}

// checkedConsumers is C in RELIABILITY.md §3: assign consumers polling
// concurrently with the producers (the group of startCheckedGroup comes on
// top).
const checkedConsumers = 2

// consumerCatchUpTimeout bounds how long the consumers may take to poll up
// to the high watermark, and the group to commit up to it, after the final
// heal: T_rec of §3 rule 11.
const consumerCatchUpTimeout = 30 * time.Second

// TestClusterFailover runs two idempotent acks=all producers, two
// transactional producers (each transaction writes every partition and
// commits, or one in txnAbortEvery aborts on purpose), two assign
// consumers (read_uncommitted and read_committed) and a two-member
// consumer group committing what it polls against a three-node cluster
// (RF=3, min.insync.replicas=2) while a seeded schedule injects faults
// drawn from SIGKILL of a partition leader, a follower, the controller
// leader or two nodes at once, SIGSTOP of a follower or a partition
// leader, a back-to-back rolling restart (each next node stopped as soon
// as Metadata shows the ISR full), and network faults (networkFaults: a
// partition leader or the controller leader cut off from the other nodes,
// a one-way cut, latency and loss), healing each in turn. Producing must
// make progress around every fault, and transactions must commit again
// after each heal. At the end every fault is healed, every transaction
// ends, a final read and a final read_committed read take each partition
// up to its high watermark, and the checker (internal/checker) checks the
// whole history of sends, transactions, polls and group commits.
//
// With FJORD_FAULT_TLS=1 the cluster is secured (clusterSecurity): the
// brokers replicate over SASL_SSL with mutual TLS and the controllers talk
// over mutual TLS, while the clients stay on the plaintext listener.
func TestClusterFailover(t *testing.T) {
	secure := faultTLS(t)
	for _, seed := range faultSeeds(t) {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) { runFaultSchedule(t, seed, faultSteps(t), secure) })
	}
}

// fault is one kind of fault: run injects it and returns what it did and
// how to heal it. progress says whether acks=all producing can go on while
// it lasts.
type fault struct {
	name     string
	progress bool
	run      func() (nodes []int32, heal func())
}

// runFaultSchedule runs one seeded schedule of steps faults; secure runs
// it on a cluster secured as clusterSecurity describes.
func runFaultSchedule(t *testing.T, seed int64, steps int, secure bool) {
	// Two streams: the kinds of faults depend on the seed alone; which
	// node each hits also depends on where leaders happen to be.
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	kinds := rand.New(rand.NewPCG(uint64(seed), 1))
	began := time.Now()
	config := map[string]string{
		"replica.lag.time.max.ms":      "1500",
		"broker.session.timeout.ms":    "2000",
		"broker.heartbeat.interval.ms": "300",
	}
	// The network faults need a namespace per node (netfault_test.go),
	// which needs root, as CI has; elsewhere the cluster runs on loopback
	// and the schedule draws from the other faults.
	var sec *clusterSecurity
	if secure {
		sec = newClusterSecurity(t, 3, interBrokerMechanism(seed))
		t.Logf("seed %d: %s", seed, sec.describe())
	}
	var servers []*fjordtest.Server
	var controllers []string
	var fabric *netFabric
	if err := netFaultsUsable(t); err != nil {
		t.Logf("network faults off (%v): the cluster runs on loopback", err)
		servers, controllers = startSecuredClusterControllers(t, 3, config, sec)
	} else {
		servers, fabric = startNetCluster(t, 3, config, sec)
		controllers = fabric.controllers()
	}
	ctx := testContext(t, time.Duration(steps+4)*30*time.Second)
	quorum := func() (string, int, error) { return clusterStatus(t, controllers) }
	if sec != nil {
		quorum = func() (string, int, error) { return sec.quorumStatus(ctx, controllers) }
	}
	adm := newAdmin(t, servers[0].Addr)
	const topic, partitions = "checked", 3
	createTopicRF(t, ctx, adm, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	createTopicRF(t, ctx, adm, probeTopic, 3, 3, map[string]string{"min.insync.replicas": "2"})

	defer saveServerLogs(t, servers)
	run := startCheckedRun(t, ctx, servers, adm, topic, partitions)
	defer run.stop()
	faults := faultKinds(t, ctx, rng, servers, quorum, fabric, adm, topic, partitions)
	// Every kind once in a shuffled order, then kinds drawn with
	// repetition: a short run still covers each fault.
	order := kinds.Perm(len(faults))
	for step := range steps {
		f := faults[kinds.IntN(len(faults))]
		if step < len(order) {
			f = faults[order[step]]
		}
		nodes, heal := f.run()
		t.Logf("seed %d step %d at %v: %s: nodes %v", seed, step+1, time.Since(began).Round(time.Millisecond), f.name, nodes)
		if f.progress {
			run.h.waitFor(t, ctx, 200, f.name)
		}
		heal()
		t.Logf("seed %d step %d healed at %v", seed, step+1, time.Since(began).Round(time.Millisecond))
		committed := run.txns.committedCount()
		run.h.waitFor(t, ctx, 150, "after healing: "+f.name)
		run.txns.waitCommitted(t, ctx, committed+2, "after healing: "+f.name)
	}
	t.Logf("seed %d: faults done at %v", seed, time.Since(began).Round(time.Millisecond))
	run.finish(t, ctx, fmt.Sprintf("seed %d", seed))
	t.Logf("seed %d: checked at %v", seed, time.Since(began).Round(time.Millisecond))

	// ElectLeaders moves leadership back to each partition's preferred
	// (first) replica now that all are in sync.
	if _, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, nil); err != nil {
		t.Fatalf("ElectLeaders: %v", err)
	}
	eventually(t, ctx, "preferred leaders", func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range md.Topics[topic].Partitions {
			if p.Leader != p.Replicas[0] {
				return false, fmt.Sprintf("partition %d led by %d, replicas %v", p.Partition, p.Leader, p.Replicas)
			}
		}
		return true, ""
	})
}

// faultKinds are the faults a schedule draws from, with repetition. quorum
// reports the metadata quorum's status and leader, as clusterStatus.
func faultKinds(t *testing.T, ctx context.Context, rng *rand.Rand, servers []*fjordtest.Server, quorum func() (string, int, error),
	fabric *netFabric, adm *kadm.Client, topic string, partitions int) []fault {
	followerOf := func(p int32) int32 {
		leader := leaderOf(t, ctx, adm, topic, p)
		f := int32(rng.IntN(3) + 1)
		for f == leader {
			f = int32(rng.IntN(3) + 1)
		}
		return f
	}
	kill := func(nodes ...int32) ([]int32, func()) {
		for _, n := range nodes {
			servers[n-1].Kill()
		}
		return nodes, func() {
			for _, n := range nodes {
				servers[n-1].Restart(t)
			}
		}
	}
	controllerLeader := func() int32 {
		var n int
		eventually(t, ctx, "controller leader", func() (bool, string) {
			out, leader, err := quorum()
			n = leader
			return err == nil && leader > 0, fmt.Sprintf("%v %s", err, out)
		})
		return int32(n)
	}
	faults := []fault{
		// RELIABILITY.md §4 row 19: every node in turn, the next stopped as
		// soon as Metadata shows the ISR full (rolling_schedule_test.go).
		// It ends with every node restarted, so there is nothing to heal.
		{"rolling restart, back to back", true, func() ([]int32, func()) {
			plan := newRollingPlan(rng, len(servers), controllerLeader())
			t.Logf("rolling restart: %v", plan)
			rollingRestartBackToBack(t, ctx, servers, plan, topic)
			return plan.order, func() {}
		}},
		{"SIGKILL a partition leader", true, func() ([]int32, func()) {
			return kill(leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions))))
		}},
		{"SIGKILL a follower", true, func() ([]int32, func()) {
			return kill(followerOf(int32(rng.IntN(partitions))))
		}},
		{"SIGSTOP a follower", true, func() ([]int32, func()) {
			n := followerOf(int32(rng.IntN(partitions)))
			servers[n-1].Pause()
			return []int32{n}, servers[n-1].Resume
		}},
		{"SIGKILL the controller leader", true, func() ([]int32, func()) {
			return kill(controllerLeader())
		}},
		// Two of three down: below min.insync.replicas and the metadata
		// quorum, so nothing is acknowledged until the heal restarts both;
		// a probe checks that and is what keeps the fault on a while.
		{"SIGKILL two nodes at once", false, func() ([]int32, func()) {
			spared := int32(rng.IntN(3) + 1)
			var nodes []int32
			for n := int32(1); n <= 3; n++ {
				if n != spared {
					nodes = append(nodes, n)
				}
			}
			killed, heal := kill(nodes...)
			probeNotAcked(t, ctx, servers[spared-1].Addr, spared)
			return killed, heal
		}},
		// Row 7: the controller fences the paused leader once its
		// heartbeats stop (broker.session.timeout.ms) and elects another
		// from the ISR; the clients' requests to it time out
		// (clientRequestTimeout) and go to the new leader. Resumed, it is
		// a zombie until it learns the new leader epoch, and its acks=all
		// sends in flight end info.
		{"SIGSTOP a partition leader", true, func() ([]int32, func()) {
			n := leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions)))
			servers[n-1].Pause()
			return []int32{n}, servers[n-1].Resume
		}},
	}
	if fabric != nil {
		faults = append(faults, networkFaults(t, ctx, rng, fabric, adm, topic, partitions, controllerLeader)...)
	}
	return faults
}

// networkFaults are the faults of the network fabric (netfault_test.go).
// Each cuts or slows links between nodes only or on one node, never all
// of a node's links to the clients; heal clears every link. Cuts leave
// the clients reaching every node, so a cut-off node still answers them
// with its stale view; kgo ignores metadata whose leader epoch went back
// (up to five answers in a row).
func networkFaults(t *testing.T, ctx context.Context, rng *rand.Rand, fabric *netFabric, adm *kadm.Client,
	topic string, partitions int, controllerLeader func() int32) []fault {
	isolate := func(n int32) ([]int32, func()) {
		fabric.isolate(int(n))
		return []int32{n}, fabric.heal
	}
	return []fault{
		// RELIABILITY.md §4 row 9. The leader hears neither its followers
		// nor the controller: its ISR cannot shrink (its AlterPartition
		// does not arrive), so it acknowledges nothing; the produce
		// requests it holds time out (clientRequestTimeout) and the
		// idempotent producers retry them elsewhere. The controller fences
		// it once its heartbeats stop (broker.session.timeout.ms) and
		// elects a leader from the rest of the ISR, where producing goes
		// on with the two replicas min.insync.replicas asks for (once the
		// third catches up, if an earlier fault left it behind). If the
		// leader was the controller leader too, the two others elect a
		// new one first.
		{"network: a partition leader cut off from the other nodes", true, func() ([]int32, func()) {
			return isolate(leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions))))
		}},
		// Row 10: the metadata quorum's leader in a minority of one. It
		// cannot commit and steps down (its leader lease lapses); the two
		// others elect a leader, which fences it as a broker, as above.
		{"network: the controller leader cut off from the other nodes", true, func() ([]int32, func()) {
			return isolate(controllerLeader())
		}},
		// Row 12, one way: the leader hears the others, they do not hear
		// it. Its followers' fetches arrive but get no answer, so its high
		// watermark stops; its AlterPartition and heartbeats do not
		// arrive, so the controller fences it and moves its leaderships,
		// as for a full cut. It still receives the metadata log, so it
		// learns that it was fenced. (The other way, a leader that is
		// heard but hears nothing, keeps heartbeating and stays leader
		// while nothing is acknowledged: no progress until the heal, the
		// liveness gap Kafka has as well; not scheduled.)
		{"network: one-way cut, a partition leader unheard by the other nodes", true, func() ([]int32, func()) {
			n := leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions)))
			fabric.silence(int(n))
			return []int32{n}, fabric.heal
		}},
		// Row 14: tens of milliseconds of latency each way and lost
		// segments (stalls of a retransmission timeout, see
		// netFabric.forward) on every link of a partition leader, the
		// clients' included, so that they are on the path of its
		// acknowledgements. The ISR may shrink and grow back, and the
		// quorum's leadership may move; producing goes on throughout.
		{"network: latency and loss on a partition leader's links", true, func() ([]int32, func()) {
			n := leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions)))
			delay := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}[rng.IntN(3)]
			loss := []int{1, 3, 5}[rng.IntN(3)]
			fabric.degrade(int(n), delay, loss)
			t.Logf("node %d: %v each way, %d%% of chunks lost", n, delay, loss)
			return []int32{n}, fabric.heal
		}},
	}
}

// probeTopic is a topic outside the checked history, RF=3 and
// min.insync.replicas=2, that the two-nodes-down fault produces to.
const probeTopic = "probe"

// probeDeliveryTimeout is how long the probe waits for an acknowledgement
// that must not come, and so how long two nodes stay down at least.
const probeDeliveryTimeout = 3 * time.Second

// probeNotAcked produces one acks=all record to a partition of probeTopic
// led by node, the only one left running, and fails the test if it is
// acknowledged (RELIABILITY.md §4 row 3: NOT_ENOUGH_REPLICAS or a timeout).
// The producer is not idempotent so that the delivery timeout may end an
// in-flight send.
func probeNotAcked(t *testing.T, ctx context.Context, addr string, node int32) {
	t.Helper()
	cl := newKgo(t, addr, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(probeTopic),
		kgo.RecordDeliveryTimeout(probeDeliveryTimeout), kgo.ProduceRequestTimeout(probeDeliveryTimeout),
		kgo.RequestTimeoutOverhead(probeDeliveryTimeout))
	defer cl.Close()
	// The survivor's own metadata: the admin client may be seeded with a
	// node that is down.
	partition, leader := int32(0), int32(-1)
	md, err := kadm.NewClient(cl).Metadata(ctx, probeTopic)
	if err != nil {
		t.Logf("probe: metadata from node %d: %v", node, err)
	} else {
		for _, p := range md.Topics[probeTopic].Partitions {
			if p.Leader == node || leader < 0 {
				partition, leader = p.Partition, p.Leader
			}
		}
	}
	r, err := cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte("must-not-be-acked")}).First()
	if err == nil {
		t.Errorf("acks=all produce to %s/%d acknowledged at offset %d with only node %d running", probeTopic, partition, r.Offset, node)
		return
	}
	t.Logf("probe to %s/%d (led by %d) with only node %d running: %v", probeTopic, partition, leader, node, err)
}

// waitConsumersCaughtUp waits until every consumer has polled each
// partition up to ends and the group has committed each up to ends:
// liveness after the final heal. Falling short is an error but not fatal,
// so the safety check still runs on what was polled.
func waitConsumersCaughtUp(t *testing.T, ctx context.Context, consumers []*checkedConsumer, group *checkedGroupState, ends map[int32]int64) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, consumerCatchUpTimeout)
	defer cancel()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		behind := ""
		for _, c := range consumers {
			for p, end := range ends {
				if got := c.position(p); got < end && behind == "" {
					behind = fmt.Sprintf("session %d at %d of %d in partition %d", c.session, got, end, p)
				}
			}
		}
		for p, end := range ends {
			if got := group.position(p); got < end && behind == "" {
				behind = fmt.Sprintf("group %s committed %d of %d in partition %d", checkedGroup, got, end, p)
			}
		}
		if behind == "" {
			return
		}
		select {
		case <-waitCtx.Done():
			t.Errorf("liveness: consumers did not poll (or the group commit) up to the high watermark within %v: %s", consumerCatchUpTimeout, behind)
			return
		case <-ticker.C:
		}
	}
}

// historyDir is $FJORD_FAULT_HISTORY_DIR, created, when it is set.
func historyDir(t *testing.T) (string, bool) {
	t.Helper()
	dir := os.Getenv("FJORD_FAULT_HISTORY_DIR")
	if dir == "" {
		return "", false
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("FJORD_FAULT_HISTORY_DIR: %v", err)
		return "", false
	}
	return dir, true
}

// saveHistory writes a run's history, final reads and report as JSON into
// $FJORD_FAULT_HISTORY_DIR, when set, for replay with checker.CheckReads.
func saveHistory(t *testing.T, name string, hist checker.History, final checker.FinalReads, report checker.Report) {
	t.Helper()
	dir, ok := historyDir(t)
	if !ok {
		return
	}
	base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name() + "_" + name)
	files := map[string]any{"history.json": hist, "final.json": final.Uncommitted, "report.json": report}
	if final.Committed != nil {
		files["final-committed.json"] = final.Committed
	}
	for suffix, v := range files {
		data, err := json.Marshal(v)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, base+"."+suffix), data, 0o644)
		}
		if err != nil {
			t.Errorf("saving %s: %v", suffix, err)
		}
	}
}

// saveServerLogs writes each server's output into
// $FJORD_FAULT_HISTORY_DIR, when set, beside the history: a slow step
// that passed leaves no log otherwise.
func saveServerLogs(t *testing.T, servers []*fjordtest.Server) {
	t.Helper()
	dir, ok := historyDir(t)
	if !ok {
		return
	}
	base := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	for i, s := range servers {
		name := filepath.Join(dir, fmt.Sprintf("%s.node-%d.log", base, i+1))
		if err := os.WriteFile(name, []byte(s.Log()), 0o644); err != nil {
			t.Errorf("saving the log of node %d: %v", i+1, err)
		}
	}
}

func leaderOf(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, partition int32) int32 {
	t.Helper()
	var leader int32 = -1
	eventually(t, ctx, "partition leader", func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		leader = md.Topics[topic].Partitions[partition].Leader
		return leader > 0, fmt.Sprint(leader)
	})
	return leader
}
