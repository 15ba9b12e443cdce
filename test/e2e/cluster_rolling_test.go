package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterRollingRestart restarts all three nodes one after the other
// (SIGTERM, which moves leadership away first) under a continuous
// idempotent acks=all producer and a consumer group: producing and
// consuming make progress after every step, no acknowledged write is lost,
// and the group consumes every acknowledged value.
func TestClusterRollingRestart(t *testing.T) {
	servers := startCluster(t, 3, map[string]string{
		"replica.lag.time.max.ms":          "1500",
		"broker.session.timeout.ms":        "2000",
		"broker.heartbeat.interval.ms":     "300",
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "1000",
	})
	ctx := testContext(t, 4*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic, partitions = "rolling", 3
	createTopicRF(t, ctx, adm, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	h, stop := startCheckedProducer(t, ctx, servers, topic, partitions)
	defer stop()
	var seeds []string
	for _, s := range servers {
		seeds = append(seeds, s.Addr)
	}

	sink := &consumed{}
	startGroupMember(t, seeds[0], "rolling-group", topic, "member", sink, classicVersions(), kgo.SeedBrokers(seeds...))
	waitConsumed := func(what string) {
		t.Helper()
		want := sink.count() + 100
		eventually(t, ctx, what, func() (bool, string) {
			return sink.count() >= want, fmt.Sprintf("%d consumed, want %d", sink.count(), want)
		})
	}

	h.waitFor(t, ctx, 200, "before the rolling restart")
	waitConsumed("consuming before the rolling restart")
	for i, s := range servers {
		t.Logf("restarting node %d", i+1)
		s.Restart(t)
		h.waitFor(t, ctx, 200, fmt.Sprintf("producing after restarting node %d", i+1))
		waitConsumed(fmt.Sprintf("consuming after restarting node %d", i+1))
	}
	stop()

	// The whole history, not only the acknowledgements: a send whose
	// answer was lost in a restart ends as info and may be in the log.
	ends := offsetsOf(t, ctx, adm, topic, true)
	checkHistory(t, "rolling restart", h.rec.History(), finalRead(t, ctx, serverAddrs(servers), topic, ends))
	eventually(t, ctx, "the group consumed every acknowledged value", func() (bool, string) {
		seen := map[string]bool{}
		for _, r := range sink.snapshot() {
			seen[r.Value] = true
		}
		missing := 0
		for _, a := range h.acked {
			if !seen[a.value] {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d acknowledged values not consumed yet", missing, len(h.acked))
	})
}
