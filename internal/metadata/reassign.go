package metadata

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Partition reassignment (KIP-455). A reassignment is started by one
// PartitionRecord that lists the target replicas first and the replicas
// being removed after them, with AddingReplicas and RemovingReplicas set:
// the new replicas open the partition and fetch from the leader, and the
// leader adds them to the ISR once they caught up (AlterPartition). The
// controller then completes the reassignment with a second record
// (DecideReassignments): the removed replicas leave the replica set and the
// ISR, and leadership moves into the target set if it was outside.

// Reassignment is one partition's requested replica set; nil Replicas
// cancels a reassignment in progress.
type Reassignment struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

// OngoingReassignment is a partition being reassigned, for
// ListPartitionReassignments.
type OngoingReassignment struct {
	Topic            string
	Partition        int32
	Replicas         []int32
	AddingReplicas   []int32
	RemovingReplicas []int32
}

// DecideReassignment plans the record that starts (or cancels) one
// reassignment, refusing what Kafka refuses.
func DecideReassignment(img *Image, r Reassignment) (PartitionRecord, error) {
	t, ok := img.Topic(r.Topic)
	if !ok {
		return PartitionRecord{}, newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", r.Topic))
	}
	if r.Partition < 0 || int(r.Partition) >= len(t.Partitions) {
		return PartitionRecord{}, newError(kerr.UnknownTopicOrPartition, fmt.Sprintf("%s has no partition %d", r.Topic, r.Partition))
	}
	p := t.Partitions[r.Partition]
	reassigning := len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0
	if r.Replicas == nil {
		if !reassigning {
			return PartitionRecord{}, newError(kerr.NoReassignmentInProgress, fmt.Sprintf("%s-%d is not being reassigned", r.Topic, r.Partition))
		}
		// Cancel: back to the replicas it had, the adding ones dropped.
		p.Replicas = without(p.Replicas, p.AddingReplicas)
		p.ISR = without(p.ISR, p.AddingReplicas)
		p.AddingReplicas, p.RemovingReplicas = nil, nil
		p.PartitionEpoch++
		return partitionRecord(t.ID, p), nil
	}
	if reassigning {
		// Kafka replaces the target of a running reassignment; keeping one
		// at a time is simpler and refused clearly.
		return PartitionRecord{}, newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("%s-%d is already being reassigned", r.Topic, r.Partition))
	}
	if len(r.Replicas) == 0 {
		return PartitionRecord{}, newError(kerr.InvalidReplicaAssignment, "empty replica list")
	}
	seen := map[int32]bool{}
	for _, id := range r.Replicas {
		b, ok := img.Broker(id)
		switch {
		case seen[id]:
			return PartitionRecord{}, newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("broker %d listed twice", id))
		case !ok:
			return PartitionRecord{}, newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("broker %d is not registered", id))
		case b.Fenced:
			return PartitionRecord{}, newError(kerr.InvalidReplicaAssignment, fmt.Sprintf("broker %d is fenced", id))
		}
		seen[id] = true
	}
	adding := without(r.Replicas, p.Replicas)
	removing := without(p.Replicas, r.Replicas)
	if len(adding) == 0 && len(removing) == 0 {
		return PartitionRecord{}, nil // already there
	}
	p.Replicas = append(slices.Clone(r.Replicas), removing...)
	p.AddingReplicas, p.RemovingReplicas = adding, removing
	p.PartitionEpoch++
	return partitionRecord(t.ID, p), nil
}

// DecideReassignments completes the reassignments whose new replicas are
// all in the ISR: the removed replicas leave, and a leader outside the
// target set hands over to the first in-sync target replica.
func DecideReassignments(img *Image) []PartitionRecord {
	var out []PartitionRecord
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			if len(p.AddingReplicas) == 0 && len(p.RemovingReplicas) == 0 {
				continue
			}
			if len(without(p.AddingReplicas, p.ISR)) > 0 {
				continue // still catching up
			}
			target := without(p.Replicas, p.RemovingReplicas)
			isr := without(p.ISR, p.RemovingReplicas)
			if len(isr) == 0 {
				continue
			}
			if !slices.Contains(target, p.Leader) {
				p.Leader = isr[0]
				p.LeaderEpoch++
			}
			p.Replicas, p.ISR = target, isr
			p.AddingReplicas, p.RemovingReplicas = nil, nil
			p.PartitionEpoch++
			out = append(out, partitionRecord(t.ID, p))
		}
	}
	return out
}

// without returns the members of a not in b, in a's order.
func without(a, b []int32) []int32 {
	var out []int32
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Reassignments lists the partitions being reassigned.
func (img *Image) Reassignments() []OngoingReassignment {
	var out []OngoingReassignment
	for _, t := range img.Topics() {
		for _, p := range t.Partitions {
			if len(p.AddingReplicas) > 0 || len(p.RemovingReplicas) > 0 {
				out = append(out, OngoingReassignment{Topic: t.Name, Partition: p.Partition, Replicas: p.Replicas,
					AddingReplicas: p.AddingReplicas, RemovingReplicas: p.RemovingReplicas})
			}
		}
	}
	return out
}

// AlterPartitionReassignments starts or cancels reassignments (Kafka's
// AlterPartitionReassignments). Each partition gets its own outcome; the
// started ones are written together.
func (n *Node) AlterPartitionReassignments(ctx context.Context, reqs []Reassignment) ([]error, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opReassign, Reassignments: reqs})
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(reqs))
	for i := range reqs {
		if i < len(resp.Results) && resp.Results[i].ErrorCode != 0 {
			errs[i] = resp.Results[i].err()
		}
	}
	return errs, nil
}

func (n *Node) reassignLocal(ctx context.Context, reqs []Reassignment) ([]forwardResponse, error) {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	results := make([]forwardResponse, len(reqs))
	var records []Record
	img := n.Image()
	for i, r := range reqs {
		rec, err := DecideReassignment(img, r)
		if err != nil {
			results[i] = errorResponse(err)
			continue
		}
		if rec.Replicas == nil {
			continue
		}
		records = append(records, rec)
		next, err := applyBatch(img, []Record{rec}, img.offset)
		if err != nil {
			results[i] = errorResponse(newError(kerr.UnknownServerError, err.Error()))
			continue
		}
		img = next
	}
	if err := n.writeWithLeadership(ctx, records); err != nil {
		return nil, err
	}
	return results, nil
}
