package workergroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ConfigSnapshot is what the worker has read of the config topic: the
// offset it has read to, and each connector with its number of tasks.
type ConfigSnapshot struct {
	Offset     int64
	Connectors map[string]int
}

// Joined is what OnAssigned receives at the end of each rebalance.
type Joined struct {
	Generation int32
	MemberID   string
	// Protocol is the group's protocol for this generation: the newest
	// that every member offered.
	Protocol Compatibility
	// Assignment is the leader's answer, except that Connectors and Tasks
	// are everything the member now runs, not only what was added this
	// round. Its revoked lists say what OnRevoked was just given. With an
	// Error the member keeps what it ran; the owner reads the config
	// topic to its end, and the member rejoins after retry.backoff.ms or
	// at RequestRejoin.
	Assignment Assignment
}

// Config configures a Member. Durations carry the Kafka Connect worker
// setting named in their comment; the runtime's WorkerConfig parses them
// with Kafka's defaults.
type Config struct {
	// Client carries the requests. The member only sends single requests
	// through it (no kgo consumer group); the caller owns and closes it.
	Client *kgo.Client
	// GroupID is group.id.
	GroupID string
	// Protocol is connect.protocol: "sessioned" (Kafka's default, used
	// when empty), "compatible" or "eager".
	Protocol string
	// WorkerURL is the worker's REST URL (rest.advertised.*), told to the
	// leader and, by the leader, to everyone.
	WorkerURL string
	// SessionTimeout is session.timeout.ms, HeartbeatInterval is
	// heartbeat.interval.ms and RebalanceTimeout is rebalance.timeout.ms.
	SessionTimeout, HeartbeatInterval, RebalanceTimeout time.Duration
	// ScheduledRebalanceMaxDelay is scheduled.rebalance.max.delay.ms: how
	// long, as leader, to hold back a departed worker's work. Zero
	// reassigns it at once.
	ScheduledRebalanceMaxDelay time.Duration
	// RetryBackoff is retry.backoff.ms, the wait before retrying after an
	// error; 100 ms (Kafka's default) when zero.
	RetryBackoff time.Duration
	// ConfigState returns the worker's current view of the config topic.
	// It is called before each join (for the offset) and, as leader, to
	// assign.
	ConfigState func() ConfigSnapshot
	// OnRevoked is called with work the member must stop before the group
	// may give it to another worker: revoked by the leader, every rebalance
	// under the eager protocol, or everything when the member is fenced,
	// loses its coordinator for heartbeat.interval.ms, or stops.
	OnRevoked func(connectors []string, tasks []TaskID)
	// OnAssigned is called at the end of each rebalance.
	OnAssigned func(Joined)
	// Now is the clock for the leader's delays; time.Now when nil.
	Now func() time.Time
	// Logger receives the member's events; none when nil.
	Logger *slog.Logger
}

// defaultRetryBackoff is Kafka's retry.backoff.ms default.
const defaultRetryBackoff = 100 * time.Millisecond

// ErrRunTwice is returned by a second call to Run: a member joins once.
var ErrRunTwice = errors.New("workergroup: Member.Run called twice")

// Member is one worker's membership in the Connect group. Its state is
// owned by the goroutine running Run; the callbacks are made from it.
type Member struct {
	cfg       Config
	mode      Compatibility
	transport transport
	now       func() time.Time
	log       *slog.Logger
	started   atomic.Bool
	// rejoin holds one pending rejoin request; more coalesce into it.
	rejoin chan struct{}
	// vanish is set only by tests that make a member end without a
	// word, as a crashed worker would: no callback, no LeaveGroup.
	vanish atomic.Bool

	// Owned by Run's goroutine.
	coordinator             int32 // node id; -1 when unknown
	memberID                string
	generation              int32
	protocol                Compatibility // of the last completed join
	owned                   *Assignment   // what runs here; nil when nothing was ever assigned or all was lost
	lastCompletedGeneration int32
	leaderState             LeaderState
}

// New checks cfg and returns a member ready to Run.
func New(cfg Config) (*Member, error) {
	m, err := newMember(cfg, nil)
	if err != nil {
		return nil, err
	}
	m.transport = kgoTransport{client: cfg.Client}
	return m, nil
}

