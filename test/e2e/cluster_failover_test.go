package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// ackedWrite is a send the cluster acknowledged: the checker's history.
type ackedWrite struct {
	partition int32
	offset    int64
	value     string
}

// history records acknowledged writes from the producer goroutine.
type history struct {
	mu    sync.Mutex
	acked []ackedWrite
	grew  chan struct{}
}

func (h *history) add(w ackedWrite) {
	h.mu.Lock()
	h.acked = append(h.acked, w)
	h.mu.Unlock()
	select {
	case h.grew <- struct{}{}:
	default:
	}
}

func (h *history) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.acked)
}

// waitFor waits until n more writes than now were acknowledged: progress,
// the liveness half of each fault step.
func (h *history) waitFor(t *testing.T, ctx context.Context, more int, what string) {
	t.Helper()
	want := h.len() + more
	for h.len() < want {
		select {
		case <-h.grew:
		case <-ctx.Done():
			t.Fatalf("%s: only %d of %d acknowledged writes", what, h.len(), want)
		}
	}
}

// faultSeeds are the schedules TestClusterFailover runs; FJORD_FAULT_SEEDS
// (comma-separated) runs others, or more, on demand.
func faultSeeds(t *testing.T) []int64 {
	env := os.Getenv("FJORD_FAULT_SEEDS")
	if env == "" {
		return []int64{1, 2}
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

// TestClusterFailover runs idempotent acks=all producers against a
// three-node cluster (RF=3, min.insync.replicas=2) while a seeded schedule
// SIGKILLs a partition leader, a follower and the controller leader, and
// SIGSTOPs a follower, healing each in turn. After every fault and every
// heal, producing must make progress; at the end a final read must show
// every acknowledged value at its acknowledged offset and no value twice.
func TestClusterFailover(t *testing.T) {
	for _, seed := range faultSeeds(t) {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) { runFaultSchedule(t, seed) })
	}
}

func runFaultSchedule(t *testing.T, seed int64) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	servers, controllers := startClusterControllers(t, 3, map[string]string{
		"replica.lag.time.max.ms":      "1500",
		"broker.session.timeout.ms":    "2000",
		"broker.heartbeat.interval.ms": "300",
	})
	ctx := testContext(t, 4*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic, partitions = "checked", 3
	createTopicRF(t, ctx, adm, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})

	h, stop := startCheckedProducer(t, ctx, servers, topic, partitions)
	defer stop()

	h.waitFor(t, ctx, 300, "before faults")
	followerOf := func(p int32) int32 {
		leader := leaderOf(t, ctx, adm, topic, p)
		f := int32(rng.IntN(3) + 1)
		for f == leader {
			f = int32(rng.IntN(3) + 1)
		}
		return f
	}
	faults := []struct {
		name string
		run  func() (node int32, heal func())
	}{
		{"SIGKILL a partition leader", func() (int32, func()) {
			n := leaderOf(t, ctx, adm, topic, int32(rng.IntN(partitions)))
			servers[n-1].Kill()
			return n, func() { servers[n-1].Restart(t) }
		}},
		{"SIGKILL a follower", func() (int32, func()) {
			n := followerOf(int32(rng.IntN(partitions)))
			servers[n-1].Kill()
			return n, func() { servers[n-1].Restart(t) }
		}},
		{"SIGSTOP a follower", func() (int32, func()) {
			n := followerOf(int32(rng.IntN(partitions)))
			servers[n-1].Pause()
			return n, servers[n-1].Resume
		}},
		{"SIGKILL the controller leader", func() (int32, func()) {
			var n int
			eventually(t, ctx, "controller leader", func() (bool, string) {
				out, leader, err := clusterStatus(t, controllers)
				n = leader
				return err == nil && leader > 0, fmt.Sprintf("%v %s", err, out)
			})
			servers[n-1].Kill()
			return int32(n), func() { servers[n-1].Restart(t) }
		}},
	}
	rng.Shuffle(len(faults), func(i, j int) { faults[i], faults[j] = faults[j], faults[i] })
	for _, f := range faults {
		node, heal := f.run()
		t.Logf("seed %d: %s: node %d", seed, f.name, node)
		h.waitFor(t, ctx, 200, f.name)
		heal()
		h.waitFor(t, ctx, 150, "after healing: "+f.name)
	}
	stop()

	// Heal: every replica back in the ISR, then read everything.
	eventually(t, ctx, "full ISR", func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range md.Topics[topic].Partitions {
			if len(p.ISR) != 3 {
				return false, fmt.Sprintf("partition %d ISR %v", p.Partition, p.ISR)
			}
		}
		return true, ""
	})
	checkAckedWrites(t, ctx, servers[0].Addr, adm, topic, h.acked)

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

// startCheckedProducer runs an idempotent acks=all producer that sends
// unique values round-robin to the partitions and records every
// acknowledged one in the returned history until stop is called.
func startCheckedProducer(t *testing.T, ctx context.Context, servers []*fjordtest.Server, topic string, partitions int) (*history, func()) {
	t.Helper()
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.Addr)
	}
	h := &history{grew: make(chan struct{}, 1)}
	prodCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordDeliveryTimeout(90*time.Second), kgo.MetadataMinAge(100*time.Millisecond))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for seq := 0; prodCtx.Err() == nil; seq++ {
			r := &kgo.Record{Partition: int32(seq % partitions), Value: fmt.Appendf(nil, "v%d", seq)}
			if rec, err := cl.ProduceSync(prodCtx, r).First(); err == nil {
				h.add(ackedWrite{partition: rec.Partition, offset: rec.Offset, value: string(rec.Value)})
			}
		}
	})
	var once sync.Once
	return h, func() { once.Do(func() { cancel(); wg.Wait() }) }
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

// checkAckedWrites reads every partition from the beginning and checks the
// checker's rules: each acknowledged value at its acknowledged offset, no
// value at two offsets, offsets contiguous.
func checkAckedWrites(t *testing.T, ctx context.Context, addr string, adm *kadm.Client, topic string, acked []ackedWrite) {
	t.Helper()
	ends := offsetsOf(t, ctx, adm, topic, true)
	total := int(sumOffsets(ends))
	got := consumeKgo(t, ctx, addr, topic, total)
	at := map[int32]map[int64]string{}
	seen := map[string]bool{}
	for _, r := range got {
		if at[r.Partition] == nil {
			at[r.Partition] = map[int64]string{}
		}
		if seen[r.Value] {
			t.Errorf("duplicate: value %s appears twice", r.Value)
		}
		seen[r.Value] = true
		at[r.Partition][r.Offset] = r.Value
	}
	for p, end := range ends {
		for o := int64(0); o < end; o++ {
			if _, ok := at[p][o]; !ok {
				t.Errorf("partition %d: offset %d missing below the end %d", p, o, end)
			}
		}
	}
	lost := 0
	for _, w := range acked {
		if v := at[w.partition][w.offset]; v != w.value {
			lost++
			if lost <= 10 {
				t.Errorf("lost write: %s acknowledged at %d/%d, read %q there", w.value, w.partition, w.offset, v)
			}
		}
	}
	t.Logf("%d acknowledged writes, %d records read, %d lost", len(acked), len(got), lost)
}
