package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The back-to-back rolling restart of RELIABILITY.md §4 row 19, as operators
// script it: SIGTERM a node (a controlled shutdown), restart it, and stop the
// next one as soon as Metadata shows every broker and every partition with
// a leader and a full ISR. A Metadata answer can be a moment stale (the
// node answering has not applied the last change yet), so on fjord the next
// stop often comes while the previous node is still on its way down or
// catching up: the restarts overlap each other's recovery, and controlled
// shutdowns and controller hand-overs follow each other within
// milliseconds. That is the schedule that once lost acknowledged records
// (issue 12), so it is run as it is rather than smoothed into waits.

// rollingPlan is one seeded back-to-back rolling restart.
type rollingPlan struct {
	// order lists the nodes (1-based) in the order they are stopped.
	order []int32
	// pauses[i] is waited after the ISR looked full and before stopping
	// order[i+1]: zero mostly, sometimes a little, so that a seed also
	// stops a node in the middle of the previous one's recovery.
	pauses []time.Duration
}

// newRollingPlan draws a plan: a random order, half the time led by the
// controller leader (controller hand-overs at each step), and pauses of 0
// (most), 20, 100 or 400 ms.
func newRollingPlan(rng *rand.Rand, nodes int, controller int32) rollingPlan {
	var plan rollingPlan
	for _, i := range rng.Perm(nodes) {
		plan.order = append(plan.order, int32(i+1))
	}
	if controller > 0 && rng.IntN(2) == 0 {
		for i, n := range plan.order {
			if n == controller {
				plan.order[0], plan.order[i] = plan.order[i], plan.order[0]
			}
		}
	}
	choices := []time.Duration{0, 0, 0, 20 * time.Millisecond, 100 * time.Millisecond, 400 * time.Millisecond}
	for range nodes - 1 {
		plan.pauses = append(plan.pauses, choices[rng.IntN(len(choices))])
	}
	return plan
}

func (p rollingPlan) String() string {
	return fmt.Sprintf("order %v, pauses %v", p.order, p.pauses)
}

// rollingRestartBackToBack runs plan against servers and returns once every
// node has been restarted and is ready again. Each stopped node is
// relaunched as soon as its process exits, while the schedule goes on.
func rollingRestartBackToBack(t *testing.T, ctx context.Context, servers []*fjordtest.Server, plan rollingPlan, topic string) {
	t.Helper()
	clients := make([]*kgo.Broker, len(servers))
	for i, s := range servers {
		clients[i] = nodeClient(t, s.Addr)
	}
	var waits []func()
	stopped := map[int32]bool{}
	relaunched := map[int32]bool{}
	relaunchExited := func() {
		for n := range stopped {
			if !relaunched[n] && servers[n-1].Exited() {
				relaunched[n] = true
				waits = append(waits, servers[n-1].Relaunch(t))
			}
		}
	}
	for i, n := range plan.order {
		servers[n-1].Terminate()
		stopped[n] = true
		if i == len(plan.order)-1 {
			break
		}
		waitISRLooksFull(t, ctx, servers, clients, topic, relaunchExited)
		if d := plan.pauses[i]; d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				t.Fatalf("rolling restart: %v", ctx.Err())
			}
		}
	}
	relaunchExited()
	for _, n := range plan.order {
		if !relaunched[n] {
			servers[n-1].WaitExited(shutdownTimeout)
		}
	}
	relaunchExited()
	for _, wait := range waits {
		wait()
	}
}

// waitISRLooksFull polls every node that is running until one answers a
// Metadata request listing every broker and every partition of topic with a
// leader and all replicas in sync, calling tick between rounds.
func waitISRLooksFull(t *testing.T, ctx context.Context, servers []*fjordtest.Server, clients []*kgo.Broker, topic string, tick func()) {
	t.Helper()
	last := "no answer yet"
	for {
		tick()
		for i, c := range clients {
			if servers[i].Exited() {
				continue
			}
			full, desc := isrLooksFull(ctx, c, len(servers), topic)
			if full {
				return
			}
			last = fmt.Sprintf("node %d: %s", i+1, desc)
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("rolling restart: the ISR never looked full again: %s", last)
		}
	}
}

// shutdownTimeout bounds a controlled shutdown: the fencing at shutdown
// gives up after 5 s, and closing the logs takes a moment more.
const shutdownTimeout = 30 * time.Second

// metadataProbeTimeout bounds one Metadata request of the schedule: a node
// on its way down may not answer at all.
const metadataProbeTimeout = 300 * time.Millisecond

func isrLooksFull(ctx context.Context, c *kgo.Broker, brokers int, topic string) (bool, string) {
	rctx, cancel := context.WithTimeout(ctx, metadataProbeTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := c.Request(rctx, req)
	if err != nil {
		return false, err.Error()
	}
	md := resp.(*kmsg.MetadataResponse)
	if len(md.Brokers) != brokers {
		return false, fmt.Sprintf("%d brokers", len(md.Brokers))
	}
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		return false, "topic not listed"
	}
	for _, p := range md.Topics[0].Partitions {
		if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
			return false, fmt.Sprintf("partition %d leader %d ISR %v replicas %v", p.Partition, p.Leader, p.ISR, p.Replicas)
		}
	}
	return true, ""
}
