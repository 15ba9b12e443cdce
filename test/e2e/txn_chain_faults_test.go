package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fault schedule of TestTxnChain. A seed picks the kinds of faults and
// their order; which broker each hits also depends on where coordinators
// and leaders happen to be. Most broker faults take one node at a time, so
// that the chain must keep moving while it is down, but back to back: a
// second broker may die while the first is still catching up, and copiers
// die while a broker is down, paused or restarting; two kinds take
// min.insync.replicas or the whole cluster down. Each step waits on
// events: the chain moving records through its last stage, a node fenced,
// a process up, every ISR full again.

// Records the last stage must gain while a broker is down, and after a
// step when the next does not follow back to back.
const (
	progressDuringFault = 20
	progressAfterFault  = 40
)

// copierJoinTimeout bounds the wait for a replacement copier's client to
// start.
const copierJoinTimeout = 30 * time.Second

// chainSchedule runs one seed's faults against a chain.
type chainSchedule struct {
	t   *testing.T
	ctx context.Context
	c   *txnChain
	rng *rand.Rand
}

// chainFault is one kind of step: run injects its faults, waits and heals
// them, and says what it did.
type chainFault struct {
	name string
	run  func() string
}

func runTxnChainSchedule(t *testing.T, ctx context.Context, c *txnChain, seed int64, steps int) {
	// The two protocols draw different schedules from one seed, so that
	// the default single seed covers more kinds.
	stream := uint64(0)
	if c.kip848 {
		stream = 2
	}
	s := &chainSchedule{t: t, ctx: ctx, c: c, rng: rand.New(rand.NewPCG(uint64(seed), stream))}
	kinds := rand.New(rand.NewPCG(uint64(seed), stream+1))
	faults := s.faults()
	// FJORD_TXN_CHAIN_FAULTS keeps the kinds whose name contains it, to
	// hunt around one fault.
	if only := os.Getenv("FJORD_TXN_CHAIN_FAULTS"); only != "" {
		faults = slices.DeleteFunc(faults, func(f chainFault) bool { return !strings.Contains(f.name, only) })
		if len(faults) == 0 {
			t.Fatalf("FJORD_TXN_CHAIN_FAULTS=%q matches no fault kind", only)
		}
	}
	// Every kind once in a shuffled order, then kinds drawn with
	// repetition.
	order := kinds.Perm(len(faults))
	for step := range steps {
		f := faults[kinds.IntN(len(faults))]
		if step < len(order) {
			f = faults[order[step]]
		}
		c.logf("step %d: %s", step+1, f.name)
		did := f.run()
		c.steps = append(c.steps, fmt.Sprintf("%v step %d: %s: %s", time.Since(c.began).Round(time.Millisecond), step+1, f.name, did))
		c.logf("step %d done: %s; %s", step+1, did, c.progress())
		if s.coin() && step < steps-1 {
			c.logf("next step back to back")
			continue
		}
		c.waitProgress(ctx, progressAfterFault, fmt.Sprintf("after step %d (%s)", step+1, f.name))
	}
}

func (s *chainSchedule) coin() bool { return s.rng.IntN(2) == 0 }

// faults are the kinds of steps a schedule draws from, in a fixed order
// (a seed's schedule depends on it).
func (s *chainSchedule) faults() []chainFault {
	return slices.Concat(s.brokerKillFaults(), s.outageFaults(), s.pauseFaults(), s.copierFaults())
}

