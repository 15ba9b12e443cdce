package replication

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLeaderStateAgainstController drives a LeaderState against a model of
// the controller and of the followers' real logs, with the faults the
// broker meets: AlterPartition answers that are late, lost (the request
// may or may not have been applied) or refused; metadata images that come
// late, before or after the answer, and again and again with the same
// partition epoch (every image re-applies every partition); controller
// changes of its own (a follower fenced out of the ISR); followers that
// stall. After every step it checks the guarantee that matters: the HW
// never passes the log end of a follower in the ISR the controller holds,
// the set it elects the next leader from, so no acknowledged record can be
// lost by a failover. It also checks that the HW never goes down, and at
// the end that a quiet partition settles with every follower back in the
// ISR.
func TestLeaderStateAgainstController(t *testing.T) {
	for seed := uint64(1); seed <= 2000; seed++ {
		m := newLeaderModel(seed)
		for step := 0; step < 300; step++ {
			m.step()
			if err := m.check(); err != nil {
				t.Fatalf("seed %d step %d: %v\n%s", seed, step, err, m.trace())
			}
		}
		if err := m.settle(); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, m.trace())
		}
	}
}

// leaderModel is one partition: leader 1 and its followers.
type leaderModel struct {
	rng      *rand.Rand
	now      time.Time
	s        *LeaderState
	replicas []BrokerID
	leo      Offset              // the leader's log end
	logEnd   map[BrokerID]Offset // each follower's real log end
	prevHW   Offset
	log      []string

	// The controller: its committed state and the brokers it fenced.
	ctrl   PartitionState
	fenced map[BrokerID]bool
	// images are controller states the leader has not applied yet, in
	// order; delivered is the last one it did.
	images    []PartitionState
	delivered PartitionState
	// inFlight is the ISR change on its way to the controller, if any:
	// the broker sends one per partition at a time.
	inFlight *ISRChange
	queued   []ISRChange // proposals the broker has not sent yet
}

func newLeaderModel(seed uint64) *leaderModel {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	replicas := []BrokerID{1, 2, 3, 4}[:2+rng.IntN(3)]
	m := &leaderModel{rng: rng, now: time.Unix(0, 0), replicas: replicas, logEnd: map[BrokerID]Offset{},
		fenced: map[BrokerID]bool{}}
	m.leo = Offset(rng.IntN(50))
	for _, id := range replicas[1:] {
		m.logEnd[id] = m.leo // the leader was elected from an ISR holding all of it
	}
	m.ctrl = PartitionState{LeaderEpoch: 3, PartitionEpoch: 10, Replicas: replicas, ISR: slices.Clone(replicas)}
	m.delivered = m.ctrl
	s, err := NewLeaderState(LeaderConfig{LeaderID: 1, LeaderEpoch: 3, PartitionEpoch: 10, Replicas: replicas,
		ISR: slices.Clone(replicas), LogEndOffset: m.leo, HighWatermark: Offset(rng.IntN(int(m.leo) + 1)),
		ReplicaLagTime: 5 * time.Second, Now: m.now})
	if err != nil {
		panic(err)
	}
	m.s, m.prevHW = s, s.HighWatermark()
	return m
}

func (m *leaderModel) note(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf("%v ", m.now.Sub(time.Unix(0, 0)))+fmt.Sprintf(format, args...)+
		fmt.Sprintf(" | hw=%d isr=%v maximal=%v ctrl=%v@%d", m.s.HighWatermark(), m.s.ISR(), m.s.MaximalISR(), m.ctrl.ISR, m.ctrl.PartitionEpoch))
}

func (m *leaderModel) trace() string {
	from := max(0, len(m.log)-40)
	out := ""
	for _, l := range m.log[from:] {
		out += l + "\n"
	}
	return out
}

// apply hands an update's proposal to the broker's queue.
func (m *leaderModel) apply(u Update) {
	if u.Proposal != nil {
		m.queued = append(m.queued, *u.Proposal)
	}
}

