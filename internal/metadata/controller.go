package metadata

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/twmb/franz-go/pkg/kerr"
)

// lockController takes controllerMu for one controller operation, once
// this node may decide as the controller: it leads the quorum and its image
// holds every entry committed before its term (activateLocked). The caller
// runs unlock when done.
func (n *Node) lockController(ctx context.Context) (unlock func(), err error) {
	n.controllerMu.Lock()
	if err := n.activateLocked(ctx); err != nil {
		n.controllerMu.Unlock()
		return nil, err
	}
	return n.controllerMu.Unlock, nil
}

// activateLocked makes sure this node, as the Raft leader, has applied every
// entry committed before its term before it decides anything: a leader
// knows its predecessor's last entries only as entries of its log until it
// commits one of its own, and its image may lag them. Deciding on that image
// undid what the previous controller had just written (seen in back-to-back
// controlled shutdowns: a stale ISR handed leadership to a replica that
// lacked acknowledged records, issue 12). The first operation of each term
// waits for a Barrier, an entry of this term; once it is applied, so is
// everything before it. Kafka's QuorumController likewise becomes active
// only after replaying the log up to its own epoch's start.
func (n *Node) activateLocked(ctx context.Context) error {
	if n.raft.State() != raft.Leader {
		return n.notController()
	}
	term := n.raft.CurrentTerm()
	if n.activeTerm == term {
		return nil
	}
	timeout, err := applyTimeout(ctx)
	if err != nil {
		return err
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return n.raftError("metadata barrier", err)
	}
	if n.raft.State() != raft.Leader || n.raft.CurrentTerm() != term {
		return n.notController()
	}
	n.activeTerm = term
	return nil
}

// applyTimeout is how long a Raft operation may take within ctx.
func applyTimeout(ctx context.Context) (time.Duration, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return defaultApplyTimeout, nil
	}
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return 0, newError(kerr.RequestTimedOut, "deadline passed before the metadata write")
	}
	return timeout, nil
}

// raftError maps an error of a Raft future to the controller's codes: lost
// leadership is NOT_CONTROLLER (the caller finds the new leader), a full
// queue a timeout.
func (n *Node) raftError(what string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return n.notController()
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return newError(kerr.RequestTimedOut, what+" timed out")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// write appends records as one log entry and returns once this node has
// applied it. Callers hold controllerMu through lockController.
func (n *Node) write(ctx context.Context, records []Record) error {
	if n.raft.State() != raft.Leader {
		return n.notController()
	}
	data, err := EncodeBatch(records)
	if err != nil {
		return newError(kerr.InvalidRequest, err.Error())
	}
	timeout, err := applyTimeout(ctx)
	if err != nil {
		return err
	}
	f := n.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		return n.raftError("metadata write", err)
	}
	if res, ok := f.Response().(applyResult); ok && res.err != nil {
		// The controller validated against the image it applies to, so this
		// is a broken invariant reported rather than panicked on.
		return newError(kerr.UnknownServerError, res.err.Error())
	}
	return nil
}

func (n *Node) notController() error {
	_, leader := n.raft.LeaderWithID()
	return newError(kerr.NotController, fmt.Sprintf("node %d is not the controller (leader: %q)", n.opts.NodeID, leader))
}

// BrokerRegistration is what a broker tells the controller when it starts.
type BrokerRegistration struct {
	NodeID      int32
	Host        string
	Port        int32
	Rack        string
	Incarnation [16]byte
	Endpoints   []BrokerEndpoint `json:",omitempty"`
}

// registerBrokerLocal records a broker as alive at its address. A re-registration
// replaces the previous one and advances the broker's epoch.
func (n *Node) registerBrokerLocal(ctx context.Context, reg BrokerRegistration) error {
	rec := RegisterBrokerRecord{NodeID: reg.NodeID, Host: reg.Host, Port: reg.Port, Rack: reg.Rack, Incarnation: reg.Incarnation,
		Endpoints: reg.Endpoints}
	if err := check(rec); err != nil || reg.Host == "" {
		return newError(kerr.InvalidRequest, fmt.Sprintf("invalid broker registration for node %d", reg.NodeID))
	}
	unlock, err := n.lockController(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if cur, ok := n.Image().Broker(reg.NodeID); ok && !cur.Fenced && restarted(cur.Incarnation, reg.Incarnation) {
		// A new process of a broker that never shut down cleanly (or was
		// not fenced yet): what it led moves away first, so it cannot go
		// on leading at the old leader epoch with a log that lost its
		// unsynced tail while followers hold it. Kafka reaches the same by
		// refusing the registration until the old session expires.
		if err := n.writeWithLeadership(ctx, []Record{BrokerFenceRecord{NodeID: reg.NodeID, Fenced: true}}); err != nil {
			return err
		}
	}
	// A registration unfences: offline partitions whose ISR holds the
	// broker get it back as leader in the same entry.
	return n.writeWithLeadership(ctx, []Record{rec})
}

// restarted reports whether a registration comes from a new process of a
// registered broker: both incarnations known and different.
func restarted(current, registering [16]byte) bool {
	var none [16]byte
	return current != none && registering != none && current != registering
}

// MaxProducerIDBlock bounds one allocation; Kafka hands out blocks of 1000.
const MaxProducerIDBlock = 1 << 20

// allocateProducerIDsLocal reserves count consecutive producer ids and returns the
// first, as Kafka's AllocateProducerIds.
func (n *Node) allocateProducerIDsLocal(ctx context.Context, count int64) (int64, error) {
	if count <= 0 || count > MaxProducerIDBlock {
		return 0, newError(kerr.InvalidRequest, fmt.Sprintf("producer id block of %d outside 1..%d", count, MaxProducerIDBlock))
	}
	unlock, err := n.lockController(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	first := n.Image().NextProducerID()
	if first > (1<<63-1)-count {
		return 0, newError(kerr.UnknownServerError, "producer ids exhausted")
	}
	if err := n.write(ctx, []Record{ProducerIDsRecord{NextProducerID: first + count}}); err != nil {
		return 0, err
	}
	return first, nil
}

// newTopicID returns a random, non-zero topic id (a version 4 UUID).
func newTopicID(img *Image) [16]byte {
	for {
		var id [16]byte
		_, _ = rand.Read(id[:])
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		if _, taken := img.topicNames[id]; !taken {
			return id
		}
	}
}