// brokerKillFaults kill one node at a time: a coordinator, a leader, or a
// coordinator and then its successor as soon as the first is back.
func (s *chainSchedule) brokerKillFaults() []chainFault {
	return []chainFault{
		{"SIGKILL the transaction coordinator of a copier's transactional id", func() string {
			slot := s.randomSlot()
			n := s.txnCoordinator(slot.txnID)
			return fmt.Sprintf("coordinator of %s: %s", slot.txnID, s.brokerDown(n, func() string {
				// The copier using the id dies too: its replacement's
				// InitProducerId meets the moving coordinator.
				return "and its copier: " + s.replaceCopier(slot, false)
			}))
		}},
		{"SIGKILL the group coordinator of a stage's group", func() string {
			stage := s.rng.IntN(txnChainStages) + 1
			group := chainGroup(s.c.pool.prefix, stage)
			n := s.groupCoordinator(group)
			return fmt.Sprintf("coordinator of %s: %s", group, s.brokerDown(n, func() string {
				return "and a member: " + s.replaceCopier(s.randomSlotOf(stage), false)
			}))
		}},
		{"SIGKILL a partition leader of a chain topic", func() string {
			topic := txnChainTopic(s.rng.IntN(txnChainStages + 1))
			p := int32(s.rng.IntN(txnChainPartitions))
			n := leaderOf(s.t, s.ctx, s.c.adm, topic, p)
			return fmt.Sprintf("leader of %s/%d: %s", topic, p, s.brokerDown(n, s.copierFault))
		}},
		{"SIGKILL a transaction coordinator, then the next one as soon as the first is back", func() string {
			slot := s.randomSlot()
			first := s.txnCoordinator(slot.txnID)
			s.killBroker(first)
			s.c.waitProgress(s.ctx, progressDuringFault, fmt.Sprintf("with node %d down", first))
			s.relaunchBroker(first, nil)
			// Right away, before the first has caught up and rejoined
			// every ISR.
			second := s.txnCoordinator(slot.txnID)
			s.killBroker(second)
			s.relaunchBroker(second, s.copierFault)
			s.c.waitISR(s.ctx, fmt.Sprintf("nodes %d and %d back", first, second))
			return fmt.Sprintf("coordinators of %s: node %d, then node %d", slot.txnID, first, second)
		}},
	}
}

// outageFaults take min.insync.replicas or the whole cluster down.
func (s *chainSchedule) outageFaults() []chainFault {
	return []chainFault{
		// Row 3 and row 4 of RELIABILITY.md §4 under transactions: with
		// min.insync.replicas unmet, or every node down, nothing is
		// acknowledged, coordinators cannot write, markers wait; after
		// the restart every transaction must finish one way, the
		// coordinators reload __transaction_state and
		// __consumer_offsets (pending offsets included), and the logs
		// their producer state and aborted-transaction index.
		{"SIGKILL two brokers at once", func() string {
			spared := int32(s.rng.IntN(len(s.c.servers)) + 1)
			var down []int32
			for n := int32(1); n <= int32(len(s.c.servers)); n++ {
				if n != spared {
					s.killBroker(n)
					down = append(down, n)
				}
			}
			did := fmt.Sprintf("nodes %v", down)
			if s.coin() {
				did += ", " + s.copierFault()
			}
			did += s.relaunchBrokers(down)
			s.c.waitISR(s.ctx, fmt.Sprintf("nodes %v back", down))
			return did
		}},
		{"SIGKILL every broker at once", func() string {
			var all []int32
			for n := int32(1); n <= int32(len(s.c.servers)); n++ {
				s.killBroker(n)
				all = append(all, n)
			}
			did := "every node" + s.relaunchBrokers(all)
			s.c.waitISR(s.ctx, "every node back")
			return did
		}},
	}
}

// pauseFaults SIGSTOP a coordinator or a copier and resume it as a zombie.
func (s *chainSchedule) pauseFaults() []chainFault {
	return []chainFault{
		// RELIABILITY.md §4 row 7 for the coordinators: paused past
		// broker.session.timeout.ms, the node is fenced and its
		// partitions, __transaction_state's and __consumer_offsets'
		// among them, move; resumed, it is a zombie until it learns so,
		// and must not complete or write anything at its old epochs.
		{"SIGSTOP the transaction coordinator of a copier's transactional id", func() string {
			slot := s.randomSlot()
			n := s.txnCoordinator(slot.txnID)
			return fmt.Sprintf("coordinator of %s: %s", slot.txnID, s.brokerPaused(n))
		}},
		{"SIGSTOP the group coordinator of a stage's group", func() string {
			group := chainGroup(s.c.pool.prefix, s.rng.IntN(txnChainStages)+1)
			return fmt.Sprintf("coordinator of %s: %s", group, s.brokerPaused(s.groupCoordinator(group)))
		}},
		// The zombie copier: paused past its session timeout, its
		// partitions go to the other members and the chain moves on;
		// resumed, it may be mid-transaction and try to commit, which
		// the group coordinator must refuse (stale generation or member
		// epoch) or the transaction coordinator (timed out, fenced).
		{"SIGSTOP a copier until its stage moved on without it, then SIGCONT", func() string {
			slot := s.randomSlot()
			name := s.c.pool.pause(slot)
			s.c.logf("SIGSTOP copier %s (%s)", name, slot.txnID)
			s.c.waitProgress(s.ctx, progressDuringFault, fmt.Sprintf("with copier %s paused", name))
			s.c.pool.resume(slot)
			s.c.logf("SIGCONT copier %s", name)
			return fmt.Sprintf("copier %s paused, its stage moved on, resumed", name)
		}},
	}
}

