package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The copier processes of TestTxnChain, seen from the test: each stage has
// slots, one per member its group should have; a slot holds a
// transactional id and the process using it. A process that exits on its
// own (it gave up on a transaction) is replaced in its slot; one the test
// kills is replaced when the fault schedule says.

// copierStopTimeout bounds how long a copier takes to leave its group and
// exit once its stdin closes.
const copierStopTimeout = 30 * time.Second

// copierRespawnBackoff spaces the replacements of a copier that keeps
// giving up, and copierMaxRespawns bounds them: a copier that gives up on
// every transaction is a failure to report, not to retry forever.
const (
	copierRespawnBackoff = 500 * time.Millisecond
	copierMaxRespawns    = 40
)

// copierLogLines is how many of its last output lines each copier keeps
// for a failure's log.
const copierLogLines = 60

// txnChainLogDirEnv names a directory where, when set, every copier's
// whole output and, at the end of a run, every broker's log are written.
const txnChainLogDirEnv = "FJORD_TXN_CHAIN_LOG_DIR"

// copierSlot is one member place of a stage's group.
type copierSlot struct {
	stage, index int
	txnID        string
	generation   int         // bumped when the slot takes a fresh transactional id
	proc         *copierProc // nil while empty
}

// copierProc is one copier process.
type copierProc struct {
	spec  copierSpec
	slot  *copierSlot
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed once its output is drained and it is reaped

	mu struct {
		sync.Mutex
		file     *os.File // its whole output, under txnChainLogDirEnv; nil without
		ending   string   // "killed" or "stopped" once the test ends it
		lines    []string
		started  bool // its client is up
		assigned bool // it was given partitions at least once
		exitErr  error
	}
}

func (p *copierProc) addLine(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.file != nil {
		fmt.Fprintln(p.mu.file, line)
	}
	p.mu.lines = append(p.mu.lines, line)
	if len(p.mu.lines) > copierLogLines {
		p.mu.lines = p.mu.lines[len(p.mu.lines)-copierLogLines:]
	}
}

// state says whether the copier's client is up and whether it was
// given partitions.
func (p *copierProc) state() (started, assigned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.started, p.mu.assigned
}

// timedCopierEvent is a copier event with the copier that reported it.
type timedCopierEvent struct {
	Copier string `json:"copier"`
	copierEvent
}

// stageTally counts a stage's transactions.
type stageTally struct {
	Committed, Aborted, GaveUp, FetchErrors, Killed, Exited int
}

// copierPool runs the copier processes of every stage. Lock order:
// copierPool.mu before copierProc.mu; neither is held while waiting for a
// process.
type copierPool struct {
	t       *testing.T
	brokers []string
	kip848  bool
	prefix  string         // of groups and transactional ids
	wg      sync.WaitGroup // every watch goroutine

	mu struct {
		sync.Mutex
		slots       [][]*copierSlot // by stage, from 1
		incarnation []int           // by stage
		procs       []*copierProc
		events      []timedCopierEvent
		tally       []stageTally
		anomalies   []string
		closed      bool
		respawned   int
	}
}

func chainGroup(prefix string, stage int) string { return fmt.Sprintf("%s-stage-%d", prefix, stage) }

// newCopierPool starts perStage copiers in each stage; they are killed
// when the test ends, if still running.
func newCopierPool(t *testing.T, brokers []string, kip848 bool, prefix string, perStage int) *copierPool {
	t.Helper()
	pool := &copierPool{t: t, brokers: brokers, kip848: kip848, prefix: prefix}
	pool.mu.slots = make([][]*copierSlot, txnChainStages+1)
	pool.mu.incarnation = make([]int, txnChainStages+1)
	pool.mu.tally = make([]stageTally, txnChainStages+1)
	t.Cleanup(pool.close)
	for stage := 1; stage <= txnChainStages; stage++ {
		for range perStage {
			pool.addSlot(stage)
		}
	}
	return pool
}

