package metadata

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/config"
)

// The thin driver around decisions.go and elect.go: each operation takes
// controllerMu, decides on the current image and writes the records.

// Preferred leader election (auto.leader.rebalance.enable), with Kafka's
// names and defaults.
const (
	propAutoLeaderRebalance          = "auto.leader.rebalance.enable"
	propLeaderImbalanceCheckInterval = "leader.imbalance.check.interval.seconds"
	// DefaultLeaderImbalanceCheckInterval is Kafka's 300 s: moving leaders
	// costs clients a metadata refresh, so it is done rarely.
	DefaultLeaderImbalanceCheckInterval = 300 * time.Second
)

// writeWithLeadership writes records (possibly none) together with the
// leadership changes they make necessary: the partition decisions are taken
// on the image as it will be once records apply, and written in the same
// log entry, so no node ever sees a fenced broker still leading. Callers
// hold controllerMu.
func (n *Node) writeWithLeadership(ctx context.Context, records []Record) error {
	img := n.Image()
	planned := img
	if len(records) > 0 {
		var err error
		if planned, err = applyBatch(img, records, img.offset); err != nil {
			return newError(kerr.UnknownServerError, err.Error())
		}
	}
	leadership := DecideLeadership(planned, n.uncleanAllowed(planned))
	for _, rec := range leadership {
		records = append(records, rec)
	}
	var reassigned []PartitionRecord
	if done := DecideReassignments(planned); len(done) > 0 && len(records) == 0 {
		// Completed reassignments are decided on the image after the
		// leadership changes above, so both never write one partition
		// from the same stale state: they go in a later entry.
		for _, rec := range done {
			reassigned = append(reassigned, rec)
			records = append(records, rec)
		}
	}
	if len(records) == 0 {
		return nil
	}
	if err := n.write(ctx, records); err != nil {
		return err
	}
	// Logged once written: a controller that lost its quorum while paused
	// decides changes it can no longer make.
	for _, rec := range leadership {
		n.logLeadershipChange(planned, rec)
	}
	for _, rec := range reassigned {
		n.logger.Info("reassignment completed", "topic", planned.topicNames[rec.TopicID], "partition", rec.Partition, "replicas", rec.Replicas, "leader", rec.Leader)
	}
	return nil
}

func (n *Node) logLeadershipChange(img *Image, rec PartitionRecord) {
	name := img.topicNames[rec.TopicID]
	switch {
	case rec.Unclean:
		n.logger.Warn("unclean leader election: committed records may be lost", "topic", name, "partition", rec.Partition,
			"leader", rec.Leader, "leaderEpoch", rec.LeaderEpoch)
	case rec.Leader == -1:
		n.logger.Warn("partition offline: no live in-sync replica", "topic", name, "partition", rec.Partition, "isr", rec.ISR)
	default:
		n.logger.Info("partition leadership or ISR changed", "topic", name, "partition", rec.Partition,
			"leader", rec.Leader, "leaderEpoch", rec.LeaderEpoch, "isr", rec.ISR)
	}
}

// uncleanAllowed resolves unclean.leader.election.enable per topic from the
// controller's broker properties, the dynamic broker configs and the topic's
// overrides.
func (n *Node) uncleanAllowed(img *Image) func(TopicImage) bool {
	var props map[string]string
	return func(t TopicImage) bool {
		if props == nil {
			props = n.brokerProps(img)
		}
		resolved, _ := config.ResolveTopic(props, t.Configs)
		return resolved.UncleanLeaderElection
	}
}

// alterPartitionsLocal decides each AlterPartition request
// (DecideAlterPartition) against the image as the requests before it left
// it, and writes every change in one log entry. A request's refusal is its
// result; the error is for the whole batch, when nothing is known of any.
func (n *Node) alterPartitionsLocal(ctx context.Context, reqs []AlterPartitionRequest) ([]forwardResponse, error) {
	if len(reqs) > MaxAlterPartitionBatch {
		return nil, newError(kerr.InvalidRequest, fmt.Sprintf("%d partitions exceed the limit of %d per AlterPartition", len(reqs), MaxAlterPartitionBatch))
	}
	unlock, err := n.lockController(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	img := n.Image()
	results := make([]forwardResponse, len(reqs))
	var records []Record
	for i, req := range reqs {
		rec, next, err := DecideAlterPartition(img, req)
		if err != nil {
			results[i] = errorResponse(err)
			continue
		}
		results[i].Partition = &next
		if rec == nil {
			continue
		}
		if img, err = applyBatch(img, []Record{*rec}, img.offset); err != nil {
			return nil, newError(kerr.UnknownServerError, err.Error())
		}
		records = append(records, *rec)
	}
	if len(records) > 0 {
		if err := n.write(ctx, records); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// electLeadersLocal runs an ElectLeaders request (elect.go).
func (n *Node) electLeadersLocal(ctx context.Context, typ ElectionType, partitions []TopicPartitions) ([]ElectionResult, error) {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	records, results, err := DecideElectLeaders(n.Image(), typ, partitions)
	if err != nil || len(records) == 0 {
		return results, err
	}
	batch := make([]Record, len(records))
	for i, r := range records {
		batch[i] = r
	}
	if err := n.write(ctx, batch); err != nil {
		return nil, err
	}
	return results, nil
}

// balanceLeaders is auto.leader.rebalance.enable's periodic preferred
// leader election.
func (n *Node) balanceLeaders(ctx context.Context) error {
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	records := DecidePreferredElections(n.Image())
	if len(records) == 0 {
		return nil
	}
	batch := make([]Record, len(records))
	for i, r := range records {
		batch[i] = r
	}
	n.logger.Info("moving leadership back to preferred replicas", "partitions", len(records))
	return n.write(ctx, batch)
}

// autoLeaderRebalance reports auto.leader.rebalance.enable (default true)
// and leader.imbalance.check.interval.seconds (Options, else the property,
// else 300 s).
func (n *Node) autoLeaderRebalance() (bool, time.Duration) {
	enabled := n.opts.Broker.Props[propAutoLeaderRebalance] != "false"
	interval := DefaultLeaderImbalanceCheckInterval
	if s, err := strconv.Atoi(n.opts.Broker.Props[propLeaderImbalanceCheckInterval]); err == nil && s > 0 {
		interval = time.Duration(s) * time.Second
	}
	if n.opts.LeaderImbalanceCheckInterval > 0 {
		interval = n.opts.LeaderImbalanceCheckInterval
	}
	return enabled, interval
}
