package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// The controller operations callable on any node. On the leader they run
// locally; elsewhere they are forwarded (forward.go) and return once this
// node's image includes their effect.

// CreateTopic validates and creates a topic: one TopicRecord, a
// PartitionRecord per partition and a ConfigRecord per config, in one
// atomic log entry. With ValidateOnly it returns the topic it would create.
func (n *Node) CreateTopic(ctx context.Context, spec CreateTopicSpec) (TopicImage, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opCreateTopic, CreateTopic: &spec})
	if err != nil {
		return TopicImage{}, err
	}
	if resp.Topic == nil {
		return TopicImage{}, newError(kerr.UnknownServerError, "controller returned no topic")
	}
	return *resp.Topic, nil
}

// DeleteTopic deletes a topic by name, or by id when name is empty.
func (n *Node) DeleteTopic(ctx context.Context, name string, id [16]byte) error {
	_, err := n.run(ctx, forwardRequest{Op: opDeleteTopic, Topic: name, TopicID: id})
	return err
}

// CreatePartitions grows a topic to newTotal partitions. assignments, when
// given, place the new partitions' replicas (one list per new partition).
func (n *Node) CreatePartitions(ctx context.Context, name string, newTotal int32, assignments [][]int32, validateOnly bool) error {
	_, err := n.run(ctx, forwardRequest{Op: opCreatePartitions, Topic: name, NewTotal: newTotal,
		Assignments: assignments, ValidateOnly: validateOnly})
	return err
}

// AlterConfigs applies IncrementalAlterConfigs operations to a topic or a
// broker resource (name "" for the cluster default, else a node id). Append
// and Subtract apply to list configs only, starting from the current
// effective value as Kafka does. All operations are validated first; then
// they are written together or not at all.
func (n *Node) AlterConfigs(ctx context.Context, rt ResourceType, name string, ops []ConfigOp, validateOnly bool) error {
	_, err := n.run(ctx, forwardRequest{Op: opAlterConfigs, ResourceType: rt, ResourceName: name,
		ConfigOps: ops, ValidateOnly: validateOnly})
	return err
}

// ReplaceConfigs is the legacy AlterConfigs: the resource's dynamic configs
// become exactly configs.
func (n *Node) ReplaceConfigs(ctx context.Context, rt ResourceType, name string, configs map[string]string, validateOnly bool) error {
	_, err := n.run(ctx, forwardRequest{Op: opReplaceConfigs, ResourceType: rt, ResourceName: name,
		Configs: configs, ValidateOnly: validateOnly})
	return err
}

// RegisterBroker records a broker as alive and unfenced at its address. A
// re-registration replaces the previous one and advances the broker's epoch.
func (n *Node) RegisterBroker(ctx context.Context, reg BrokerRegistration) error {
	_, err := n.run(ctx, forwardRequest{Op: opRegisterBroker, Broker: &reg})
	return err
}

// AllocateProducerIDs reserves count consecutive producer ids and returns the
// first, as Kafka's AllocateProducerIds.
func (n *Node) AllocateProducerIDs(ctx context.Context, count int64) (int64, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opAllocatePIDs, Count: count})
	return resp.FirstProducerID, err
}

// BrokerHeartbeat tells the controller that broker nodeID is alive; a fenced
// broker is unfenced by it (liveness.go).
func (n *Node) BrokerHeartbeat(ctx context.Context, nodeID int32) error {
	_, err := n.run(ctx, forwardRequest{Op: opHeartbeat, NodeID: nodeID})
	return err
}

// FenceBroker fences broker nodeID at once: its controlled shutdown. It stays
// fenced until it registers again.
func (n *Node) FenceBroker(ctx context.Context, nodeID int32) error {
	_, err := n.run(ctx, forwardRequest{Op: opFenceBroker, NodeID: nodeID})
	return err
}

// AlterPartition is Kafka's AlterPartition (KIP-497) for one partition: the
// leader leaderID, at leaderEpoch and partitionEpoch, asks the controller to
// make newISR the ISR. brokerEpochs, parallel to newISR or nil, are the
// broker epochs the leader saw in each member's fetches (-1: unknown), which
// the controller checks against the registrations (KIP-903). On success the
// returned partition has the new ISR and partitionEpoch+1 (unchanged when
// the ISR already was newISR); the leader epoch never changes. Errors carry
// Kafka's codes (DecideAlterPartition).
func (n *Node) AlterPartition(ctx context.Context, topicID [16]byte, partition, leaderID, leaderEpoch, partitionEpoch int32, newISR []int32, brokerEpochs []int64) (PartitionImage, error) {
	results, err := n.AlterPartitions(ctx, []AlterPartitionRequest{{TopicID: topicID, Partition: partition, LeaderID: leaderID,
		LeaderEpoch: leaderEpoch, PartitionEpoch: partitionEpoch, NewISR: newISR, NewISRBrokerEpochs: brokerEpochs}})
	if err != nil {
		return PartitionImage{}, err
	}
	return results[0].Partition, results[0].Err
}

// MaxAlterPartitionBatch bounds the partitions of one AlterPartitions call,
// and so the records of the log entry it writes.
const MaxAlterPartitionBatch = 1000

// AlterPartitionResult is one partition's outcome of AlterPartitions: the
// partition as it is after the request, or why it was refused.
type AlterPartitionResult struct {
	Partition PartitionImage
	Err       error
}