func (m *leaderModel) step() {
	m.now = m.now.Add(time.Duration(m.rng.IntN(1500)) * time.Millisecond)
	followers := m.replicas[1:]
	switch op := m.rng.IntN(20); {
	case op < 4:
		m.leo += Offset(m.rng.IntN(5))
		m.apply(m.s.OnLeaderAppend(m.leo))
		m.note("append leo=%d", m.leo)
	case op < 9:
		// A follower fetches: it gets some of what the leader has, or
		// nothing (it stalls), and fetches from its log end.
		id := followers[m.rng.IntN(len(followers))]
		if m.rng.IntN(3) > 0 {
			m.logEnd[id] = min(m.leo, m.logEnd[id]+Offset(m.rng.IntN(8)))
		}
		u, err := m.s.OnFollowerFetch(id, m.logEnd[id], m.now)
		if err != nil {
			panic(err)
		}
		m.apply(u)
		m.note("fetch %d at %d", id, m.logEnd[id])
	case op < 11:
		m.apply(m.s.Tick(m.now))
		m.note("tick")
	case op < 13:
		m.sendOrAnswer()
	case op < 16:
		m.deliverImage()
	case op < 17:
		// The controller fences a follower (its heartbeats stopped): it
		// leaves the ISR in a change of the controller's own.
		id := followers[m.rng.IntN(len(followers))]
		if !m.fenced[id] && slices.Contains(m.ctrl.ISR, id) {
			m.fenced[id] = true
			m.commit(without(m.ctrl.ISR, id))
			m.note("controller fences %d", id)
		}
	case op < 18:
		id := followers[m.rng.IntN(len(followers))]
		if m.fenced[id] {
			delete(m.fenced, id)
			m.note("controller unfences %d", id)
		}
	default:
		// Every image re-applies the partition: the state held, again.
		u, err := m.s.OnPartitionChange(m.delivered, m.now)
		if err != nil {
			panic(err)
		}
		m.apply(u)
		m.note("image again pe=%d", m.delivered.PartitionEpoch)
	}
}

// commit writes a new controller state, which reaches the leader through
// the image later.
func (m *leaderModel) commit(isr []BrokerID) {
	m.ctrl = PartitionState{LeaderEpoch: m.ctrl.LeaderEpoch, PartitionEpoch: m.ctrl.PartitionEpoch + 1,
		Replicas: m.replicas, ISR: slices.Clone(isr)}
	m.images = append(m.images, m.ctrl)
}

func (m *leaderModel) deliverImage() {
	if len(m.images) == 0 {
		return
	}
	m.delivered, m.images = m.images[0], m.images[1:]
	u, err := m.s.OnPartitionChange(m.delivered, m.now)
	if err != nil {
		panic(err)
	}
	m.apply(u)
	m.note("image pe=%d isr=%v", m.delivered.PartitionEpoch, m.delivered.ISR)
}

// sendOrAnswer sends the next queued change, or settles the one in
// flight: the controller decides it (or never sees it), and the answer
// reaches the leader (or is lost).
func (m *leaderModel) sendOrAnswer() {
	if m.inFlight == nil {
		if len(m.queued) == 0 {
			return
		}
		c := m.queued[0]
		m.queued = m.queued[1:]
		m.inFlight = &c
		m.note("send %v@%d", c.NewISR, c.PartitionEpoch)
		return
	}
	c := *m.inFlight
	m.inFlight = nil
	reached := m.rng.IntN(5) > 0
	answered := m.rng.IntN(4) > 0
	if !reached {
		m.apply(m.s.OnISRChangeRefused(c, ISRChangeUnknown))
		m.note("request %v@%d lost", c.NewISR, c.PartitionEpoch)
		return
	}
	ps, outcome, ok := m.decide(c)
	switch {
	case !answered:
		m.apply(m.s.OnISRChangeRefused(c, ISRChangeUnknown))
		m.note("answer to %v@%d lost", c.NewISR, c.PartitionEpoch)
	case ok:
		u, err := m.s.OnISRChangeAnswered(c, ps)
		if err != nil {
			panic(err)
		}
		m.apply(u)
		m.note("answered %v@%d: %v@%d", c.NewISR, c.PartitionEpoch, ps.ISR, ps.PartitionEpoch)
	default:
		m.apply(m.s.OnISRChangeRefused(c, outcome))
		m.note("refused %v@%d: %d", c.NewISR, c.PartitionEpoch, outcome)
	}
}