// addSlot adds a member place to stage and starts its copier.
func (pool *copierPool) addSlot(stage int) *copierSlot {
	pool.mu.Lock()
	slot := &copierSlot{stage: stage, index: len(pool.mu.slots[stage])}
	slot.txnID = fmt.Sprintf("%s-s%d-t%d-g0", pool.prefix, stage, slot.index)
	pool.mu.slots[stage] = append(pool.mu.slots[stage], slot)
	pool.mu.Unlock()
	pool.start(slot)
	return slot
}

// start runs a new copier process in slot, unless the pool is closed.
func (pool *copierPool) start(slot *copierSlot) *copierProc {
	pool.mu.Lock()
	if pool.mu.closed {
		pool.mu.Unlock()
		return nil
	}
	pool.mu.incarnation[slot.stage]++
	spec := copierSpec{
		Name:            fmt.Sprintf("s%d-c%d", slot.stage, pool.mu.incarnation[slot.stage]),
		Brokers:         pool.brokers,
		Stage:           slot.stage,
		In:              txnChainTopic(slot.stage - 1),
		Out:             txnChainTopic(slot.stage),
		Group:           chainGroup(pool.prefix, slot.stage),
		TransactionalID: slot.txnID,
		KIP848:          pool.kip848,
	}
	pool.mu.Unlock()
	raw, err := json.Marshal(spec)
	if err != nil {
		panic(err) // copierSpec always marshals
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestTxnChainCopierProcess$")
	cmd.Env = append(os.Environ(), txnChainCopierEnv+"="+string(raw))
	p := &copierProc{spec: spec, slot: slot, cmd: cmd, done: make(chan struct{})}
	// The copier exits when its stdin closes, so it cannot outlive this
	// test process even if the test binary itself is killed.
	var stdout, stderr io.ReadCloser
	p.stdin, err = cmd.StdinPipe()
	if err == nil {
		stdout, err = cmd.StdoutPipe()
	}
	if err == nil {
		stderr, err = cmd.StderrPipe()
	}
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		pool.t.Errorf("starting copier %s: %v", spec.Name, err)
		return nil
	}
	if dir := os.Getenv(txnChainLogDirEnv); dir != "" {
		f, err := os.Create(filepath.Join(dir, pool.prefix+"-"+spec.Name+".log"))
		if err != nil {
			pool.t.Errorf("%s: %v", txnChainLogDirEnv, err)
		}
		p.mu.file = f // before watch starts
	}
	pool.mu.Lock()
	closed := pool.mu.closed
	if !closed {
		slot.proc = p
		pool.mu.procs = append(pool.mu.procs, p)
	}
	pool.mu.Unlock()
	if closed { // closed while it started: close has not seen it
		p.mu.ending = "killed"
		_ = cmd.Process.Kill()
	}
	pool.wg.Go(func() { pool.watch(p, stdout, stderr) })
	if closed {
		<-p.done
		return nil
	}
	return p
}

// watch reads a copier's output until it exits, then reaps it and, if it
// ended on its own, replaces it.
func (pool *copierPool) watch(p *copierProc, stdout, stderr io.Reader) {
	var wg sync.WaitGroup
	wg.Go(func() {
		scanner := bufio.NewScanner(stderr)
		for scanner.Scan() {
			p.addLine("stderr: " + scanner.Text())
		}
	})
	p.mu.Lock()
	keepAll := p.mu.file != nil
	p.mu.Unlock()
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		line := scanner.Text()
		rest, ok := strings.CutPrefix(line, txnChainEventPrefix)
		if !ok {
			p.addLine(line)
			continue
		}
		var ev copierEvent
		if err := json.Unmarshal([]byte(rest), &ev); err != nil {
			p.addLine("bad event: " + line)
			continue
		}
		pool.note(p, ev)
		if ev.Kind != "txn" || ev.Err != "" || ev.Note != "" || ev.Anomaly != "" || keepAll {
			p.addLine(rest)
		}
	}
	wg.Wait()
	err := p.cmd.Wait()
	p.addLine(fmt.Sprintf("exit: %v", err))
	p.mu.Lock()
	if p.mu.file != nil {
		p.mu.file.Close()
		p.mu.file = nil
	}
	p.mu.exitErr = err
	ending := p.mu.ending
	p.mu.Unlock()
	close(p.done)
	if ending != "" {
		return
	}
	pool.mu.Lock()
	pool.mu.tally[p.spec.Stage].Exited++
	pool.mu.Unlock()
	pool.t.Logf("copier %s (%s) exited on its own: %v; last output:\n%s", p.spec.Name, p.spec.TransactionalID, err, p.lastLines(8))
	pool.respawn(p)
}

