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

// write appends records as one log entry and returns once this node has
// applied it. Callers hold controllerMu.
func (n *Node) write(ctx context.Context, records []Record) error {
	if n.raft.State() != raft.Leader {
		return n.notController()
	}
	data, err := EncodeBatch(records)
	if err != nil {
		return newError(kerr.InvalidRequest, err.Error())
	}
	timeout := defaultApplyTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = time.Until(deadline)
		if timeout <= 0 {
			return newError(kerr.RequestTimedOut, "deadline passed before the metadata write")
		}
	}
	f := n.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
			return n.notController()
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return newError(kerr.RequestTimedOut, "metadata write timed out")
		}
		return fmt.Errorf("metadata write: %w", err)
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
}

// registerBrokerLocal records a broker as alive at its address. A re-registration
// replaces the previous one and advances the broker's epoch.
func (n *Node) registerBrokerLocal(ctx context.Context, reg BrokerRegistration) error {
	rec := RegisterBrokerRecord{NodeID: reg.NodeID, Host: reg.Host, Port: reg.Port, Rack: reg.Rack, Incarnation: reg.Incarnation}
	if err := check(rec); err != nil || reg.Host == "" {
		return newError(kerr.InvalidRequest, fmt.Sprintf("invalid broker registration for node %d", reg.NodeID))
	}
	n.controllerMu.Lock()
	defer n.controllerMu.Unlock()
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
	n.controllerMu.Lock()
	defer n.controllerMu.Unlock()
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
