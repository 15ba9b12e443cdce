package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestTxnChain is exactly-once consume-transform-produce under faults:
// three stages of copiers, each a kgo.GroupTransactSession in its own OS
// process (txn_chain_copier_test.go), copy the topic chain-in to chain-1,
// chain-1 to chain-2 and chain-2 to chain-3 on a three-node cluster (RF=3,
// min.insync.replicas=2; __transaction_state and __consumer_offsets are
// created by the brokers with RF 3), each stage reading read_committed in
// its own group with several members, while an idempotent acks=all
// producer feeds chain-in and a seeded schedule (txn_chain_faults_test.go)
// SIGKILLs brokers (the transaction coordinator of a copier's
// transactional id, the group coordinator of a stage's group, partition
// leaders) and copier processes, back to back and during recovery. At the
// end (txn_chain_check_test.go) the committed contents of every stage must
// hold each input value exactly once, in order per key, and nothing else;
// read_committed readers must never have seen an aborted value; every
// transaction must have one outcome in all its partitions; and each
// stage's group must have committed exactly past what it copied. It runs
// on the classic group protocol and on the consumer protocol (KIP-848).
//
// Knobs, all optional: FJORD_TXN_CHAIN_SEEDS ("1-10", "1,4,7") picks the
// schedules and FJORD_TXN_CHAIN_STEPS their length (3; 12 draws every kind
// once); FJORD_TXN_CHAIN_FAULTS keeps the fault kinds whose name contains
// it ("SIGSTOP"); FJORD_TXN_CHAIN_HISTORY_DIR keeps each run's history as
// JSON; FJORD_TXN_CHAIN_LOG_DIR keeps every copier's output and broker's
// log, and FJORD_TXN_CHAIN_COPIER_LOG_LEVEL (debug, info) makes the
// copiers' kgo logs say more.
func TestTxnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test starts a cluster")
	}
	seeds, steps := txnChainSeeds(t), txnChainSteps(t)
	for _, protocol := range []string{"classic", "kip848"} {
		t.Run(protocol, func(t *testing.T) {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
					runTxnChain(t, protocol == "kip848", seed, steps)
				})
			}
		})
	}
}

// txnChainSeeds parses FJORD_TXN_CHAIN_SEEDS: comma-separated seeds or
// ranges; by default one seed, to keep CI time.
func txnChainSeeds(t *testing.T) []int64 {
	env := os.Getenv("FJORD_TXN_CHAIN_SEEDS")
	if env == "" {
		return []int64{1}
	}
	var seeds []int64
	for _, f := range strings.Split(env, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(f), "-")
		first, err := strconv.ParseInt(lo, 10, 64)
		last := first
		if err == nil && isRange {
			last, err = strconv.ParseInt(hi, 10, 64)
		}
		if err != nil || last < first {
			t.Fatalf("FJORD_TXN_CHAIN_SEEDS: want seeds or ranges like 1-10,15; got %q", env)
		}
		for s := first; s <= last; s++ {
			seeds = append(seeds, s)
		}
	}
	return seeds
}

