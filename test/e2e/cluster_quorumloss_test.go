package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClusterTwoOfThreeDown kills two of three nodes: acks=all produce with
// min.insync.replicas=2 must not be acknowledged, and once the nodes return
// the cluster heals by itself, with the records acknowledged before intact.
func TestClusterTwoOfThreeDown(t *testing.T) {
	servers := startCluster(t, 3, fastFailover())
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic = "two-down"
	createTopicRF(t, ctx, adm, topic, 1, 3, map[string]string{"min.insync.replicas": "2"})

	before := keyedWorkload(200, 10, time.Now())
	cl := newKgo(t, servers[0].Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	acked := produceKgo(t, ctx, cl, topic, before, nil)

	leader := leaderOf(t, ctx, adm, topic, 0)
	var down []int
	for i := range servers {
		if int32(i+1) != leader {
			servers[i].Kill()
			down = append(down, i)
		}
	}
	t.Logf("killed nodes %v, leader %d left alone", []int{down[0] + 1, down[1] + 1}, leader)

	// Not idempotent, so the produce itself is what is refused, not the
	// producer id request that needs the (lost) controller quorum.
	lone := newKgo(t, servers[leader-1].Addr, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordDeliveryTimeout(5*time.Second), kgo.DefaultProduceTopic(topic))
	shortCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	res := lone.ProduceSync(shortCtx, &kgo.Record{Value: []byte("must-not-be-acked")})
	cancel()
	if err := res.FirstErr(); err == nil {
		r, _ := res.First()
		t.Fatalf("acks=all produce acknowledged at offset %d with two of three replicas down", r.Offset)
	} else {
		t.Logf("refused as expected: %v", err)
	}

	for _, i := range down {
		servers[i].Restart(t)
	}
	healed := newKgo(t, servers[down[0]].Addr, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))
	eventually(t, ctx, "acks=all produce accepted again", func() (bool, string) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		err := healed.ProduceSync(c, &kgo.Record{Value: []byte("after-heal")}).FirstErr()
		return err == nil, fmt.Sprint(err)
	})
	got := consumeKgo(t, ctx, servers[down[1]].Addr, topic, len(acked)+1)
	for _, a := range acked {
		found := false
		for _, g := range got {
			if g.Offset == a.Offset && g.Value == a.Value {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("acknowledged %s at offset %d lost after healing", a.Value, a.Offset)
		}
	}
}
