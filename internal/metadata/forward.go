package metadata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/controllerwire"
)

// Forwarding. Controller operations run on the Raft leader. Any other node
// sends them there, as Kafka brokers forward admin requests to the active
// controller, over the 'F' stream of the controller listener (network.go):
//
//	request:  uint32 length (big endian) | JSON forwardRequest
//	response: uint32 length (big endian) | JSON forwardResponse
//
// one request per connection: operations are rare (topic changes, broker
// registrations, a heartbeat every 2 s per broker), and a fresh connection
// never carries state from a peer that restarted. A node that is not the
// leader answers NOT_CONTROLLER with the leader's address, which the sender
// follows. The response carries the image offset after the operation; the
// sender waits until its own FSM has applied that offset, so a forwarded
// CreateTopics returns with the topic visible in the local image.
//
// Errors keep their Kafka codes: a *Error travels as code and message.

// maxForwardFrameBytes bounds one frame. A CreateTopics with explicit
// assignments for MaxPartitionsPerTopic partitions fits; the reader grows its
// buffer with the bytes that arrive, never from the length field alone.
const maxForwardFrameBytes = controllerwire.MaxFrameBytes

// forwardIOTimeout bounds reading a request and writing a response.
const forwardIOTimeout = 10 * time.Second

// Forwarded operations.
const (
	opCreateTopic      = "createTopic"
	opDeleteTopic      = "deleteTopic"
	opCreatePartitions = "createPartitions"
	opAlterConfigs     = "alterConfigs"
	opReplaceConfigs   = "replaceConfigs"
	opRegisterBroker   = "registerBroker"
	opAllocatePIDs     = "allocateProducerIds"
	opHeartbeat        = "brokerHeartbeat"
	opFenceBroker      = "fenceBroker"
	opAddObserver      = "addObserver"
	opBarrier          = "barrier"
	opDescribeQuorum   = controllerwire.OpDescribeQuorum
	opAlterPartitions  = "alterPartitions"
	opElectLeaders     = "electLeaders"
	opReassign         = "reassign"
	opAlterSecurity    = "alterSecurity"
	// opNodeStatus is answered by any node about itself; it is not forwarded.
	opNodeStatus = "nodeStatus"
)

type forwardRequest struct {
	Op string `json:"op"`
	// TimeoutMs is the sender's remaining time; the leader bounds its work by it.
	TimeoutMs int64 `json:"timeoutMs"`

	CreateTopic  *CreateTopicSpec    `json:"createTopic,omitempty"`
	Topic        string              `json:"topic,omitempty"`
	TopicID      [16]byte            `json:"topicId"`
	NewTotal     int32               `json:"newTotal,omitempty"`
	Assignments  [][]int32           `json:"assignments,omitempty"`
	ValidateOnly bool                `json:"validateOnly,omitempty"`
	ResourceType ResourceType        `json:"resourceType,omitempty"`
	ResourceName string              `json:"resourceName,omitempty"`
	ConfigOps    []ConfigOp          `json:"configOps,omitempty"`
	Configs      map[string]string   `json:"configs,omitempty"`
	Broker       *BrokerRegistration `json:"broker,omitempty"`
	Count        int64               `json:"count,omitempty"`
	NodeID       int32               `json:"nodeId,omitempty"`
	Addr         string              `json:"addr,omitempty"`

	AlterPartitions []AlterPartitionRequest `json:"alterPartitions,omitempty"`
	ElectionType    ElectionType            `json:"electionType,omitempty"`
	Elections       []TopicPartitions       `json:"elections,omitempty"`
	Reassignments   []Reassignment          `json:"reassignments,omitempty"`
	Security        *SecurityChange         `json:"security,omitempty"`
}