// txnChainSteps is how many faults one schedule injects: 3 by default,
// which with the composite faults kills several brokers and copiers and
// keeps the test near 90 s under -race on two cores; FJORD_TXN_CHAIN_STEPS
// asks for longer runs.
func txnChainSteps(t *testing.T) int {
	env := os.Getenv("FJORD_TXN_CHAIN_STEPS")
	if env == "" {
		return 3
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 0 {
		t.Fatalf("FJORD_TXN_CHAIN_STEPS: want a number, got %q", env)
	}
	return n
}

// The chain's shape.
const (
	txnChainStages     = 3
	txnChainPartitions = 3
	txnChainKeys       = 20
	// txnChainCopiers is each stage's group size at the start: two, so
	// that killing one moves partitions to the other (a rebalance), and
	// one transaction can span partitions.
	txnChainCopiers = 2
)

// txnChainTopic is the topic stage s writes (0: the input).
func txnChainTopic(stage int) string {
	if stage == 0 {
		return "chain-in"
	}
	return fmt.Sprintf("chain-%d", stage)
}

// Pacing and bounds of the input producer: a steady trickle, so that the
// chain has work whenever a fault hits, light enough for two cores under
// -race with three brokers and six or more copier processes.
const (
	txnChainInputInterval = 20 * time.Millisecond
	txnChainInputMax      = 20000
)

// chainProgressTimeout bounds each wait for the chain to move: a stage
// whose open transaction was left by a killed copier with no successor
// waits out copierTxnTimeout plus the coordinator's 10 s check, and a
// classic group waits out a killed member's session timeout.
const chainProgressTimeout = 90 * time.Second

// chainDrainTimeout bounds how long the chain takes, once the faults are
// healed and the input stops, to copy everything to the last stage
// (liveness).
const chainDrainTimeout = 90 * time.Second

// txnChainBrokerConfig is the brokers' configuration: fast failure
// detection as in the failover tests, the group timings of the group
// tests, and few __transaction_state partitions so that the coordinators
// of the copiers' ids share brokers.
func txnChainBrokerConfig(kip848 bool) map[string]string {
	cfg := groupBrokerConfig()
	if kip848 {
		cfg = kip848BrokerConfig()
	}
	cfg["replica.lag.time.max.ms"] = "1500"
	cfg["broker.session.timeout.ms"] = "2000"
	cfg["broker.heartbeat.interval.ms"] = "300"
	cfg["transaction.state.log.num.partitions"] = "5"
	return cfg
}

// txnChain is one run: the cluster, the input producer, the monitors
// reading every topic read_committed, and the copiers.
type txnChain struct {
	t        *testing.T
	kip848   bool
	seed     int64
	began    time.Time
	servers  []*fjordtest.Server
	addrs    []string
	adm      *kadm.Client
	input    *chainInput
	monitors []*topicMonitor // by stage, 0 the input
	pool     *copierPool
	offsets  *offsetSampler
	steps    []string // what the schedule did, for the history
}

func runTxnChain(t *testing.T, kip848 bool, seed int64, steps int) {
	c := &txnChain{t: t, kip848: kip848, seed: seed, began: time.Now()}
	c.servers = startCluster(t, 3, txnChainBrokerConfig(kip848))
	c.addrs = serverAddrs(c.servers)
	t.Cleanup(c.saveBrokerLogs)
	ctx := testContext(t, 4*time.Minute+time.Duration(steps)*time.Minute)
	c.adm = kadm.NewClient(newKgo(t, c.addrs[0], kgo.SeedBrokers(c.addrs...), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.RequestTimeoutOverhead(clientRequestTimeout)))
	for stage := 0; stage <= txnChainStages; stage++ {
		createTopicRF(t, ctx, c.adm, txnChainTopic(stage), txnChainPartitions, 3, map[string]string{"min.insync.replicas": "2"})
	}
	c.input = startChainInput(t, ctx, c.addrs)
	defer c.input.stop()
	c.monitors = startTopicMonitors(t, ctx, c.addrs, c.input.h)
	prefix := "chain-classic"
	if kip848 {
		prefix = "chain-kip848"
	}
	c.pool = newCopierPool(t, c.addrs, kip848, prefix, txnChainCopiers)
	c.offsets = startOffsetSampler(t, ctx, c.adm, prefix)
	c.waitProgress(ctx, 100, "warm-up: the first records through every stage")
	c.checkProtocol(ctx, prefix)
	c.logf("chain flowing: %s", c.progress())

	runTxnChainSchedule(t, ctx, c, seed, steps)
	c.logf("faults done: %s", c.progress())
	c.finish(ctx)
	c.logf("checked")
}

// logf logs with the time since the run began, to line up with the
// brokers' and copiers' logs.
func (c *txnChain) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("%s seed %d %v (%s): %s", map[bool]string{false: "classic", true: "kip848"}[c.kip848], c.seed,
		time.Since(c.began).Round(time.Millisecond), time.Now().UTC().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// progress describes how far each stage got.
func (c *txnChain) progress() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("input acked %d", c.input.h.len()))
	for stage, m := range c.monitors {
		parts = append(parts, fmt.Sprintf("%s read %d", txnChainTopic(stage), m.count()))
	}
	return strings.Join(parts, ", ")
}

// waitProgress waits until records the input sends from now on, more
// than more of them, came out of the last stage in every partition: the
// whole chain moves. It is stuck, and the test fails, if that takes
// longer than chainProgressTimeout.
func (c *txnChain) waitProgress(ctx context.Context, more int, what string) {
	c.t.Helper()
	last := c.monitors[txnChainStages]
	mark := c.input.sent() + more
	waitCtx, cancel := context.WithTimeout(ctx, chainProgressTimeout)
	defer cancel()
	slow := time.NewTimer(chainSlowProgress)
	defer slow.Stop()
	for {
		ok, where := last.reached(mark)
		if ok {
			return
		}
		select {
		case <-last.grew:
		case <-slow.C:
			c.logf("%s: slow, still %s; %s; copiers: %s; cluster: %s", what, where, c.progress(), c.pool.status(), c.diagnose(ctx))
		case <-waitCtx.Done():
			c.t.Fatalf("%s: records sent after input sequence %d did not come through the chain within %v: %s; %s; copiers: %s; cluster: %s",
				what, mark, chainProgressTimeout, where, c.progress(), c.pool.status(), c.diagnose(ctx))
		}
	}
}

// chainSlowProgress is how long a progress wait goes before it logs the
// cluster's view (diagnose), to explain a stall that ends later.
const chainSlowProgress = 15 * time.Second