// AlterPartitions is AlterPartition for many partitions in one round trip
// and one log entry, as Kafka's brokers batch their pending ISR changes:
// after a restart a broker rejoins the ISR of every partition it hosts at
// about the same time. Each partition is decided on its own; its result
// says how. The error is for the request as a whole (a timeout, no
// controller): then the outcome of every partition is unknown.
func (n *Node) AlterPartitions(ctx context.Context, reqs []AlterPartitionRequest) ([]AlterPartitionResult, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opAlterPartitions, AlterPartitions: reqs})
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(reqs) {
		return nil, newError(kerr.UnknownServerError, fmt.Sprintf("controller answered %d of %d partitions", len(resp.Results), len(reqs)))
	}
	out := make([]AlterPartitionResult, len(reqs))
	for i, r := range resp.Results {
		switch {
		case r.err() != nil:
			out[i].Err = r.err()
		case r.Partition == nil:
			out[i].Err = newError(kerr.UnknownServerError, "controller returned no partition")
		default:
			out[i].Partition = *r.Partition
		}
	}
	return out, nil
}

// ElectLeaders is Kafka's ElectLeaders: a preferred or unclean leader
// election for the given partitions, or for every partition when partitions
// is nil (then partitions needing none are left out). Per-partition outcomes
// are in the results (DecideElectLeaders); the error is for the request.
func (n *Node) ElectLeaders(ctx context.Context, typ ElectionType, partitions []TopicPartitions) ([]ElectionResult, error) {
	if partitions != nil && len(partitions) == 0 {
		// Forwarding would turn an empty list into nil, "every partition".
		return nil, nil
	}
	resp, err := n.run(ctx, forwardRequest{Op: opElectLeaders, ElectionType: typ, Elections: partitions})
	return resp.Elections, err
}

// DescribeQuorum returns the quorum as the leader sees it (quorum.go).
func (n *Node) DescribeQuorum(ctx context.Context) (QuorumStatus, error) {
	resp, err := n.run(ctx, forwardRequest{Op: opDescribeQuorum})
	if err != nil {
		return QuorumStatus{}, err
	}
	if resp.Quorum == nil {
		return QuorumStatus{}, newError(kerr.UnknownServerError, "controller returned no quorum")
	}
	return *resp.Quorum, nil
}

// run executes req here when this node leads (or is alone), else forwards
// it. Leadership lost between the check and the write falls back to
// forwarding.
func (n *Node) run(ctx context.Context, req forwardRequest) (forwardResponse, error) {
	if n.opts.Network == nil || n.Leader() {
		resp, err := n.execute(ctx, req)
		if err == nil || n.opts.Network == nil || !errors.Is(err, kerr.NotController) {
			return resp, err
		}
	}
	return n.forward(ctx, req)
}

// execute runs an operation on this node, which must be the leader for
// those that write.
func (n *Node) execute(ctx context.Context, req forwardRequest) (forwardResponse, error) {
	var resp forwardResponse
	var err error
	switch req.Op {
	case opCreateTopic:
		if req.CreateTopic == nil {
			return resp, newError(kerr.InvalidRequest, "no topic")
		}
		var t TopicImage
		t, err = n.createTopicLocal(ctx, *req.CreateTopic)
		resp.Topic = &t
	case opDeleteTopic:
		err = n.deleteTopicLocal(ctx, req.Topic, req.TopicID)
	case opCreatePartitions:
		err = n.createPartitionsLocal(ctx, req.Topic, req.NewTotal, req.Assignments, req.ValidateOnly)
	case opAlterConfigs:
		err = n.alterConfigsLocal(ctx, req.ResourceType, req.ResourceName, req.ConfigOps, req.ValidateOnly)
	case opReplaceConfigs:
		err = n.replaceConfigsLocal(ctx, req.ResourceType, req.ResourceName, req.Configs, req.ValidateOnly)
	case opRegisterBroker:
		if req.Broker == nil {
			return resp, newError(kerr.InvalidRequest, "no broker")
		}
		err = n.registerBrokerLocal(ctx, *req.Broker)
	case opAllocatePIDs:
		resp.FirstProducerID, err = n.allocateProducerIDsLocal(ctx, req.Count)
	case opHeartbeat:
		err = n.heartbeatLocal(ctx, req.NodeID)
	case opFenceBroker:
		err = n.fenceBrokerLocal(ctx, req.NodeID)
	case opAlterPartitions:
		resp.Results, err = n.alterPartitionsLocal(ctx, req.AlterPartitions)
	case opElectLeaders:
		resp.Elections, err = n.electLeadersLocal(ctx, req.ElectionType, req.Elections)
	case opReassign:
		resp.Results, err = n.reassignLocal(ctx, req.Reassignments)
	case opAlterSecurity:
		resp, err = n.alterSecurityLocal(ctx, req.Security)
	case opAddObserver:
		err = n.addObserverLocal(req.NodeID, req.Addr)
	case opBarrier:
		err = n.barrierLocal()
	case opDescribeQuorum:
		var q QuorumStatus
		q, err = n.describeQuorumLocal(ctx)
		resp.Quorum = &q
	default:
		return resp, newError(kerr.InvalidRequest, fmt.Sprintf("unknown controller operation %q", req.Op))
	}
	// Every write of the operation is applied here, so the image offset now
	// covers it: a forwarding node waits for the same offset.
	resp.Offset = n.Image().Offset()
	return resp, err
}
