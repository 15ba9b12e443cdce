package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestClusterRoutesToLeaders spreads a replication-factor-1 topic over a
// three-node cluster: clients that follow Metadata produce and consume every
// record, and a broker asked about a partition it does not lead answers
// NOT_LEADER_OR_FOLLOWER instead of serving it.
func TestClusterRoutesToLeaders(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	ports := freeLoopbackPorts(t, 3)
	var voters []string
	for i, p := range ports {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, p))
	}
	var opts []fjordtest.Options
	for i := range ports {
		opts = append(opts, fjordtest.Options{Args: []string{"--node-id", strconv.Itoa(i + 1),
			"--controllers", strings.Join(voters, ",")}})
	}
	servers := fjordtest.StartAll(t, opts...)
	first := nodeClient(t, servers[0].Addr)
	eventually(t, ctx, "three brokers registered", func() (bool, string) {
		md, err := nodeMetadata(ctx, first)
		if err != nil {
			return false, err.Error()
		}
		return len(md.Brokers) == 3, fmt.Sprintf("%d brokers", len(md.Brokers))
	})
	const topic, partitions = "routed", 6
	if err := nodeCreateTopic(ctx, first, topic, partitions); err != nil {
		t.Fatal(err)
	}

	leaders := map[int32]int32{}
	eventually(t, ctx, "every partition has a leader", func() (bool, string) {
		md, err := nodeMetadata(ctx, first)
		if err != nil {
			return false, err.Error()
		}
		for _, mt := range md.Topics {
			if mt.Topic != nil && *mt.Topic == topic {
				for _, p := range mt.Partitions {
					leaders[p.Partition] = p.Leader
				}
			}
		}
		return len(leaders) == partitions, fmt.Sprint(leaders)
	})
	used := map[int32]bool{}
	for _, l := range leaders {
		used[l] = true
	}
	if len(used) < 2 {
		t.Fatalf("all partitions led by one broker: %v", leaders)
	}

	// One seed is enough: the client learns every broker from Metadata.
	seed := servers[1].Addr
	produced := keyedWorkload(600, 30, time.Now())
	cl := newKgo(t, seed, kgo.DefaultProduceTopic(topic))
	for _, r := range produced {
		rec := &kgo.Record{Key: []byte(r.Key), Value: []byte(r.Value), Timestamp: r.Timestamp}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	checkConsumed(t, produced, consumeKgo(t, ctx, seed, topic, len(produced)), ignoreTimestamps)

	// Ask each broker for a partition another broker leads.
	for node := int32(1); node <= 3; node++ {
		var other int32 = -1
		for p, l := range leaders {
			if l != node {
				other = p
				break
			}
		}
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = other, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := nodeClient(t, servers[node-1].Addr).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		code := resp.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode
		if code != kerr.NotLeaderForPartition.Code {
			t.Errorf("node %d asked for partition %d (led by %d): error %d, want NOT_LEADER_OR_FOLLOWER", node, other, leaders[other], code)
		}
	}
}