// copierFaults kill copier processes, or change a group's size.
func (s *chainSchedule) copierFaults() []chainFault {
	return []chainFault{
		{"SIGKILL a copier; its replacement takes its transactional id", func() string {
			return s.replaceCopier(s.randomSlot(), false)
		}},
		{"SIGKILL a copier; its replacement takes a fresh transactional id", func() string {
			// What the killed copier left open holds its partitions'
			// last stable offset until the coordinator's timeout aborts it.
			return s.replaceCopier(s.randomSlot(), true)
		}},
		{"SIGKILL a copier, then another of its stage while the replacement starts", func() string {
			slot := s.randomSlot()
			did := s.replaceCopier(slot, false)
			s.waitCopierStarted(slot)
			for _, other := range s.c.pool.live(slot.stage) {
				if other != slot {
					return did + "; then " + s.replaceCopier(other, s.coin())
				}
			}
			return did
		}},
		{"SIGKILL every copier of a stage", func() string {
			stage := s.rng.IntN(txnChainStages) + 1
			slots := s.c.pool.live(stage)
			var killed []string
			for _, slot := range slots {
				killed = append(killed, s.c.pool.kill(slot))
			}
			for _, slot := range slots {
				s.c.pool.start(slot)
			}
			return fmt.Sprintf("stage %d: %v, replaced", stage, killed)
		}},
		{"a copier joins or leaves a stage's group", func() string {
			stage := s.rng.IntN(txnChainStages) + 1
			if live := s.c.pool.live(stage); len(live) > txnChainCopiers {
				return fmt.Sprintf("stage %d: %s leaves", stage, s.c.pool.stopSlot(live[s.rng.IntN(len(live))]))
			}
			slot := s.c.pool.addSlot(stage)
			return fmt.Sprintf("stage %d: %s joins", stage, slot.txnID)
		}},
	}
}

// copierFault is the fault injected while a broker is down or restarting:
// a copier killed and replaced, with its transactional id or a fresh one.
func (s *chainSchedule) copierFault() string {
	return s.replaceCopier(s.randomSlot(), s.rng.IntN(4) == 0)
}

// brokerDown kills node n, waits for the chain to move without it
// (maybe running during first), restarts it (maybe running a copier fault
// while it starts) and waits until every ISR is full again.
func (s *chainSchedule) brokerDown(n int32, during func() string) string {
	s.killBroker(n)
	did := fmt.Sprintf("node %d", n)
	if s.coin() {
		did += ", " + during()
	}
	s.c.waitProgress(s.ctx, progressDuringFault, fmt.Sprintf("with node %d down", n))
	var whileRestarting func() string
	if s.coin() {
		whileRestarting = s.copierFault
	}
	if extra := s.relaunchBroker(n, whileRestarting); extra != "" {
		did += "; while it restarted, " + extra
	}
	s.c.waitISR(s.ctx, fmt.Sprintf("node %d back", n))
	return did
}

// brokerPaused SIGSTOPs node n and resumes it once the cluster fenced it
// and the input moved on without it, then waits until every ISR is full
// again. It does not wait for the whole chain to move while n is paused:
// requests in flight to a silent node wait out their timeouts (kgo keeps a
// silent coordinator for its 30 s retry timeout; a coordinator's markers
// to a silent leader wait out the 30 s request.timeout.ms, as in Kafka),
// which would make the step a minute long; the chain must move after the
// resume, when the zombie still believes what it believed when paused.
func (s *chainSchedule) brokerPaused(n int32) string {
	s.c.servers[n-1].Pause()
	s.c.logf("SIGSTOP node %d", n)
	ctx, cancel := context.WithTimeout(s.ctx, chainProgressTimeout)
	defer cancel()
	eventually(s.t, ctx, fmt.Sprintf("node %d fenced", n), func() (bool, string) {
		md, err := s.c.adm.Metadata(ctx)
		if err != nil {
			return false, err.Error()
		}
		return !slices.Contains(md.Brokers.NodeIDs(), n), fmt.Sprintf("brokers %v", md.Brokers.NodeIDs())
	})
	s.c.input.h.waitFor(s.t, ctx, progressDuringFault, fmt.Sprintf("input acknowledged with node %d paused", n))
	did := fmt.Sprintf("node %d paused until fenced", n)
	if s.coin() {
		did += ", " + s.copierFault()
	}
	s.c.servers[n-1].Resume()
	s.c.logf("SIGCONT node %d", n)
	s.c.waitISR(s.ctx, fmt.Sprintf("node %d resumed", n))
	return did + ", resumed"
}

