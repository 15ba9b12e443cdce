package workergroup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// protocolType is JoinGroup's protocol type for Connect workers.
const protocolType = "connect"

// ensureCoordinator finds the group's coordinator if it is not known,
// retrying until it is found or ctx ends. Like Kafka's WorkerCoordinator,
// a member that cannot reach a coordinator for heartbeat.interval.ms
// stops its work, since the group may be giving it to others.
func (m *Member) ensureCoordinator(ctx context.Context) error {
	if m.coordinator >= 0 {
		return nil
	}
	start := m.now()
	for {
		err := m.findCoordinator(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, errBackoff) {
			return err
		}
		m.log.Debug("connect group: no coordinator yet", "group", m.cfg.GroupID, "err", err)
		if m.owned != nil && m.now().Sub(start) >= m.cfg.HeartbeatInterval {
			m.revokeAll("coordinator unreachable")
		}
		if err := sleep(ctx, m.cfg.RetryBackoff); err != nil {
			return err
		}
	}
}

func (m *Member) findCoordinator(ctx context.Context) error {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorKey = m.cfg.GroupID
	req.CoordinatorKeys = []string{m.cfg.GroupID}
	req.CoordinatorType = 0 // group
	kresp, err := m.transport.anyBroker(ctx, req)
	if err != nil {
		return fmt.Errorf("FindCoordinator: %w: %w", errBackoff, err)
	}
	resp := kresp.(*kmsg.FindCoordinatorResponse)
	node, code := resp.NodeID, resp.ErrorCode
	if len(resp.Coordinators) > 0 {
		node, code = resp.Coordinators[0].NodeID, resp.Coordinators[0].ErrorCode
	}
	if err := kerr.ErrorForCode(code); err != nil {
		if kerr.IsRetriable(err) {
			return fmt.Errorf("FindCoordinator: %w: %w", errBackoff, err)
		}
		return fmt.Errorf("FindCoordinator: %w", err)
	}
	m.coordinator = node
	return nil
}

// toCoordinator sends req to the coordinator. A transport error forgets
// the coordinator, to be found again after a backoff.
func (m *Member) toCoordinator(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	resp, err := m.transport.broker(ctx, m.coordinator, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m.coordinator = -1
		return nil, fmt.Errorf("%s: %w: %w", kmsg.NameForKey(req.Key()), errBackoff, err)
	}
	return resp, nil
}

// react applies an error code of step as Kafka's AbstractCoordinator
// does, and says how Run's loop goes on: errRejoin, errBackoff, or a
// fatal error.
func (m *Member) react(step string, code int16) error {
	err := kerr.ErrorForCode(code)
	switch {
	case errors.Is(err, kerr.RebalanceInProgress):
		return fmt.Errorf("%s: %w: %w", step, errRejoin, err)
	case errors.Is(err, kerr.UnknownMemberID), errors.Is(err, kerr.IllegalGeneration):
		// Fenced: the group may already be giving our work to others.
		m.revokeAll(err.Error())
		m.memberID, m.generation = "", -1
		return fmt.Errorf("%s: %w: %w", step, errRejoin, err)
	case errors.Is(err, kerr.NotCoordinator), errors.Is(err, kerr.CoordinatorNotAvailable):
		// Found again after a backoff: during an election the old
		// coordinator may be named a little longer.
		m.coordinator = -1
		return fmt.Errorf("%s: %w: %w", step, errBackoff, err)
	case kerr.IsRetriable(err):
		return fmt.Errorf("%s: %w: %w", step, errBackoff, err)
	}
	return fmt.Errorf("%s: %w", step, err)
}

// joinAndSync runs one rebalance: JoinGroup (twice for a new member,
// KIP-394), the leader's assignment, SyncGroup. It returns the member's
// assignment for stable to apply.
func (m *Member) joinAndSync(ctx context.Context) (synced, error) {
	if m.protocol == Eager {
		// The eager protocol starts every rebalance from nothing.
		m.revokeAll("eager rebalance")
	}
	joined, err := m.join(ctx)
	if err != nil {
		return synced{}, err
	}
	protocol, ok := compatibilityOfProtocol(deref(joined.Protocol))
	if !ok {
		return synced{}, fmt.Errorf("JoinGroup: the group chose protocol %q, which this member did not offer", deref(joined.Protocol))
	}
	var assignments []kmsg.SyncGroupRequestGroupAssignment
	if joined.LeaderID == m.memberID {
		if assignments, err = m.assign(joined.Members, protocol, joined.Generation); err != nil {
			return synced{}, err
		}
	}
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.Generation, req.MemberID = m.cfg.GroupID, m.generation, m.memberID
	req.ProtocolType, req.Protocol = kmsg.StringPtr(protocolType), joined.Protocol
	req.GroupAssignment = assignments
	kresp, err := m.toCoordinator(ctx, req)
	if err != nil {
		return synced{}, err
	}
	resp := kresp.(*kmsg.SyncGroupResponse)
	if resp.ErrorCode != 0 {
		return synced{}, m.react("SyncGroup", resp.ErrorCode)
	}
	a, err := DecodeAssignment(resp.MemberAssignment)
	if err != nil {
		m.log.Error("connect group: undecodable assignment from the leader", "group", m.cfg.GroupID,
			"leader", joined.LeaderID, "err", err)
		return synced{}, fmt.Errorf("SyncGroup: %w: %w", errBackoff, err)
	}
	return synced{protocol: protocol, assignment: a}, nil
}

