package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestClusterRollingRestart restarts all three nodes one after the other
// (SIGTERM, which moves leadership away first) under a continuous
// idempotent acks=all producer: producing makes progress after every step
// and no acknowledged write is lost. Group consumption through the same
// restarts is not asserted here yet: a consumer group can stall when its
// coordinator moves during a rolling restart (issue 5 note).
func TestClusterRollingRestart(t *testing.T) {
	servers := startCluster(t, 3, map[string]string{
		"replica.lag.time.max.ms":      "1500",
		"broker.session.timeout.ms":    "2000",
		"broker.heartbeat.interval.ms": "300",
	})
	ctx := testContext(t, 4*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic, partitions = "rolling", 3
	createTopicRF(t, ctx, adm, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	h, stop := startCheckedProducer(t, ctx, servers, topic, partitions)
	defer stop()

	h.waitFor(t, ctx, 200, "before the rolling restart")
	for i, s := range servers {
		t.Logf("restarting node %d", i+1)
		s.Restart(t)
		h.waitFor(t, ctx, 200, fmt.Sprintf("producing after restarting node %d", i+1))
	}
	stop()

	checkAckedWrites(t, ctx, servers[0].Addr, adm, topic, h.acked)
}