// respawn replaces p, which exited on its own, in its slot, unless the
// slot was emptied or filled meanwhile, the pool is closed, or copiers gave
// up too often.
func (pool *copierPool) respawn(p *copierProc) {
	time.Sleep(copierRespawnBackoff) // not waiting for an event: spacing the retries of a failing copier
	pool.mu.Lock()
	ours := p.slot.proc == p && !pool.mu.closed
	if ours {
		p.slot.proc = nil
		pool.mu.respawned++
	}
	tooMany := pool.mu.respawned > copierMaxRespawns
	pool.mu.Unlock()
	switch {
	case !ours:
	case tooMany:
		pool.t.Errorf("copiers gave up %d times; not replacing %s", copierMaxRespawns, p.spec.Name)
	default:
		if next := pool.start(p.slot); next != nil {
			pool.t.Logf("copier %s replaces %s in slot s%d/%d (%s)", next.spec.Name, p.spec.Name, p.slot.stage, p.slot.index, p.slot.txnID)
		}
	}
}

// note records one event of p.
func (pool *copierPool) note(p *copierProc, ev copierEvent) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	pool.mu.events = append(pool.mu.events, timedCopierEvent{Copier: p.spec.Name, copierEvent: ev})
	tally := &pool.mu.tally[p.spec.Stage]
	switch {
	case ev.Kind == "txn" && ev.Committed:
		tally.Committed++
	case ev.Kind == "txn" && ev.Err != "":
		tally.GaveUp++
	case ev.Kind == "txn":
		tally.Aborted++
	case ev.Kind == "error":
		tally.FetchErrors++
	case ev.Kind == "started":
		p.mu.Lock()
		p.mu.started = true
		p.mu.Unlock()
	case ev.Kind == "assigned" && len(ev.Partitions) > 0:
		p.mu.Lock()
		p.mu.assigned = true
		p.mu.Unlock()
	}
	if ev.Anomaly != "" {
		pool.mu.anomalies = append(pool.mu.anomalies, fmt.Sprintf("copier %s transaction %d: %s", p.spec.Name, ev.Txn, ev.Anomaly))
	}
}

// live returns the slots of stage that hold a process.
func (pool *copierPool) live(stage int) []*copierSlot {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	var out []*copierSlot
	for _, s := range pool.mu.slots[stage] {
		if s.proc != nil {
			out = append(out, s)
		}
	}
	return out
}

// kill SIGKILLs the process in slot, if any, waits until it is reaped and
// leaves the slot empty. It returns the process's name.
func (pool *copierPool) kill(slot *copierSlot) string {
	pool.mu.Lock()
	p := slot.proc
	slot.proc = nil
	if p != nil {
		pool.mu.tally[slot.stage].Killed++
	}
	pool.mu.Unlock()
	if p == nil {
		return "(none)"
	}
	p.mu.Lock()
	p.mu.ending = "killed"
	p.mu.Unlock()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		pool.t.Errorf("SIGKILL copier %s: %v", p.spec.Name, err)
	}
	<-p.done
	return p.spec.Name
}

// pause SIGSTOPs slot's copier and returns its name; resume continues it.
// A paused copier can still be killed.
func (pool *copierPool) pause(slot *copierSlot) string { return pool.signal(slot, syscall.SIGSTOP) }

func (pool *copierPool) resume(slot *copierSlot) string { return pool.signal(slot, syscall.SIGCONT) }

func (pool *copierPool) signal(slot *copierSlot, sig syscall.Signal) string {
	pool.mu.Lock()
	p := slot.proc
	pool.mu.Unlock()
	if p == nil {
		return "(none)"
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		pool.t.Errorf("%v copier %s: %v", sig, p.spec.Name, err)
	}
	return p.spec.Name
}