func newMember(cfg Config, t transport) (*Member, error) {
	mode := Sessioned
	if cfg.Protocol != "" {
		var err error
		if mode, err = ParseCompatibility(cfg.Protocol); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.Client == nil && t == nil:
		return nil, errors.New("workergroup: no Client")
	case cfg.GroupID == "":
		return nil, errors.New("workergroup: no group.id")
	case cfg.SessionTimeout <= 0 || cfg.HeartbeatInterval <= 0 || cfg.RebalanceTimeout <= 0:
		return nil, errors.New("workergroup: session.timeout.ms, heartbeat.interval.ms and rebalance.timeout.ms must be positive")
	case cfg.HeartbeatInterval >= cfg.SessionTimeout:
		return nil, errors.New("workergroup: heartbeat.interval.ms must be lower than session.timeout.ms")
	case cfg.ScheduledRebalanceMaxDelay < 0:
		return nil, errors.New("workergroup: negative scheduled.rebalance.max.delay.ms")
	case cfg.ConfigState == nil || cfg.OnRevoked == nil || cfg.OnAssigned == nil:
		return nil, errors.New("workergroup: ConfigState, OnRevoked and OnAssigned are required")
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = defaultRetryBackoff
	}
	m := &Member{cfg: cfg, mode: mode, transport: t, now: cfg.Now, log: cfg.Logger,
		rejoin:      make(chan struct{}, 1),
		coordinator: -1, generation: -1, protocol: mode, lastCompletedGeneration: -1}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m, nil
}

// RequestRejoin asks the member to rejoin the group soon, for instance
// because the config topic changed. It does not block and may be called
// from any goroutine, callbacks included. Requests coalesce; one made
// during a rebalance is served by another rebalance right after it, since
// the first may have read the config before the change.
func (m *Member) RequestRejoin() {
	select {
	case m.rejoin <- struct{}{}:
	default: // one is pending already
	}
}

// Errors that steer Run's loop; none leaves the package.
var (
	errRejoin          = errors.New("rejoin")
	errBackoff         = errors.New("retry after backoff")
	errCoordinatorLost = errors.New("coordinator lost")
)

// Run joins the group and takes part in it until ctx ends; it then stops
// the work it owns (OnRevoked), leaves the group and returns nil. It
// returns early only with an error the group protocol cannot recover
// from, such as an authorization failure or a session timeout the broker
// refuses. Run may be called once.
func (m *Member) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	defer m.exit(ctx)
	for {
		var outcome synced
		err := m.ensureCoordinator(ctx)
		if err == nil {
			outcome, err = m.joinAndSync(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			err = m.stable(ctx, outcome)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil, errors.Is(err, errRejoin), errors.Is(err, errCoordinatorLost):
		case errors.Is(err, errBackoff):
			m.log.Debug("connect group: retrying", "group", m.cfg.GroupID, "err", err)
			if sleep(ctx, m.cfg.RetryBackoff) != nil {
				return nil
			}
		default:
			return fmt.Errorf("connect group %q: %w", m.cfg.GroupID, err)
		}
	}
}

// exit runs when Run ends: the work stops here before the group can hand
// it to others, then the member leaves the group so that the others
// rebalance now rather than after session.timeout.ms.
func (m *Member) exit(ctx context.Context) {
	if m.vanish.Load() {
		return
	}
	m.revokeAll("stopping")
	if m.memberID == "" || m.coordinator < 0 {
		return
	}
	// The coordinator drops a silent member after the session timeout
	// anyway: waiting longer than that for the leave is pointless.
	leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.SessionTimeout)
	defer cancel()
	if err := m.leave(leaveCtx); err != nil {
		m.log.Warn("connect group: leaving", "group", m.cfg.GroupID, "member", m.memberID, "err", err)
	}
}

// revokeAll hands everything the member runs to OnRevoked and forgets it.
func (m *Member) revokeAll(why string) {
	if m.owned == nil {
		return
	}
	owned := m.owned
	m.owned = nil
	if len(owned.Connectors)+len(owned.Tasks) > 0 {
		m.log.Info("connect group: revoking everything", "group", m.cfg.GroupID, "why", why,
			"connectors", len(owned.Connectors), "tasks", len(owned.Tasks))
		m.cfg.OnRevoked(owned.Connectors, owned.Tasks)
	}
}

// sleep waits for d or for ctx to end, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
