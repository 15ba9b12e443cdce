package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/clustertest"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// freeLoopbackPorts returns n distinct free ports for controller
// listeners (clustertest.FreeLoopbackPorts).
func freeLoopbackPorts(t *testing.T, n int) []int { return clustertest.FreeLoopbackPorts(t, n) }

// nodeClient returns a client whose requests go to addr only.
func nodeClient(t *testing.T, addr string) *kgo.Broker {
	t.Helper()
	return newKgo(t, addr).SeedBrokers()[0]
}

func nodeMetadata(ctx context.Context, b *kgo.Broker) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	resp, err := b.Request(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

func nodeCreateTopic(ctx context.Context, b *kgo.Broker, name string, partitions int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, partitions, 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10_000
	resp, err := b.Request(ctx, req)
	if err != nil {
		return err
	}
	return kerr.ErrorForCode(resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode)
}

func topicID(md *kmsg.MetadataResponse, name string) ([16]byte, bool) {
	for _, t := range md.Topics {
		if t.Topic != nil && *t.Topic == name && t.ErrorCode == 0 {
			return t.TopicID, true
		}
	}
	return [16]byte{}, false
}

var statusLeader = regexp.MustCompile(`(?m)^Leader:\s+(\d+)$`)

// clusterStatus runs `fjord cluster status` against controller addresses.
func clusterStatus(t *testing.T, controllers []string) (string, int, error) {
	t.Helper()
	out, errOut, err := fjordtest.Run(t, nil, "cluster", "status", "--timeout", "5s",
		"--bootstrap-controller", strings.Join(controllers, ","))
	if err != nil {
		return out + errOut, -1, err
	}
	m := statusLeader.FindStringSubmatch(out)
	if m == nil {
		return out, -1, fmt.Errorf("no leader in %q", out)
	}
	id, _ := strconv.Atoi(m[1])
	return out, id, nil
}

// TestClusterQuorum starts three combined nodes and checks that metadata
// written through any node reaches all, and that the quorum survives the
// SIGKILL of its leader, which then restarts and catches up.
func TestClusterQuorum(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	ports := freeLoopbackPorts(t, 3)
	var voters, controllers []string
	for i, p := range ports {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, addr))
		controllers = append(controllers, addr)
	}
	var opts []fjordtest.Options
	for i := range ports {
		opts = append(opts, fjordtest.Options{Args: []string{"--node-id", strconv.Itoa(i + 1),
			"--controllers", strings.Join(voters, ",")}})
	}
	servers := fjordtest.StartAll(t, opts...)
	clients := make([]*kgo.Broker, len(servers))
	for i, s := range servers {
		clients[i] = nodeClient(t, s.Addr)
	}
	for i, c := range clients {
		eventually(t, ctx, fmt.Sprintf("node %d lists three brokers", i+1), func() (bool, string) {
			md, err := nodeMetadata(ctx, c)
			if err != nil {
				return false, err.Error()
			}
			return len(md.Brokers) == 3, fmt.Sprintf("%d brokers", len(md.Brokers))
		})
	}

	// Created through node 2, whether or not it leads: it forwards.
	if err := nodeCreateTopic(ctx, clients[1], "orders", 3); err != nil {
		t.Fatalf("create via node 2: %v", err)
	}
	md, err := nodeMetadata(ctx, clients[1])
	if err != nil {
		t.Fatal(err)
	}
	id, ok := topicID(md, "orders")
	if !ok {
		t.Fatal("node 2 does not show the topic it just created")
	}
	waitTopicOn := func(i int, name string, want [16]byte) {
		t.Helper()
		eventually(t, ctx, fmt.Sprintf("node %d shows %s", i+1, name), func() (bool, string) {
			md, err := nodeMetadata(ctx, clients[i])
			if err != nil {
				return false, err.Error()
			}
			got, ok := topicID(md, name)
			return ok && got == want, fmt.Sprintf("found %v id %x", ok, got)
		})
	}
	waitTopicOn(0, "orders", id)
	waitTopicOn(2, "orders", id)

	var out string
	var leader int
	eventually(t, ctx, "cluster status lists the quorum", func() (bool, string) {
		out, leader, err = clusterStatus(t, controllers)
		return err == nil && strings.Contains(out, "Voters: 3") && strings.Contains(out, "Brokers: 3 (3 alive, 0 fenced)"),
			fmt.Sprintf("%v\n%s", err, out)
	})
	t.Logf("status:\n%s", out)

	// And through a node that surely is a follower.
	follower := leader % len(servers)
	if err := nodeCreateTopic(ctx, clients[follower], "via-follower", 1); err != nil {
		t.Fatalf("create via follower node %d: %v", follower+1, err)
	}
	md, err = nodeMetadata(ctx, clients[follower])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := topicID(md, "via-follower"); !ok {
		t.Fatal("a follower's CreateTopics returned before its own metadata showed the topic")
	}

	// SIGKILL the Raft leader; a survivor's status names a new one.
	killed := leader - 1
	servers[killed].Kill()
	var survivors []string
	survivor := -1
	for i := range servers {
		if i != killed {
			survivors = append(survivors, controllers[i])
			survivor = i
		}
	}
	eventually(t, ctx, "a new leader", func() (bool, string) {
		out, next, err := clusterStatus(t, survivors)
		return err == nil && next != leader && next > 0, fmt.Sprintf("%v\n%s", err, out)
	})
	eventually(t, ctx, "create through a survivor", func() (bool, string) {
		err := nodeCreateTopic(ctx, clients[survivor], "after-failover", 1)
		return err == nil || err == kerr.TopicAlreadyExists, fmt.Sprint(err)
	})
	md, err = nodeMetadata(ctx, clients[survivor])
	if err != nil {
		t.Fatal(err)
	}
	afterID, ok := topicID(md, "after-failover")
	if !ok {
		t.Fatal("survivor does not show the topic it created")
	}

	// The killed node restarts from its directory and catches up.
	servers[killed].Restart(t)
	clients[killed] = nodeClient(t, servers[killed].Addr)
	waitTopicOn(killed, "after-failover", afterID)
	waitTopicOn(killed, "orders", id)
	eventually(t, ctx, "restarted node alive in status", func() (bool, string) {
		out, _, err := clusterStatus(t, controllers)
		return err == nil && strings.Contains(out, "Brokers: 3 (3 alive, 0 fenced)") && !strings.Contains(out, "unreachable"),
			fmt.Sprintf("%v\n%s", err, out)
	})
}