type forwardResponse struct {
	ErrorCode    int16  `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	// LeaderAddr is the leader's controller address, with NOT_CONTROLLER.
	LeaderAddr string `json:"leaderAddr,omitempty"`
	// Offset is the leader's image offset after the operation.
	Offset          uint64           `json:"offset"`
	Topic           *TopicImage      `json:"topic,omitempty"`
	FirstProducerID int64            `json:"firstProducerId,omitempty"`
	Quorum          *QuorumStatus    `json:"quorum,omitempty"`
	Replica         *ReplicaState    `json:"replica,omitempty"`
	Partition       *PartitionImage  `json:"partition,omitempty"`
	Elections       []ElectionResult `json:"elections,omitempty"`
	// Results are per-item outcomes of a batched operation (reassignments,
	// AlterPartitions).
	Results []forwardResponse `json:"results,omitempty"`
	// ACLIDs are the ids of the ACLs an alterSecurity created.
	ACLIDs [][16]byte `json:"aclIds,omitempty"`
}

func (r forwardResponse) err() error {
	if r.ErrorCode == 0 {
		return nil
	}
	code := kerr.ErrorForCode(r.ErrorCode)
	var ke *kerr.Error
	if !errors.As(code, &ke) {
		return newError(kerr.UnknownServerError, r.ErrorMessage)
	}
	return newError(ke, r.ErrorMessage)
}

func errorResponse(err error) forwardResponse {
	var ce *Error
	if errors.As(err, &ce) {
		return forwardResponse{ErrorCode: ce.Code.Code, ErrorMessage: ce.Message}
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return forwardResponse{ErrorCode: ke.Code, ErrorMessage: err.Error()}
	}
	return forwardResponse{ErrorCode: kerr.UnknownServerError.Code, ErrorMessage: err.Error()}
}

// roundTrip sends one request to addr and reads the response.
func (n *Node) roundTrip(ctx context.Context, addr string, req forwardRequest) (forwardResponse, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultApplyTimeout)
	}
	req.TimeoutMs = max(time.Until(deadline).Milliseconds(), 1)
	c, err := n.dialController(addr, controllerwire.StreamForward, time.Until(deadline))
	if err != nil {
		return forwardResponse{}, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	defer stop()
	_ = c.SetDeadline(deadline)
	if err := controllerwire.WriteFrame(c, req); err != nil {
		return forwardResponse{}, err
	}
	var resp forwardResponse
	if err := controllerwire.ReadFrame(c, &resp); err != nil {
		return forwardResponse{}, err
	}
	return resp, nil
}

// dialController connects to another node's controller listener through
// this node's Network (TLS when configured).
func (n *Node) dialController(addr string, stream byte, timeout time.Duration) (net.Conn, error) {
	if n.opts.Network == nil {
		return controllerwire.Dial(addr, stream, timeout)
	}
	return n.opts.Network.dial(addr, stream, timeout)
}

// serveForwardConn answers one request on c. It runs on a goroutine of the
// Network, under the node's context.
func (n *Node) serveForwardConn(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(forwardIOTimeout))
	var req forwardRequest
	if err := controllerwire.ReadFrame(c, &req); err != nil {
		n.logger.Debug("bad forwarded request", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	timeout := time.Duration(min(max(req.TimeoutMs, 1), defaultApplyTimeout.Milliseconds())) * time.Millisecond
	ctx, cancel := context.WithTimeout(n.ctx, timeout)
	defer cancel()
	resp := n.answer(ctx, req)
	_ = c.SetWriteDeadline(time.Now().Add(forwardIOTimeout))
	if err := controllerwire.WriteFrame(c, resp); err != nil {
		n.logger.Debug("writing forwarded response", "remote", c.RemoteAddr().String(), "err", err)
	}
}

func (n *Node) answer(ctx context.Context, req forwardRequest) forwardResponse {
	if req.Op == opNodeStatus {
		st := n.replicaState()
		return forwardResponse{Offset: n.Image().Offset(), Replica: &st}
	}
	if !n.Leader() {
		resp := errorResponse(n.notController())
		resp.LeaderAddr = n.leaderAddr()
		return resp
	}
	resp, err := n.execute(ctx, req)
	if err != nil {
		resp = errorResponse(err)
		if errors.Is(err, kerr.NotController) {
			resp.LeaderAddr = n.leaderAddr()
		}
	}
	return resp
}

// forward sends req to the leader, following NOT_CONTROLLER answers and
// retrying unreachable leaders until ctx ends, then waits until the local
// image has reached the leader's offset after the operation.
func (n *Node) forward(ctx context.Context, req forwardRequest) (forwardResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultApplyTimeout)
		defer cancel()
	}
	backoff := 20 * time.Millisecond
	hint := ""
	for attempt := 0; ; attempt++ {
		addr := hint
		if addr == "" {
			addr = n.leaderAddr()
		}
		if addr == "" && len(n.opts.Voters) > 0 {
			// No known leader (an election, or an observer not yet in the
			// configuration): ask the voters in turn.
			addr = n.opts.Voters[attempt%len(n.opts.Voters)].Addr
		}
		hint = ""
		var lastErr error
		if addr != "" && addr != string(n.opts.LocalAddr) {
			resp, err := n.roundTrip(ctx, addr, req)
			switch {
			case err != nil:
				lastErr = err
			case resp.ErrorCode == kerr.NotController.Code:
				hint, lastErr = resp.LeaderAddr, resp.err()
			default:
				if err := resp.err(); err != nil {
					return resp, err
				}
				if err := n.waitApplied(ctx, resp.Offset); err != nil {
					return resp, err
				}
				return resp, nil
			}
		} else if addr == string(n.opts.LocalAddr) && n.Leader() {
			return n.execute(ctx, req)
		}
		select {
		case <-ctx.Done():
			if lastErr == nil {
				lastErr = n.notController()
			}
			return forwardResponse{}, newError(kerr.RequestTimedOut,
				fmt.Sprintf("forwarding %s to the controller: %v", req.Op, lastErr))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// waitApplied waits until this node's image has applied offset.
func (n *Node) waitApplied(ctx context.Context, offset uint64) error {
	for {
		img, changed := n.fsm.latest()
		if img.offset >= offset {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return newError(kerr.RequestTimedOut,
				fmt.Sprintf("metadata offset %d not applied locally (at %d): %v", offset, img.offset, ctx.Err()))
		}
	}
}

func (n *Node) leaderAddr() string {
	addr, _ := n.raft.LeaderWithID()
	return string(addr)
}
