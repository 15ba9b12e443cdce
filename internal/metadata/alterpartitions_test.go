package metadata

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestAlterPartitionsBatch: each partition of a batch is decided on its
// own, against the image the earlier ones leave, and every change is
// written in one log entry.
func TestAlterPartitionsBatch(t *testing.T) {
	n := startNode(t, t.TempDir())
	registerSelf(t, n, 1, 2, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topic, err := n.CreateTopic(ctx, CreateTopicSpec{Name: "t", NumPartitions: -1, ReplicationFactor: -1,
		Assignments: map[int32][]int32{0: {1, 2, 3}, 1: {1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := topic.Partitions[0], topic.Partitions[1]
	req := func(p PartitionImage, partitionEpoch int32, isr ...int32) AlterPartitionRequest {
		return AlterPartitionRequest{TopicID: topic.ID, Partition: p.Partition, LeaderID: p.Leader,
			LeaderEpoch: p.LeaderEpoch, PartitionEpoch: partitionEpoch, NewISR: isr}
	}
	before := n.Image().Offset()
	results, err := n.AlterPartitions(ctx, []AlterPartitionRequest{
		req(p0, p0.PartitionEpoch, 1, 2),    // applied
		req(p0, p0.PartitionEpoch, 1, 3),    // made at the epoch the first one just moved past
		req(p1, p1.PartitionEpoch+1, 1, 2),  // an epoch the controller never wrote
		req(p1, p1.PartitionEpoch, 1, 2, 3), // already the ISR: nothing to write
		{TopicID: topic.ID, Partition: 7, LeaderID: 1, NewISR: []int32{1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		err            *kerr.Error
		isr            []int32
		partitionEpoch int32
	}{
		{nil, []int32{1, 2}, p0.PartitionEpoch + 1},
		{kerr.InvalidUpdateVersion, nil, 0},
		{kerr.NotController, nil, 0},
		{nil, []int32{1, 2, 3}, p1.PartitionEpoch},
		{kerr.UnknownTopicOrPartition, nil, 0},
	}
	for i, w := range want {
		r := results[i]
		switch {
		case w.err != nil && !errors.Is(r.Err, w.err):
			t.Errorf("request %d: %v, want %v", i, r.Err, w.err)
		case w.err == nil && (r.Err != nil || !slices.Equal(r.Partition.ISR, w.isr) || r.Partition.PartitionEpoch != w.partitionEpoch):
			t.Errorf("request %d: %+v, %v; want ISR %v at partition epoch %d", i, r.Partition, r.Err, w.isr, w.partitionEpoch)
		}
	}
	if got := n.Image().Offset(); got != before+1 {
		t.Errorf("image offset %d after the batch, want %d: one log entry", got, before+1)
	}

	tooMany := make([]AlterPartitionRequest, MaxAlterPartitionBatch+1)
	if _, err := n.AlterPartitions(ctx, tooMany); !errors.Is(err, kerr.InvalidRequest) {
		t.Errorf("a batch over the limit: %v, want INVALID_REQUEST", err)
	}
}
