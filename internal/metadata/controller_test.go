package metadata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestCreateTopicValidation(t *testing.T) {
	n := startNode(t, t.TempDir())
	registerSelf(t, n, 1, 2)
	ctx := context.Background()
	if _, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "exists.topic", NumPartitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec CreateTopicSpec
		want *kerr.Error
	}{
		{"empty name", CreateTopicSpec{Name: "", NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"dot", CreateTopicSpec{Name: ".", NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"dotdot", CreateTopicSpec{Name: "..", NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"too long", CreateTopicSpec{Name: strings.Repeat("a", 250), NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"bad char", CreateTopicSpec{Name: "a b", NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"exists", CreateTopicSpec{Name: "exists.topic", NumPartitions: 1, ReplicationFactor: 1}, kerr.TopicAlreadyExists},
		{"collides", CreateTopicSpec{Name: "exists_topic", NumPartitions: 1, ReplicationFactor: 1}, kerr.InvalidTopicException},
		{"zero partitions", CreateTopicSpec{Name: "t", NumPartitions: 0, ReplicationFactor: 1}, kerr.InvalidPartitions},
		{"negative partitions", CreateTopicSpec{Name: "t", NumPartitions: -2, ReplicationFactor: 1}, kerr.InvalidPartitions},
		{"too many partitions", CreateTopicSpec{Name: "t", NumPartitions: MaxPartitionsPerTopic + 1, ReplicationFactor: 1}, kerr.InvalidPartitions},
		{"zero rf", CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 0}, kerr.InvalidReplicationFactor},
		{"rf above brokers", CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 3}, kerr.InvalidReplicationFactor},
		{"bad config", CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "x"}}, kerr.InvalidConfig},
		{"unknown config", CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: 1, Configs: map[string]string{"no.such": "1"}}, kerr.InvalidConfig},
		{"assignment and count", CreateTopicSpec{Name: "t", NumPartitions: 1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}}}, kerr.InvalidRequest},
		{"assignment gap", CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1}, 2: {2}}}, kerr.InvalidReplicaAssignment},
		{"assignment unknown broker", CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {7}}}, kerr.InvalidReplicaAssignment},
		{"assignment duplicate", CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 1}}}, kerr.InvalidReplicaAssignment},
		{"assignment uneven", CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1, Assignments: map[int32][]int32{0: {1, 2}, 1: {1}}}, kerr.InvalidReplicaAssignment},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Image().Offset()
			_, err := n.CreateTopic(ctx, tt.spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Message == "" {
				t.Fatalf("no message in %v", err)
			}
			if n.Image().Offset() != before {
				t.Fatal("a refused operation wrote to the log")
			}
		})
	}
}

func TestCreateTopic(t *testing.T) {
	n := startNode(t, t.TempDir())
	registerSelf(t, n, 1, 2, 3)
	ctx := context.Background()
	planned, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "v", NumPartitions: 3, ReplicationFactor: 2, ValidateOnly: true})
	if err != nil || len(planned.Partitions) != 3 {
		t.Fatalf("validate only: %+v %v", planned, err)
	}
	if _, ok := n.Image().Topic("v"); ok {
		t.Fatal("validate-only created the topic")
	}
	top, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "orders", NumPartitions: 6, ReplicationFactor: 3,
		Configs: map[string]string{"cleanup.policy": "compact"}})
	if err != nil {
		t.Fatal(err)
	}
	leaders := map[int32]int{}
	for i, p := range top.Partitions {
		if p.Partition != int32(i) || len(p.Replicas) != 3 || !distinct(p.Replicas) || p.Leader != p.Replicas[0] ||
			len(p.ISR) != 3 {
			t.Fatalf("partition %+v", p)
		}
		leaders[p.Leader]++
	}
	if len(leaders) != 3 || leaders[1] != 2 {
		t.Fatalf("leaders not spread: %v", leaders)
	}
	if top.Configs["cleanup.policy"] != "compact" || top.ID == ([16]byte{}) {
		t.Fatalf("topic %+v", top)
	}
	def, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "defaults", NumPartitions: -1, ReplicationFactor: -1})
	if err != nil || len(def.Partitions) != 1 || len(def.Partitions[0].Replicas) != 1 {
		t.Fatalf("defaults: %+v %v", def, err)
	}
	explicit, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "explicit", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {3, 1}, 1: {2, 3}}})
	if err != nil || explicit.Partitions[0].Leader != 3 || explicit.Partitions[1].Replicas[1] != 3 {
		t.Fatalf("explicit: %+v %v", explicit, err)
	}
}

