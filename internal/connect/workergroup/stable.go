package workergroup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// followUp says when a member rejoins on its own after an assignment, or
// -1 for not until something else asks: at once after revocations (the
// leader assigns the revoked work in the round this rejoin starts), after
// the retry backoff when the leader could not assign, after the
// announced delay when the leader holds work back.
func followUp(a Assignment, backoff time.Duration) time.Duration {
	after := time.Duration(-1)
	sooner := func(d time.Duration) {
		if after < 0 || d < after {
			after = d
		}
	}
	if len(a.RevokedConnectors)+len(a.RevokedTasks) > 0 {
		sooner(0)
	}
	if a.Error != NoError {
		sooner(backoff)
	}
	if a.Delay > 0 {
		sooner(a.Delay)
	}
	return after
}

// synced is a rebalance's outcome, to apply once heartbeats run.
type synced struct {
	protocol   Compatibility
	assignment Assignment
}

// stable applies the rebalance's outcome (the callbacks run while the
// heartbeat goroutine keeps the generation alive, as Kafka's heartbeat
// thread does), then heartbeats until the member must rejoin: the
// coordinator says so, RequestRejoin was called, the follow-up of the
// assignment is due, or ctx ends. A coordinator lost on the way is found
// again without a rebalance, as Kafka's members do.
func (m *Member) stable(ctx context.Context, s synced) error {
	h := m.startHeartbeats(ctx)
	defer func() { h.stop() }()
	var due <-chan time.Time
	if rejoinAfter := m.complete(s.protocol, s.assignment); rejoinAfter >= 0 {
		timer := time.NewTimer(rejoinAfter)
		defer timer.Stop()
		due = timer.C
	}
	for {
		select {
		case <-h.done:
			err := m.reactToHeartbeat(ctx, h.err)
			if !errors.Is(err, errCoordinatorLost) {
				return err
			}
			if err := m.ensureCoordinator(ctx); err != nil {
				return err
			}
			h = m.startHeartbeats(ctx)
		case <-m.rejoin:
			return fmt.Errorf("requested: %w", errRejoin)
		case <-due:
			return fmt.Errorf("follow-up of the last assignment: %w", errRejoin)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// heartbeater is a running heartbeat goroutine; err is set when done is
// closed.
type heartbeater struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// startHeartbeats starts the heartbeat goroutine on a copy of the current
// generation.
func (m *Member) startHeartbeats(ctx context.Context) *heartbeater {
	target := heartbeatTarget{node: m.coordinator, generation: m.generation, memberID: m.memberID}
	heartbeatCtx, cancel := context.WithCancel(ctx)
	h := &heartbeater{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = m.heartbeat(heartbeatCtx, target)
	}()
	return h
}

// stop ends the heartbeat goroutine and waits for it.
func (h *heartbeater) stop() {
	h.cancel()
	<-h.done
}

// heartbeatTarget is the generation a heartbeat goroutine keeps alive,
// copied for it so that it shares no state with Run's goroutine.
type heartbeatTarget struct {
	node       int32
	generation int32
	memberID   string
}

// heartbeatError is an error code the coordinator answered a heartbeat
// with.
type heartbeatError struct{ code int16 }

func (e *heartbeatError) Error() string {
	return fmt.Sprintf("Heartbeat: %v", kerr.ErrorForCode(e.code))
}

// heartbeat sends a heartbeat every heartbeat.interval.ms until one fails
// or ctx ends. It runs on its own goroutine so that heartbeats go on
// while the owner's callbacks run.
func (m *Member) heartbeat(ctx context.Context, target heartbeatTarget) error {
	ticker := time.NewTicker(m.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = m.cfg.GroupID, target.generation, target.memberID
		kresp, err := m.transport.broker(ctx, target.node, req)
		if err != nil {
			return err
		}
		if code := kresp.(*kmsg.HeartbeatResponse).ErrorCode; code != 0 {
			return &heartbeatError{code: code}
		}
	}
}

// reactToHeartbeat turns the heartbeat goroutine's end into Run's next
// step.
func (m *Member) reactToHeartbeat(ctx context.Context, err error) error {
	var answered *heartbeatError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &answered):
		code := kerr.ErrorForCode(answered.code)
		if errors.Is(code, kerr.NotCoordinator) || errors.Is(code, kerr.CoordinatorNotAvailable) || kerr.IsRetriable(code) {
			m.coordinator = -1
			return fmt.Errorf("%w: %w", errCoordinatorLost, err)
		}
		return m.react("Heartbeat", answered.code)
	default: // the transport failed: look for the coordinator again
		m.coordinator = -1
		return fmt.Errorf("Heartbeat: %w: %w", errCoordinatorLost, err)
	}
}

// leave sends LeaveGroup for this member.
func (m *Member) leave(ctx context.Context) error {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group, req.MemberID = m.cfg.GroupID, m.memberID
	member := kmsg.NewLeaveGroupRequestMember()
	member.MemberID, member.Reason = m.memberID, kmsg.StringPtr("the worker is stopping")
	req.Members = []kmsg.LeaveGroupRequestMember{member}
	kresp, err := m.transport.broker(ctx, m.coordinator, req)
	if err != nil {
		return err
	}
	resp := kresp.(*kmsg.LeaveGroupResponse)
	code := resp.ErrorCode
	if code == 0 && len(resp.Members) > 0 {
		code = resp.Members[0].ErrorCode
	}
	return kerr.ErrorForCode(code)
}