// join sends JoinGroup until it succeeds or fails for good, coming back
// once with the member id a KIP-394 coordinator hands out.
func (m *Member) join(ctx context.Context) (*kmsg.JoinGroupResponse, error) {
	protocols, err := m.joinProtocols()
	if err != nil {
		return nil, err
	}
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = m.cfg.GroupID, m.memberID, protocolType
		req.SessionTimeoutMillis = int32(m.cfg.SessionTimeout.Milliseconds())
		req.RebalanceTimeoutMillis = int32(m.cfg.RebalanceTimeout.Milliseconds())
		req.Protocols = protocols
		kresp, err := m.toCoordinator(ctx, req)
		if err != nil {
			return nil, err
		}
		resp := kresp.(*kmsg.JoinGroupResponse)
		switch {
		case resp.ErrorCode == kerr.MemberIDRequired.Code:
			m.memberID = resp.MemberID
			continue
		case resp.ErrorCode != 0:
			return nil, m.react("JoinGroup", resp.ErrorCode)
		}
		m.memberID, m.generation = resp.MemberID, resp.Generation
		m.log.Debug("connect group: joined", "group", m.cfg.GroupID, "member", m.memberID,
			"generation", m.generation, "leader", resp.LeaderID, "protocol", deref(resp.Protocol))
		return resp, nil
	}
}

// joinProtocols lists the protocols this member offers, newest first as
// Kafka orders them, each with its metadata: the URL, the config offset
// and, for the cooperative ones, what the member runs.
func (m *Member) joinProtocols() ([]kmsg.JoinGroupRequestProtocol, error) {
	offset := m.cfg.ConfigState().Offset
	var out []kmsg.JoinGroupRequestProtocol
	for c := m.mode; c >= Eager; c-- {
		state := WorkerState{Version: c.Version(), URL: m.cfg.WorkerURL, ConfigOffset: offset, Allocation: m.owned}
		metadata, err := EncodeWorkerState(state)
		if err != nil {
			return nil, err
		}
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = c.ProtocolName(), metadata
		out = append(out, p)
	}
	return out, nil
}

// complete applies the member's assignment as Kafka's
// WorkerCoordinator.onJoinComplete does: under the cooperative protocols
// it stops the revoked work, keeps the rest and adds the new.
func (m *Member) complete(protocol Compatibility, a Assignment) (rejoinAfter time.Duration) {
	m.protocol = protocol
	m.lastCompletedGeneration = m.generation
	owned := newWork()
	if m.owned != nil && protocol != Eager {
		owned = workOf(ConnectorsAndTasks{Connectors: m.owned.Connectors, Tasks: m.owned.Tasks})
	}
	// Only what runs here is revoked: a replayed assignment (a follower
	// rejoining a stable group gets the same one again) stops nothing twice.
	revoked := owned.intersect(workOf(ConnectorsAndTasks{Connectors: a.RevokedConnectors, Tasks: a.RevokedTasks}))
	if !revoked.isEmpty() {
		m.cfg.OnRevoked(revoked.sortedConnectors(), revoked.sortedTasks())
		owned.removeAll(revoked)
	}
	owned.addAll(workOf(ConnectorsAndTasks{Connectors: a.Connectors, Tasks: a.Tasks}))
	a.Connectors, a.Tasks = owned.sortedConnectors(), owned.sortedTasks()
	a.RevokedConnectors, a.RevokedTasks = revoked.sortedConnectors(), revoked.sortedTasks()
	kept := a
	kept.RevokedConnectors, kept.RevokedTasks = nil, nil
	m.owned = &kept
	m.log.Info("connect group: assigned", "group", m.cfg.GroupID, "member", m.memberID, "generation", m.generation,
		"protocol", protocol, "connectors", len(a.Connectors), "tasks", len(a.Tasks),
		"revoked", len(a.RevokedConnectors)+len(a.RevokedTasks), "delay", a.Delay, "error", a.Error)
	m.cfg.OnAssigned(Joined{Generation: m.generation, MemberID: m.memberID, Protocol: protocol, Assignment: a})
	return followUp(a, m.cfg.RetryBackoff)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