func TestTopicOperations(t *testing.T) {
	n := startNode(t, t.TempDir())
	registerSelf(t, n, 1)
	ctx := context.Background()
	top, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "t", NumPartitions: 2, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	errs := []struct {
		name string
		err  error
		want *kerr.Error
	}{
		{"shrink", n.CreatePartitions(ctx, "t", 1, nil, false), kerr.InvalidPartitions},
		{"same count", n.CreatePartitions(ctx, "t", 2, nil, false), kerr.InvalidPartitions},
		{"unknown topic partitions", n.CreatePartitions(ctx, "nope", 3, nil, false), kerr.UnknownTopicOrPartition},
		{"wrong assignment count", n.CreatePartitions(ctx, "t", 4, [][]int32{{1}}, false), kerr.InvalidReplicaAssignment},
		{"delete unknown name", n.DeleteTopic(ctx, "nope", [16]byte{}), kerr.UnknownTopicOrPartition},
		{"delete unknown id", n.DeleteTopic(ctx, "", [16]byte{1}), kerr.UnknownTopicID},
		{"alter unknown topic", n.AlterConfigs(ctx, ResourceTopic, "nope", []ConfigOp{{Name: "retention.ms", Value: "1"}}, false), kerr.UnknownTopicOrPartition},
		{"alter bad value", n.AlterConfigs(ctx, ResourceTopic, "t", []ConfigOp{{Name: "retention.ms", Value: "x"}}, false), kerr.InvalidConfig},
		{"alter unknown name", n.AlterConfigs(ctx, ResourceTopic, "t", []ConfigOp{{Name: "x.y", Value: "1"}}, false), kerr.InvalidConfig},
		{"append non-list", n.AlterConfigs(ctx, ResourceTopic, "t", []ConfigOp{{Name: "retention.ms", Op: OpAppend, Value: "1"}}, false), kerr.InvalidConfig},
		{"alter twice", n.AlterConfigs(ctx, ResourceTopic, "t", []ConfigOp{{Name: "retention.ms", Value: "1"}, {Name: "retention.ms", Op: OpDelete}}, false), kerr.InvalidRequest},
		{"broker read-only", n.AlterConfigs(ctx, ResourceBroker, "", []ConfigOp{{Name: "num.partitions", Value: "3"}}, false), kerr.InvalidConfig},
		{"broker bad name", n.AlterConfigs(ctx, ResourceBroker, "x", []ConfigOp{{Name: "max.connections", Value: "3"}}, false), kerr.InvalidRequest},
	}
	for _, e := range errs {
		if !errors.Is(e.err, e.want) {
			t.Errorf("%s: err = %v, want %v", e.name, e.err, e.want)
		}
	}
	if err := n.CreatePartitions(ctx, "t", 4, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Image().Topic("t"); len(got.Partitions) != 4 || got.Partitions[3].Partition != 3 {
		t.Fatalf("partitions %+v", got.Partitions)
	}
	ops := []ConfigOp{{Name: "cleanup.policy", Op: OpAppend, Value: "compact"}, {Name: "retention.ms", Value: "1000"}}
	if err := n.AlterConfigs(ctx, ResourceTopic, "t", ops, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Image().Topic("t"); got.Configs["cleanup.policy"] != "delete,compact" || got.Configs["retention.ms"] != "1000" {
		t.Fatalf("configs %v", got.Configs)
	}
	if err := n.AlterConfigs(ctx, ResourceTopic, "t", []ConfigOp{{Name: "cleanup.policy", Op: OpSubtract, Value: "delete"}}, false); err != nil {
		t.Fatal(err)
	}
	if err := n.ReplaceConfigs(ctx, ResourceTopic, "t", map[string]string{"segment.ms": "60000"}, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Image().Topic("t"); len(got.Configs) != 1 || got.Configs["segment.ms"] != "60000" {
		t.Fatalf("after replace %v", got.Configs)
	}
	if err := n.AlterConfigs(ctx, ResourceBroker, "", []ConfigOp{{Name: "log.retention.ms", Value: "5"}}, false); err != nil {
		t.Fatal(err)
	}
	if n.Image().BrokerConfigs("")["log.retention.ms"] != "5" {
		t.Fatal("broker default not set")
	}
	if err := n.DeleteTopic(ctx, "", top.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Image().Topic("t"); ok {
		t.Fatal("not deleted")
	}
}

// randomOperations runs count seeded controller operations. Refusals are
// expected; anything else fails the test.
func randomOperations(t *testing.T, n *Node, rng *rand.Rand, count int) {
	t.Helper()
	ctx := context.Background()
	names := []string{"a", "b", "c.d", "c_d", "e-f"}
	for i := range count {
		name := names[rng.IntN(len(names))]
		var err error
		switch rng.IntN(7) {
		case 0:
			err = n.RegisterBroker(ctx, BrokerRegistration{NodeID: int32(1 + rng.IntN(3)), Host: "h", Port: int32(9000 + i)})
		case 1, 2:
			_, err = n.CreateTopic(ctx, CreateTopicSpec{Name: name, NumPartitions: int32(rng.IntN(4)),
				ReplicationFactor: int16(1 + rng.IntN(3)), Configs: map[string]string{"retention.ms": fmt.Sprint(rng.IntN(100000))}})
		case 3:
			err = n.DeleteTopic(ctx, name, [16]byte{})
		case 4:
			err = n.CreatePartitions(ctx, name, int32(1+rng.IntN(8)), nil, false)
		case 5:
			err = n.AlterConfigs(ctx, ResourceTopic, name, []ConfigOp{{Name: "cleanup.policy", Op: OpType(rng.IntN(4)), Value: "compact"}}, false)
		case 6:
			_, err = n.AllocateProducerIDs(ctx, int64(1+rng.IntN(1000)))
		}
		var cerr *Error
		if err != nil && (!errors.As(err, &cerr) || errors.Is(err, kerr.UnknownServerError) || errors.Is(err, kerr.NotController)) {
			t.Fatalf("operation %d: %v", i, err)
		}
	}
}

func snapshotOf(t *testing.T, img *Image) []byte {
	t.Helper()
	b, err := img.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReplayAfterRestart(t *testing.T) {
	for _, withSnapshot := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", withSnapshot), func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(42, 7))
			n := startNode(t, dir)
			registerSelf(t, n, 1)
			randomOperations(t, n, rng, 60)
			if withSnapshot {
				if err := n.raft.Snapshot().Error(); err != nil {
					t.Fatal(err)
				}
				// Entries after the snapshot are replayed on top of it.
				randomOperations(t, n, rng, 20)
			}
			want := snapshotOf(t, n.Image())
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			restarted := startNode(t, dir)
			if got := snapshotOf(t, restarted.Image()); !bytes.Equal(got, want) {
				t.Fatalf("image after replay differs:\n got %s\nwant %s", got, want)
			}
			if len(restarted.Image().Topics()) == 0 {
				t.Fatal("the random operations created no topic; the test proves little")
			}
		})
	}
}