// diagnose describes what the cluster answers now: each chain and
// coordinator topic's leaders and ISRs, and the coordinators of the
// stages' groups and the copiers' transactional ids.
func (c *txnChain) diagnose(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var b strings.Builder
	md, err := c.adm.Metadata(ctx, chainISRTopics()...)
	if err != nil {
		return "Metadata: " + err.Error()
	}
	fmt.Fprintf(&b, "brokers %v, controller %d", md.Brokers.NodeIDs(), md.Controller)
	for _, topic := range chainISRTopics() {
		fmt.Fprintf(&b, "; %s:", topic)
		for _, p := range md.Topics[topic].Partitions.Sorted() {
			fmt.Fprintf(&b, " %d:%d%v", p.Partition, p.Leader, p.ISR)
		}
	}
	var groups, ids []string
	for stage := 1; stage <= txnChainStages; stage++ {
		groups = append(groups, chainGroup(c.pool.prefix, stage))
		for _, slot := range c.pool.live(stage) {
			ids = append(ids, slot.txnID)
		}
	}
	for _, r := range c.adm.FindGroupCoordinators(ctx, groups...).Sorted() {
		fmt.Fprintf(&b, "; %s on %d %v", r.Name, r.NodeID, r.Err)
	}
	for _, r := range c.adm.FindTxnCoordinators(ctx, ids...).Sorted() {
		fmt.Fprintf(&b, "; %s on %d %v", r.Name, r.NodeID, r.Err)
	}
	return b.String()
}

// checkProtocol checks that every stage's group runs the protocol asked
// for, so that a client falling back to the other protocol does not pass
// unnoticed.
func (c *txnChain) checkProtocol(ctx context.Context, prefix string) {
	c.t.Helper()
	for stage := 1; stage <= txnChainStages; stage++ {
		group := chainGroup(prefix, stage)
		if c.kip848 {
			d := describeConsumerGroup(c.t, ctx, newKgo(c.t, c.addrs[0], kgo.SeedBrokers(c.addrs...)), group)
			if len(d.Members) == 0 {
				c.t.Fatalf("group %s: no consumer-protocol members (state %s)", group, d.State)
			}
			continue
		}
		described, err := c.adm.DescribeGroups(ctx, group)
		if err != nil {
			c.t.Fatalf("DescribeGroups %s: %v", group, err)
		}
		if d := described[group]; d.ProtocolType != "consumer" || len(d.Members) == 0 {
			c.t.Fatalf("group %s: protocol type %q, %d members, want a classic consumer group", group, d.ProtocolType, len(d.Members))
		}
	}
}

// chainInput is the input producer: idempotent, acks=all, one record every
// txnChainInputInterval, values "kKK-SSSSSS" (key, then the key's
// sequence), key k to partition k mod txnChainPartitions. Its sends go
// into a checker history, with the input monitor's polls.
type chainInput struct {
	h       *history
	invoked atomic.Int64 // sends invoked: the next sequence number
	stop    func()
}

// sent is the sequence number of the next value the input will send.
func (in *chainInput) sent() int { return int(in.invoked.Load()) }

func startChainInput(t *testing.T, ctx context.Context, addrs []string) *chainInput {
	t.Helper()
	in := &chainInput{h: newHistory()}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(txnChainTopic(0)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(90*time.Second), kgo.MetadataMinAge(100*time.Millisecond),
		kgo.ProduceRequestTimeout(clientRequestTimeout), kgo.RequestTimeoutOverhead(clientRequestTimeout))
	if err != nil {
		t.Fatalf("input producer: %v", err)
	}
	prodCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cl.Close()
		runChainInput(prodCtx, cl, in)
		flushCtx, cancelFlush := context.WithTimeout(ctx, producerFlushTimeout)
		defer cancelFlush()
		_ = cl.Flush(flushCtx) // what is still unanswered completes as info on Close
	})
	var once sync.Once
	in.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	return in
}

// inputSession is the input producer's session in the checker history.
const inputSession = producerSessionBase + 1

func runChainInput(ctx context.Context, cl *kgo.Client, in *chainInput) {
	h := in.h
	window := make(chan struct{}, producerWindow)
	ticker := time.NewTicker(txnChainInputInterval)
	defer ticker.Stop()
	for seq := 0; seq < txnChainInputMax; seq++ {
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			return
		}
		key := seq % txnChainKeys
		partition := int32(key % txnChainPartitions)
		value := fmt.Sprintf("k%02d-%06d", key, seq/txnChainKeys)
		id := h.rec.InvokeSend(inputSession, inputSession, partition, value)
		in.invoked.Add(1)
		// Not ctx: a cancelled context must not cut an idempotent send
		// short; stop flushes instead.
		cl.Produce(context.WithoutCancel(ctx), &kgo.Record{Partition: partition, Key: []byte(value[:3]), Value: []byte(value)},
			func(r *kgo.Record, err error) {
				defer func() { <-window }()
				switch {
				case err == nil:
					h.rec.SendOK(id, r.Offset)
					h.add(ackedWrite{partition: r.Partition, offset: r.Offset, value: value})
				case provesNothingAppended(err):
					h.rec.SendFail(id, err)
				default:
					h.rec.SendInfo(id, err)
				}
			})
	}
}
