package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestClusterAddBrokerAndReassign adds a fourth, broker-only node to a
// three-node cluster and moves a partition's replicas onto it with
// AlterPartitionReassignments: the reassignment completes by itself once
// the new replica caught up, the data stays readable, the new replica's log
// equals the leader's, and the replica that left is deleted.
func TestClusterAddBrokerAndReassign(t *testing.T) {
	servers, controllers := startClusterControllers(t, 3, fastFailover())
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic = "moving"
	createTopicRF(t, ctx, adm, topic, 2, 3, map[string]string{"min.insync.replicas": "2"})
	produced := keyedWorkload(600, 20, time.Now())
	cl := newKgo(t, servers[0].Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	produceKgo(t, ctx, cl, topic, produced, nil)

	fourth := startFourthBroker(t, ctx, servers[0].Addr, controllers)

	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	old := md.Topics[topic].Partitions[0].Replicas
	leaving := old[0]
	target := append([]int32{4}, old[1:]...)
	spec := fmt.Sprintf("%s:0=%s", topic, joinBrokerIDs(target))
	out, errOut, err := fjordtest.Run(t, nil, "partition", "reassign", "--brokers", servers[0].Addr, spec)
	if err != nil {
		t.Fatalf("fjord partition reassign %s: %v\n%s%s", spec, err, out, errOut)
	}
	t.Logf("reassigning %s-0 from %v to %v", topic, old, target)

	waitReassigned(t, ctx, cl, adm, topic, target)

	checkConsumed(t, produced, consumeKgo(t, ctx, servers[1].Addr, topic, len(produced)), ignoreTimestamps)
	dirOf := func(s *fjordtest.Server) string { return filepath.Join(s.DataDir, topic+"-0") }
	eventually(t, ctx, "new replica holds the leader's bytes", func() (bool, string) {
		newLog, err1 := os.ReadFile(filepath.Join(dirOf(fourth), "00000000000000000000.log"))
		keeper := servers[target[1]-1]
		oldLog, err2 := os.ReadFile(filepath.Join(dirOf(keeper), "00000000000000000000.log"))
		return err1 == nil && err2 == nil && len(newLog) > 0 && bytes.Equal(newLog, oldLog),
			fmt.Sprintf("%v %v sizes %d %d", err1, err2, len(newLog), len(oldLog))
	})
	eventually(t, ctx, "the replica that left is deleted", func() (bool, string) {
		_, err := os.Stat(dirOf(servers[leaving-1]))
		return os.IsNotExist(err), fmt.Sprint(err)
	})
}

// fastFailover is the configuration of the cluster tests: followers leave
// the ISR, and silent brokers are fenced, within seconds.
func fastFailover() map[string]string {
	return map[string]string{
		"replica.lag.time.max.ms":      "1500",
		"broker.session.timeout.ms":    "2000",
		"broker.heartbeat.interval.ms": "300",
	}
}

// startFourthBroker adds broker-only node 4 to the cluster of controllers
// and waits until the node at addr lists four brokers.
func startFourthBroker(t *testing.T, ctx context.Context, addr string, controllers []string) *fjordtest.Server {
	t.Helper()
	var voters []string
	for i, c := range controllers {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, c))
	}
	port := freeLoopbackPorts(t, 1)[0]
	fourth := fjordtest.Start(t, fjordtest.Options{Args: []string{"--node-id", "4", "--process-roles", "broker",
		"--controllers", strings.Join(voters, ","), "--controller-listen", fmt.Sprintf("127.0.0.1:%d", port)},
		Config: map[string]string{"broker.heartbeat.interval.ms": "300"}})
	eventually(t, ctx, "four brokers", func() (bool, string) {
		md, err := nodeMetadata(ctx, nodeClient(t, addr))
		if err != nil {
			return false, err.Error()
		}
		return len(md.Brokers) == 4, fmt.Sprintf("%d brokers", len(md.Brokers))
	})
	return fourth
}

// waitReassigned waits until partition 0 of topic has no reassignment in
// progress, the target replicas, and all of them in the ISR.
func waitReassigned(t *testing.T, ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic string, target []int32) {
	t.Helper()
	eventually(t, ctx, "reassignment completes", func() (bool, string) {
		list, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl)
		if err != nil {
			return false, err.Error()
		}
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		p := md.Topics[topic].Partitions[0]
		done := len(list.Topics) == 0 && slices.Equal(p.Replicas, target) && len(p.ISR) == len(target)
		return done, fmt.Sprintf("ongoing %d, replicas %v isr %v leader %d", len(list.Topics), p.Replicas, p.ISR, p.Leader)
	})
}

func joinBrokerIDs(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ",")
}