func (s *chainSchedule) killBroker(n int32) {
	s.c.servers[n-1].Kill()
	s.c.logf("SIGKILL node %d", n)
}

// relaunchBroker starts node n again and waits until it serves; during,
// when not nil, runs while it starts.
func (s *chainSchedule) relaunchBroker(n int32, during func() string) string {
	wait := s.c.servers[n-1].Relaunch(s.t)
	did := ""
	if during != nil {
		did = during()
	}
	wait()
	s.c.logf("node %d restarted", n)
	return did
}

// relaunchBrokers starts the nodes again together (a quorum needs more
// than one) and waits until each serves; a copier may die meanwhile.
func (s *chainSchedule) relaunchBrokers(nodes []int32) string {
	var waits []func()
	for _, n := range nodes {
		waits = append(waits, s.c.servers[n-1].Relaunch(s.t))
	}
	did := ""
	if s.coin() {
		did = "; while they restarted, " + s.copierFault()
	}
	for _, wait := range waits {
		wait()
	}
	s.c.logf("nodes %v restarted", nodes)
	return did
}

// replaceCopier SIGKILLs slot's copier and starts a replacement, with a
// fresh transactional id if fresh.
func (s *chainSchedule) replaceCopier(slot *copierSlot, fresh bool) string {
	killed := s.c.pool.kill(slot)
	old := slot.txnID
	if fresh {
		s.c.pool.freshTransactionalID(slot)
	}
	p := s.c.pool.start(slot)
	name := "(none)"
	if p != nil {
		name = p.spec.Name
	}
	s.c.logf("SIGKILL copier %s (%s); replaced by %s (%s)", killed, old, name, slot.txnID)
	if fresh {
		return fmt.Sprintf("copier %s killed, %s replaces it with a fresh transactional id", killed, name)
	}
	return fmt.Sprintf("copier %s killed, %s replaces it", killed, name)
}

// waitCopierStarted waits until slot's copier has its client up (not yet
// its partitions).
func (s *chainSchedule) waitCopierStarted(slot *copierSlot) {
	ctx, cancel := context.WithTimeout(s.ctx, copierJoinTimeout)
	defer cancel()
	eventually(s.t, ctx, "replacement copier started", func() (bool, string) {
		s.c.pool.mu.Lock()
		p := slot.proc
		s.c.pool.mu.Unlock()
		if p == nil {
			return false, "no process in the slot"
		}
		started, _ := p.state()
		return started, p.spec.Name
	})
}

// randomSlot picks a live copier slot of any stage.
func (s *chainSchedule) randomSlot() *copierSlot {
	return s.randomSlotOf(s.rng.IntN(txnChainStages) + 1)
}

func (s *chainSchedule) randomSlotOf(stage int) *copierSlot {
	live := s.c.pool.live(stage)
	if len(live) == 0 {
		s.t.Fatalf("stage %d has no copier: %s", stage, s.c.pool.status())
	}
	return live[s.rng.IntN(len(live))]
}

// txnCoordinator asks the cluster (FindCoordinator) which node coordinates
// a transactional id.
func (s *chainSchedule) txnCoordinator(txnID string) int32 {
	var node int32
	eventually(s.t, s.ctx, "transaction coordinator of "+txnID, func() (bool, string) {
		r, ok := s.c.adm.FindTxnCoordinators(s.ctx, txnID)[txnID]
		switch {
		case !ok:
			return false, "no answer"
		case r.Err != nil:
			return false, r.Err.Error()
		}
		node = r.NodeID
		return node > 0, fmt.Sprint(node)
	})
	return node
}

// groupCoordinator asks the cluster which node coordinates a group.
func (s *chainSchedule) groupCoordinator(group string) int32 {
	var node int32
	eventually(s.t, s.ctx, "group coordinator of "+group, func() (bool, string) {
		r, ok := s.c.adm.FindGroupCoordinators(s.ctx, group)[group]
		switch {
		case !ok:
			return false, "no answer"
		case r.Err != nil:
			return false, r.Err.Error()
		}
		node = r.NodeID
		return node > 0, fmt.Sprint(node)
	})
	return node
}
