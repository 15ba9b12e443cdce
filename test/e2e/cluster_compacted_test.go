package e2e

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestClusterReplicatesCompactedLog grows a compacted single-replica topic
// to three replicas after its cleaner removed most of the log: the new
// followers copy a log with offset gaps, catch up into the ISR, and after
// the original leader is killed the new leader serves the latest value of
// every key at the leader's offsets.
func TestClusterReplicatesCompactedLog(t *testing.T) {
	cfg := fastFailover()
	cfg["log.cleaner.backoff.ms"], cfg["log.retention.check.interval.ms"] = "100", "100"
	servers := startCluster(t, 3, cfg)
	ctx := testContext(t, 3*time.Minute)
	adm := newAdmin(t, servers[0].Addr)
	const topic = "compacted-replicated"
	createTopicRF(t, ctx, adm, topic, 1, 1, map[string]string{
		"cleanup.policy":            "compact",
		"segment.bytes":             "1048576",
		"min.cleanable.dirty.ratio": "0.01",
		"segment.ms":                "500",
	})
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	leader := md.Topics[topic].Partitions[0].Leader

	const keys, rounds, valueBytes = 20, 5, 20 << 10
	cl := newKgo(t, servers[0].Addr, kgo.DefaultProduceTopic(topic))
	want := map[string][]byte{}
	for r := range rounds {
		for k := range keys {
			key := fmt.Sprintf("key-%02d", k)
			v := append(bytes.Repeat([]byte{byte('a' + r)}, valueBytes), fmt.Sprintf("-%d-%d", k, r)...)
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: v}).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", key, err)
			}
			want[key] = v
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("sentinel"), Value: []byte("end")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	latestOK := func(addr string) (bool, string) {
		got, records, _, err := consumeAll(t, ctx, addr, topic)
		if err != nil {
			return false, err.Error()
		}
		if records != len(want) {
			return false, fmt.Sprintf("%d records for %d keys", records, len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				return false, "key " + k + " does not hold its latest value"
			}
		}
		return true, ""
	}
	eventually(t, ctx, "the leader's log compacted", func() (bool, string) { return latestOK(servers[0].Addr) })

	var target []int32
	for id := int32(1); id <= 3; id++ {
		if id != leader {
			target = append(target, id)
		}
	}
	target = append([]int32{leader}, target...)
	spec := fmt.Sprintf("%s:0=%s", topic, joinBrokerIDs(target))
	if out, errOut, err := fjordtest.Run(t, nil, "partition", "reassign", "--brokers", servers[0].Addr, spec); err != nil {
		t.Fatalf("fjord partition reassign %s: %v\n%s%s", spec, err, out, errOut)
	}
	waitReassigned(t, ctx, cl, adm, topic, target)

	servers[leader-1].Kill()
	other := servers[target[1]-1].Addr
	eventually(t, ctx, "a new leader serves the compacted log", func() (bool, string) {
		md, err := newAdmin(t, other).Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		if l := md.Topics[topic].Partitions[0].Leader; l == leader || l < 0 {
			return false, fmt.Sprintf("leader %d", l)
		}
		return latestOK(other)
	})
}