// decide is the controller's AlterPartition rule (metadata's
// DecideAlterPartition, reduced to one partition).
func (m *leaderModel) decide(c ISRChange) (PartitionState, ISRChangeOutcome, bool) {
	if c.PartitionEpoch != m.ctrl.PartitionEpoch {
		return PartitionState{}, ISRChangeStale, false
	}
	for _, id := range c.NewISR {
		if m.fenced[id] && !slices.Contains(m.ctrl.ISR, id) {
			return PartitionState{}, ISRChangeRejected, false
		}
	}
	if !SameMembers(c.NewISR, m.ctrl.ISR) {
		m.commit(c.NewISR)
	}
	return m.ctrl, 0, true
}

// check is the safety property, plus the HW's monotonicity.
func (m *leaderModel) check() error {
	hw := m.s.HighWatermark()
	if hw < m.prevHW {
		return fmt.Errorf("HW went down from %d to %d", m.prevHW, hw)
	}
	m.prevHW = hw
	for _, id := range m.ctrl.ISR {
		if id != 1 && m.logEnd[id] < hw {
			return fmt.Errorf("HW %d is past the log end %d of follower %d, which the controller holds in the ISR %v",
				hw, m.logEnd[id], id, m.ctrl.ISR)
		}
	}
	if hw > m.leo {
		return fmt.Errorf("HW %d past the leader's log end %d", hw, m.leo)
	}
	return nil
}

// settle runs the partition without faults: every follower unfenced and
// fetching everything, every request answered, every image delivered. It
// must end with nothing pending and every follower in the ISR, on both
// sides, and the HW at the leader's log end.
func (m *leaderModel) settle() error {
	clear(m.fenced)
	for round := 0; round < 50; round++ {
		m.now = m.now.Add(time.Second)
		for _, id := range m.replicas[1:] {
			m.logEnd[id] = m.leo
			u, err := m.s.OnFollowerFetch(id, m.leo, m.now)
			if err != nil {
				return err
			}
			m.apply(u)
		}
		m.apply(m.s.Tick(m.now))
		for m.inFlight != nil || len(m.queued) > 0 {
			if m.inFlight == nil {
				c := m.queued[0]
				m.queued, m.inFlight = m.queued[1:], &c
			}
			c := *m.inFlight
			m.inFlight = nil
			if ps, outcome, ok := m.decide(c); ok {
				u, err := m.s.OnISRChangeAnswered(c, ps)
				if err != nil {
					return err
				}
				m.apply(u)
			} else {
				m.apply(m.s.OnISRChangeRefused(c, outcome))
			}
		}
		for len(m.images) > 0 {
			m.deliverImage()
		}
		if err := m.check(); err != nil {
			return err
		}
	}
	switch {
	case m.s.Pending() != nil:
		return fmt.Errorf("settled with a change pending: %+v", m.s.Pending())
	case len(m.s.ISR()) != len(m.replicas) || len(m.ctrl.ISR) != len(m.replicas):
		return fmt.Errorf("settled with ISR %v (controller %v), replicas %v", m.s.ISR(), m.ctrl.ISR, m.replicas)
	case m.s.HighWatermark() != m.leo:
		return fmt.Errorf("settled with HW %d below the log end %d", m.s.HighWatermark(), m.leo)
	}
	return nil
}

func without(ids []BrokerID, id BrokerID) []BrokerID {
	var out []BrokerID
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
