package assign

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestBalancerWithBroker runs the "stream" protocol through a real fjord
// broker and franz-go: two instances of one thread split four stateless
// tasks, and each learns where every partition lives.
func TestBalancerWithBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker")
	}
	srv := fjordtest.Start(t, fjordtest.Options{Config: map[string]string{
		"group.initial.rebalance.delay.ms": "0",
		"offsets.topic.num.partitions":     "1",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := kadm.NewClient(admin).CreateTopic(ctx, 4, 1, nil, "source"); err != nil {
		t.Fatal(err)
	}
	plan := func(_ context.Context, counts map[string]int32) ([]TaskInfo, func(TaskID) []TopicPartition, map[TaskID]int64, error) {
		if counts["source"] != 4 {
			return nil, nil, nil, fmt.Errorf("partition counts %v", counts)
		}
		return tasks(4, false), func(t TaskID) []TopicPartition { return []TopicPartition{{"source", t.Partition}} }, nil, nil
	}
	var balancers []*Balancer
	var clients []*kgo.Client
	for _, process := range []string{"a", "b"} {
		b, err := NewBalancer(BalancerConfig{Context: ctx, Assignor: DefaultConfig(), Plan: plan,
			Subscription: func() Subscription { return Subscription{ProcessID: process, Endpoint: process + ":7070"} }})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.ConsumerGroup("app"), kgo.ConsumeTopics("source"),
			kgo.Balancers(b), kgo.MaxVersions(kversion.V3_6_0())) // the classic group protocol
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		balancers, clients = append(balancers, b), append(clients, cl)
	}
	for !split(balancers) {
		for _, cl := range clients { // polling drives each member's rebalance
			pollCtx, stop := context.WithTimeout(ctx, 100*time.Millisecond)
			cl.PollFetches(pollCtx)
			stop()
		}
		if ctx.Err() != nil {
			t.Fatalf("no even split: %+v", lastAssignments(balancers))
		}
	}
}

// split reports whether both members hold two tasks each and know the
// other's partitions.
func split(balancers []*Balancer) bool {
	var all []TaskID
	for _, a := range lastAssignments(balancers) {
		if len(a.Active) != 2 || len(a.PartitionsByHost) != 2 || len(a.PartitionsByHost["a:7070"]) != 2 {
			return false
		}
		all = append(all, a.Active...)
	}
	return slices.Equal(sortedTasks(all), ids("0_0 0_1 0_2 0_3"))
}

func lastAssignments(balancers []*Balancer) []Assignment {
	var out []Assignment
	for _, b := range balancers {
		a, _ := b.LastAssignment()
		out = append(out, a)
	}
	return out
}
