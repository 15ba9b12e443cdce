package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// startCluster starts n combined nodes that form one quorum and waits until
// each lists n brokers.
func startCluster(t *testing.T, n int, config map[string]string) []*fjordtest.Server {
	t.Helper()
	servers, _ := startClusterControllers(t, n, config)
	return servers
}

// startClusterControllers is startCluster that also returns each node's
// controller address, for `fjord cluster status`.
func startClusterControllers(t *testing.T, n int, config map[string]string) ([]*fjordtest.Server, []string) {
	t.Helper()
	return startSecuredClusterControllers(t, n, config, nil)
}

// startSecuredClusterControllers is startClusterControllers with the
// brokers replicating over an inter-broker listener of their own, on a
// loopback port each keeps across restarts, and the controllers talking
// as sec says (cluster_failover_tls_test.go); nil sec is plaintext.
func startSecuredClusterControllers(t *testing.T, n int, config map[string]string, sec *clusterSecurity) ([]*fjordtest.Server, []string) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	// One call, so that the controller and inter-broker ports differ.
	ports := freeLoopbackPorts(t, 2*n)
	controllerPorts, interBrokerPorts := ports[:n], ports[n:]
	var voters, controllers []string
	for i, p := range controllerPorts {
		voters = append(voters, fmt.Sprintf("%d@127.0.0.1:%d", i+1, p))
		controllers = append(controllers, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var opts []fjordtest.Options
	for i := range n {
		args := []string{"--node-id", strconv.Itoa(i + 1), "--controllers", strings.Join(voters, ",")}
		o := fjordtest.Options{Args: args, Config: config}
		if sec != nil {
			o = sec.secure(o, i+1, fmt.Sprintf("127.0.0.1:%d", interBrokerPorts[i]))
		}
		opts = append(opts, o)
	}
	servers := fjordtest.StartAll(t, opts...)
	for i, s := range servers {
		c := nodeClient(t, s.Addr)
		eventually(t, ctx, fmt.Sprintf("node %d lists %d brokers", i+1, n), func() (bool, string) {
			md, err := nodeMetadata(ctx, c)
			if err != nil {
				return false, err.Error()
			}
			return len(md.Brokers) == n, fmt.Sprintf("%d brokers", len(md.Brokers))
		})
	}
	return servers, controllers
}

// TestClusterReplicatedTopicWithEveryClient creates a topic with
// replication factor 3 and min.insync.replicas=2 on a three-node cluster,
// writes to it with franz-go, sarama and kcat with acks=all, reads every
// record back with each, and checks that every node's metadata agrees and
// that the three replicas of each partition hold byte-identical logs.
func TestClusterReplicatedTopicWithEveryClient(t *testing.T) {
	servers := startCluster(t, 3, nil)
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic, partitions = "replicated", 3
	createTopicRF(t, ctx, adm, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})

	var produced []rec
	franz := keyedWorkload(900, 40, time.Now())
	cl := newKgo(t, servers[1].Addr, kgo.RequiredAcks(kgo.AllISRAcks()))
	produced = append(produced, produceKgo(t, ctx, cl, topic, franz, nil)...)
	sar := keyedWorkload(900, 40, time.Now())
	for i := range sar {
		sar[i].Value = "sarama-" + sar[i].Value
	}
	produced = append(produced, produceSarama(t, servers[2].Addr, topic, sar, saramaConfig())...)
	kc := keyedWorkload(900, 40, time.Now())
	for i := range kc {
		kc[i].Value = "kcat-" + kc[i].Value
	}
	produceKcat(t, ctx, servers[0].Addr, topic, kc, "-X", "acks=all")
	produced = append(produced, kc...)

	if got := consumeKgo(t, ctx, servers[2].Addr, topic, len(produced)); len(got) != len(produced) {
		t.Fatalf("franz-go read %d records, want %d", len(got), len(produced))
	}
	if got := consumeSarama(t, ctx, servers[0].Addr, topic); len(got) != len(produced) {
		t.Fatalf("sarama read %d records, want %d", len(got), len(produced))
	}
	if got := consumeKcat(t, ctx, servers[1].Addr, topic); len(got) != len(produced) {
		t.Fatalf("kcat read %d records, want %d", len(got), len(produced))
	}

	// Every node describes the topic the same way.
	var first *kmsg.MetadataResponseTopic
	for i, s := range servers {
		md, err := nodeMetadata(ctx, nodeClient(t, s.Addr))
		if err != nil {
			t.Fatal(err)
		}
		for _, mt := range md.Topics {
			if mt.Topic == nil || *mt.Topic != topic {
				continue
			}
			if first == nil {
				first = &mt
				continue
			}
			if mt.TopicID != first.TopicID || fmt.Sprint(mt.Partitions) != fmt.Sprint(first.Partitions) {
				t.Errorf("node %d describes %s differently: %v vs %v", i+1, topic, mt.Partitions, first.Partitions)
			}
		}
	}

	// Followers catch up to the leader's bytes (their high watermark may
	// trail, their log does not for long).
	for p := range partitions {
		eventually(t, ctx, fmt.Sprintf("partition %d replicas identical", p), func() (bool, string) {
			var logs [][]byte
			for _, s := range servers {
				b, err := os.ReadFile(filepath.Join(s.DataDir, fmt.Sprintf("%s-%d", topic, p), "00000000000000000000.log"))
				if err != nil {
					return false, err.Error()
				}
				logs = append(logs, b)
			}
			same := bytes.Equal(logs[0], logs[1]) && bytes.Equal(logs[1], logs[2]) && len(logs[0]) > 0
			return same, fmt.Sprintf("sizes %d %d %d", len(logs[0]), len(logs[1]), len(logs[2]))
		})
	}
}
