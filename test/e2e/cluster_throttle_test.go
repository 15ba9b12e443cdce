package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The replication throttle configs (KIP-73).
const (
	leaderRate       = "leader.replication.throttled.rate"
	followerRate     = "follower.replication.throttled.rate"
	leaderReplicas   = "leader.replication.throttled.replicas"
	followerReplicas = "follower.replication.throttled.replicas"
)

// TestClusterThrottledReassign moves a partition holding some MiB onto a
// fourth broker with `fjord partition reassign --throttle`: the rates are
// set on every broker involved and the topic lists the throttled replicas;
// the reassignment still completes, the new replica holds the leader's
// bytes, and `--verify` removes the throttle. That the throttle holds back
// an out-of-sync follower is shown without timing in internal/broker and
// internal/replication, with a stopped clock.
func TestClusterThrottledReassign(t *testing.T) {
	servers, controllers := startClusterControllers(t, 3, fastFailover())
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic = "throttled"
	createTopicRF(t, ctx, adm, topic, 2, 3, map[string]string{"min.insync.replicas": "2"})
	produced := keyedWorkload(300, 20, time.Now())
	padding := strings.Repeat("x", 10<<10) // 3 MiB in all
	for i := range produced {
		produced[i].Value += padding
	}
	// Uncompressed, so the padding really makes MiB to move.
	cl := newKgo(t, servers[0].Addr, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	produceKgo(t, ctx, cl, topic, produced, nil)

	fourth := startFourthBroker(t, ctx, servers[0].Addr, controllers)

	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	old := md.Topics[topic].Partitions[0].Replicas
	target := append([]int32{4}, old[1:]...)
	spec := fmt.Sprintf("%s:0=%s", topic, joinBrokerIDs(target))
	const rate = "262144"
	out, errOut, err := fjordtest.Run(t, nil, "partition", "reassign", "--brokers", servers[0].Addr, "--throttle", rate, spec)
	if err != nil {
		t.Fatalf("fjord partition reassign --throttle: %v\n%s%s", err, out, errOut)
	}
	t.Logf("reassigning %s-0 from %v to %v at %s bytes/s:\n%s", topic, old, target, rate, out)

	// The throttle as Kafka's tool sets it: rates on old and new replicas'
	// brokers, current replicas as leaders, the new one as follower.
	for _, id := range []int32{1, 2, 3, 4} {
		want := map[string]string{leaderRate: rate, followerRate: rate}
		if got := brokerConfigValues(t, ctx, adm, id, leaderRate, followerRate); !maps.Equal(got, want) {
			t.Errorf("broker %d: throttle rates %v, want %v", id, got, want)
		}
	}
	var leaderItems []string
	for _, b := range old {
		leaderItems = append(leaderItems, fmt.Sprintf("0:%d", b))
	}
	wantTopic := map[string]string{leaderReplicas: strings.Join(leaderItems, ","), followerReplicas: "0:4"}
	if got := topicConfigValues(t, ctx, adm, topic, leaderReplicas, followerReplicas); !maps.Equal(got, wantTopic) {
		t.Errorf("topic throttled replicas %v, want %v", got, wantTopic)
	}

	waitReassigned(t, ctx, cl, adm, topic, target)
	checkConsumed(t, produced, consumeKgo(t, ctx, servers[1].Addr, topic, len(produced)), ignoreTimestamps)
	dirOf := func(s *fjordtest.Server) string { return filepath.Join(s.DataDir, topic+"-0") }
	eventually(t, ctx, "new replica holds the leader's bytes", func() (bool, string) {
		newLog, err1 := os.ReadFile(filepath.Join(dirOf(fourth), "00000000000000000000.log"))
		oldLog, err2 := os.ReadFile(filepath.Join(dirOf(servers[target[1]-1]), "00000000000000000000.log"))
		return err1 == nil && err2 == nil && len(newLog) > 1<<20 && bytes.Equal(newLog, oldLog),
			fmt.Sprintf("%v %v sizes %d %d", err1, err2, len(newLog), len(oldLog))
	})

	out, errOut, err = fjordtest.Run(t, nil, "partition", "reassign", "--brokers", servers[0].Addr, "--verify", spec)
	if err != nil {
		t.Fatalf("fjord partition reassign --verify: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{"reassignment of " + topic + "-0 is complete", "throttled replicas of topic", "removed", "throttle rates removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("--verify output lacks %q:\n%s", want, out)
		}
	}
	unthrottled := map[string]string{leaderRate: "9223372036854775807", followerRate: "9223372036854775807"}
	for _, id := range []int32{1, 2, 3, 4} {
		if got := brokerConfigValues(t, ctx, adm, id, leaderRate, followerRate); !maps.Equal(got, unthrottled) {
			t.Errorf("broker %d after --verify: throttle rates %v, want the defaults", id, got)
		}
	}
	if got := topicConfigValues(t, ctx, adm, topic, leaderReplicas, followerReplicas); !maps.Equal(got, map[string]string{leaderReplicas: "", followerReplicas: ""}) {
		t.Errorf("topic throttled replicas after --verify: %v, want none", got)
	}
}

// TestThrottleConfigsThroughAdminClient sets the throttle configs as Kafka's
// own tools do, with IncrementalAlterConfigs on broker resources (one
// broker and the cluster default) and on a topic, and checks that bad
// values are refused with INVALID_CONFIG.
func TestThrottleConfigsThroughAdminClient(t *testing.T) {
	srv := startServer(t, nil)
	ctx := testContext(t, time.Minute)
	adm := newAdmin(t, srv.Addr)
	topic := uniqueTopic(t, "throttle")
	createTopic(t, ctx, adm, topic, 2, nil)

	set := func(name, value string) []kadm.AlterConfig {
		return []kadm.AlterConfig{{Op: kadm.SetConfig, Name: name, Value: &value}}
	}
	check := func(what string, resps kadm.AlterConfigsResponses, err error, want error) {
		t.Helper()
		if err == nil && len(resps) == 1 {
			err = resps[0].Err
		}
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	resps, err := adm.AlterBrokerConfigs(ctx, set(leaderRate, "1048576"), 1)
	check("per-broker rate", resps, err, nil)
	resps, err = adm.AlterBrokerConfigs(ctx, set(followerRate, "2097152"))
	check("cluster default rate", resps, err, nil)
	resps, err = adm.AlterTopicConfigs(ctx, set(leaderReplicas, "0:1,1:1"), topic)
	check("leader throttled replicas", resps, err, nil)
	resps, err = adm.AlterTopicConfigs(ctx, set(followerReplicas, "*"), topic)
	check("follower throttled replicas", resps, err, nil)

	want := map[string]string{leaderRate: "1048576", followerRate: "2097152"}
	if got := brokerConfigValues(t, ctx, adm, 1, leaderRate, followerRate); !maps.Equal(got, want) {
		t.Errorf("broker 1 throttle rates %v, want %v", got, want)
	}
	wantTopic := map[string]string{leaderReplicas: "0:1,1:1", followerReplicas: "*"}
	if got := topicConfigValues(t, ctx, adm, topic, leaderReplicas, followerReplicas); !maps.Equal(got, wantTopic) {
		t.Errorf("topic throttled replicas %v, want %v", got, wantTopic)
	}

	for _, bad := range []string{"-1", "fast", "1.5"} {
		resps, err := adm.AlterBrokerConfigs(ctx, set(leaderRate, bad), 1)
		check("rate "+bad, resps, err, kerr.InvalidConfig)
	}
	for _, bad := range []string{"0-1", "0:", "x:1", "0:1,*"} {
		resps, err := adm.AlterTopicConfigs(ctx, set(followerReplicas, bad), topic)
		check("throttled replicas "+bad, resps, err, kerr.InvalidConfig)
	}
}

func brokerConfigValues(t *testing.T, ctx context.Context, adm *kadm.Client, broker int32, names ...string) map[string]string {
	t.Helper()
	rcs, err := adm.DescribeBrokerConfigs(ctx, broker)
	if err != nil {
		t.Fatalf("describing broker %d: %v", broker, err)
	}
	return configValues(t, rcs, names)
}

func topicConfigValues(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, names ...string) map[string]string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("describing topic %s: %v", topic, err)
	}
	return configValues(t, rcs, names)
}

func configValues(t *testing.T, rcs kadm.ResourceConfigs, names []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rc := range rcs {
		if rc.Err != nil {
			t.Fatalf("describing %s: %v", rc.Name, rc.Err)
		}
		for _, c := range rc.Configs {
			if slices.Contains(names, c.Key) {
				out[c.Key] = c.MaybeValue()
			}
		}
	}
	return out
}