// freshTransactionalID gives slot a transactional id never used before, so
// that its next copier does not fence (and so abort) what the last one
// left open: the coordinator's timeout must.
func (pool *copierPool) freshTransactionalID(slot *copierSlot) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	slot.generation++
	slot.txnID = fmt.Sprintf("%s-s%d-t%d-g%d", pool.prefix, slot.stage, slot.index, slot.generation)
}

// stopSlot ends slot's copier gracefully (it leaves its group) and removes
// the slot.
func (pool *copierPool) stopSlot(slot *copierSlot) string {
	pool.mu.Lock()
	p := slot.proc
	slot.proc = nil
	slots := pool.mu.slots[slot.stage]
	for i, s := range slots {
		if s == slot {
			pool.mu.slots[slot.stage] = append(slots[:i:i], slots[i+1:]...)
			break
		}
	}
	pool.mu.Unlock()
	if p == nil {
		return "(none)"
	}
	pool.stop(p)
	return p.spec.Name
}

// stop closes p's stdin and waits until it exits, killing it after
// copierStopTimeout.
func (pool *copierPool) stop(p *copierProc) {
	p.mu.Lock()
	p.mu.ending = "stopped"
	p.mu.Unlock()
	p.stdin.Close()
	select {
	case <-p.done:
		// A copier may give up on the transaction it was ending when
		// its stdin closed (exit status copierExitGaveUp); its event
		// says so and the checks judge its outcome.
		if err := p.exitError(); err != nil {
			pool.t.Logf("copier %s exited with %v after its stdin closed; last output:\n%s", p.spec.Name, err, p.lastLines(8))
		}
	case <-time.After(copierStopTimeout):
		pool.t.Errorf("copier %s still running %v after its stdin closed; killing it; last output:\n%s",
			p.spec.Name, copierStopTimeout, p.lastLines(copierLogLines))
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *copierProc) exitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.exitErr
}

func (p *copierProc) lastLines(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.mu.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// stopAll stops every copier gracefully, all at once.
func (pool *copierPool) stopAll() {
	pool.mu.Lock()
	pool.mu.closed = true
	var running []*copierProc
	for _, slots := range pool.mu.slots {
		for _, s := range slots {
			if s.proc != nil {
				running = append(running, s.proc)
				s.proc = nil
			}
		}
	}
	pool.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range running {
		wg.Go(func() { pool.stop(p) })
	}
	wg.Wait()
}

// close kills whatever copier still runs and waits for the pool's
// goroutines; on failure it logs each copier's last output.
func (pool *copierPool) close() {
	pool.mu.Lock()
	pool.mu.closed = true
	procs := append([]*copierProc(nil), pool.mu.procs...)
	pool.mu.Unlock()
	for _, p := range procs {
		p.mu.Lock()
		if p.mu.ending == "" {
			p.mu.ending = "killed"
		}
		p.mu.Unlock()
		_ = p.cmd.Process.Kill() // reaped already, or reaped by watch
		<-p.done
	}
	pool.wg.Wait()
	if pool.t.Failed() {
		for _, p := range procs {
			pool.t.Logf("copier %s (%s) exit %v; last output:\n%s", p.spec.Name, p.spec.TransactionalID, p.exitError(), p.lastLines(copierLogLines))
		}
	}
}

// tallies returns each stage's counts.
func (pool *copierPool) tallies() []stageTally {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return append([]stageTally(nil), pool.mu.tally...)
}

// snapshot returns every event so far and the anomalies copiers reported.
func (pool *copierPool) snapshot() ([]timedCopierEvent, []string) {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	return append([]timedCopierEvent(nil), pool.mu.events...), append([]string(nil), pool.mu.anomalies...)
}

// status describes each stage's live copiers, for progress failures.
func (pool *copierPool) status() string {
	pool.mu.Lock()
	defer pool.mu.Unlock()
	var b strings.Builder
	for stage := 1; stage <= txnChainStages; stage++ {
		fmt.Fprintf(&b, "stage %d %+v:", stage, pool.mu.tally[stage])
		for _, s := range pool.mu.slots[stage] {
			name := "empty"
			if s.proc != nil {
				name = s.proc.spec.Name
			}
			fmt.Fprintf(&b, " [%s %s]", s.txnID, name)
		}
		b.WriteString("; ")
	}
	return b.String()
}
