package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// rollingRestartConfig is the brokers' config of the rolling restart tests:
// fast failure detection, so that a run spends its time restarting rather
// than waiting out Kafka's defaults.
func rollingRestartConfig() map[string]string {
	return map[string]string{
		"replica.lag.time.max.ms":          "1500",
		"broker.session.timeout.ms":        "2000",
		"broker.heartbeat.interval.ms":     "300",
		"group.initial.rebalance.delay.ms": "0",
		"group.min.session.timeout.ms":     "1000",
	}
}

// TestClusterRollingRestart restarts all three nodes under the checked
// workload of RELIABILITY.md §3 (idempotent acks=all producers, assign
// consumers and a consumer group, all recorded and checked): once one
// node at a time, waiting for producing and consuming to make progress
// after each restart, and then, per seed, back to back, each next node
// stopped as soon as Metadata shows the ISR full again (§4 row 19,
// rolling_schedule_test.go). No acknowledged write may be lost and the
// consumers must catch up after the last restart.
func TestClusterRollingRestart(t *testing.T) {
	t.Run("one-at-a-time", testRollingRestartOneAtATime)
	for _, seed := range faultSeeds(t) {
		t.Run(fmt.Sprintf("back-to-back-seed-%d", seed), func(t *testing.T) { testRollingRestartBackToBack(t, seed) })
	}
}

// rollingTopic is the topic the rolling restart tests write and read.
const rollingTopic = "rolling"

// startRollingRun starts a three-node cluster, creates rollingTopic (3
// partitions, RF=3, min.insync.replicas=2) and the checked workload on it.
func startRollingRun(t *testing.T) (context.Context, []string, *checkedRun) {
	t.Helper()
	servers, controllers := startClusterControllers(t, 3, rollingRestartConfig())
	ctx := testContext(t, 4*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const partitions = 3
	createTopicRF(t, ctx, adm, rollingTopic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	return ctx, controllers, startCheckedRun(t, ctx, servers, adm, rollingTopic, partitions)
}

func testRollingRestartOneAtATime(t *testing.T) {
	ctx, _, run := startRollingRun(t)
	defer run.stop()
	servers, topic := run.servers, run.topic

	// A plain kgo group member besides the checked group: it must keep
	// consuming through every restart, not only catch up at the end.
	sink := &consumed{}
	startGroupMember(t, servers[0].Addr, "rolling-group", topic, "member", sink, classicVersions(), kgo.SeedBrokers(serverAddrs(servers)...))
	waitConsumed := func(what string) {
		t.Helper()
		want := sink.count() + 100
		eventually(t, ctx, what, func() (bool, string) {
			return sink.count() >= want, fmt.Sprintf("%d consumed, want %d", sink.count(), want)
		})
	}
	waitConsumed("consuming before the rolling restart")
	for i, s := range servers {
		t.Logf("restarting node %d", i+1)
		s.Restart(t)
		run.h.waitFor(t, ctx, 200, fmt.Sprintf("producing after restarting node %d", i+1))
		waitConsumed(fmt.Sprintf("consuming after restarting node %d", i+1))
	}
	run.finish(t, ctx, "rolling restart")
}

// testRollingRestartBackToBack runs one seeded back-to-back rolling restart
// (which may take the cluster below min.insync.replicas and its metadata
// quorum for a moment: only safety is required meanwhile), then waits for
// producing to go on and checks the history.
func testRollingRestartBackToBack(t *testing.T, seed int64) {
	ctx, controllers, run := startRollingRun(t)
	defer run.stop()
	servers := run.servers
	_, controller, err := clusterStatus(t, controllers)
	if err != nil {
		t.Fatalf("controller leader: %v", err)
	}
	plan := newRollingPlan(rand.New(rand.NewPCG(uint64(seed), 2)), len(servers), int32(controller))
	began := time.Now()
	rollingRestartBackToBack(t, ctx, servers, plan, rollingTopic)
	t.Logf("seed %d: %v done in %v", seed, plan, time.Since(began).Round(time.Millisecond))
	run.h.waitFor(t, ctx, 200, "producing after the rolling restart")
	run.finish(t, ctx, fmt.Sprintf("back-to-back seed %d", seed))
}
