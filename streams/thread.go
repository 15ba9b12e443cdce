package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams/internal/assign"
)

// streamThread is one member of the application's consumer group: it polls
// the input partitions of its active tasks, runs the records through them,
// and commits. Under exactly-once it is also a transactional producer, and
// each commit interval is one transaction carrying the outputs, the
// changelog writes and the input offsets.
//
// The thread's goroutine owns its tasks. franz-go's group callbacks run on
// other goroutines; they only queue events under mu that the loop applies
// between polls.
type streamThread struct {
	app       *App
	index     int
	eos       bool
	client    *kgo.Client
	session   *kgo.GroupTransactSession // exactly-once only
	collector *kafkaCollector
	env       *taskEnv // the application's, with this thread's collector
	restorer  *restorer
	balancer  *assign.Balancer
	tasks     map[TaskID]*task
	standbys  map[TaskID]*task // stores only, following their changelogs
	// assigned is the latest assignment applied; tasks are rebuilt from it
	// after an aborted transaction.
	assigned   []TaskID
	lastCommit time.Time
	inTxn      bool
	// txnSends is the collector's sends when the open transaction began.
	txnSends int64

	// stateMu is held by the thread's goroutine while it works on its
	// tasks and standbys, and released while it polls: interactive queries
	// read the stores under it, between the thread's rounds (under the
	// write lock: a store's reads must not run concurrently either).
	stateMu sync.RWMutex

	mu struct {
		sync.Mutex
		events []groupEvent
		// rebalancing is true from a rebalance's first callback until the
		// thread has applied and restored its new assignment; queries
		// meanwhile get ErrStoreNotReady (see query.go).
		rebalancing bool
		probeAt     time.Time // when to rejoin for a probing rebalance; zero for never
	}
}

// groupEvent is a change of the thread's partitions, as franz-go reported it.
type groupEvent struct {
	revoked  bool
	assigned []TaskID
	standby  []TaskID
}

func (th *streamThread) name() string {
	return fmt.Sprintf("%s-StreamThread-%d", th.app.cfg.ApplicationID, th.index+1)
}

func (th *streamThread) noteRevoked(context.Context, *kgo.Client, map[string][]int32) {
	th.mu.Lock()
	th.mu.events = append(th.mu.events, groupEvent{revoked: true})
	th.mu.rebalancing = true
	th.mu.Unlock()
}

func (th *streamThread) noteAssigned(context.Context, *kgo.Client, map[string][]int32) {
	a, ok := th.balancer.LastAssignment()
	if !ok {
		return
	}
	th.mu.Lock()
	th.mu.events = append(th.mu.events, groupEvent{assigned: taskIDs(a.Active), standby: taskIDs(a.Standby)})
	th.mu.rebalancing = true
	th.mu.Unlock()
	th.app.noteHosts(a)
}

func (th *streamThread) takeEvents() []groupEvent {
	th.mu.Lock()
	defer th.mu.Unlock()
	events := th.mu.events
	th.mu.events = nil
	return events
}

// run is the thread's loop; it returns on a failure or when ctx ends, after
// a last commit.
func (th *streamThread) run(ctx context.Context) (err error) {
	defer func() {
		th.stateMu.Lock()
		defer th.stateMu.Unlock()
		err = errors.Join(err, th.closeTasks(err == nil), th.closeStandbys())
	}()
	th.lastCommit = th.app.now()
	for {
		if ctx.Err() != nil {
			th.stateMu.Lock()
			defer th.stateMu.Unlock()
			return th.commit(context.WithoutCancel(ctx))
		}
		fetches := th.poll(ctx)
		if ctx.Err() != nil {
			continue
		}
		if err := th.step(ctx, fetches); err != nil {
			return err
		}
	}
}

// step does one round of the loop's work on what a poll returned, holding
// stateMu so that queries see the tasks between rounds only.
func (th *streamThread) step(ctx context.Context, fetches kgo.Fetches) error {
	th.stateMu.Lock()
	defer th.stateMu.Unlock()
	revoked, err := th.applyEvents(ctx)
	if err != nil {
		return err
	}
	if err := th.fetchError(fetches); err != nil {
		return err
	}
	if revoked && th.eos {
		// The revocation's abort rewound the consumer to the committed
		// offsets (see revoke), so the next polls return these records
		// again, whichever generation polled them: processed now too,
		// they would be processed twice.
		fetches = nil
	}
	if err := th.beginTransaction(); err != nil {
		return err
	}
	if err := th.processFetches(fetches); err != nil {
		return err
	}
	if err := th.punctuateWallClock(); err != nil {
		return err
	}
	if err := th.restorer.pollFollowed(); err != nil {
		return err
	}
	th.maybeProbe()
	if th.commitDue() {
		return th.commit(ctx)
	}
	return nil
}

// maybeProbe rejoins the group when the leader asked for a probing
// rebalance and its time has come.
func (th *streamThread) maybeProbe() {
	th.mu.Lock()
	due := !th.mu.probeAt.IsZero() && !th.app.now().Before(th.mu.probeAt)
	if due {
		th.mu.probeAt = time.Time{}
	}
	th.mu.Unlock()
	if due {
		th.client.ForceRebalance()
	}
}

// poll waits for records at most until the next commit is due.
func (th *streamThread) poll(ctx context.Context) kgo.Fetches {
	wait := th.app.cfg.CommitInterval - th.app.now().Sub(th.lastCommit)
	wait = min(max(wait, time.Millisecond), 100*time.Millisecond)
	pollCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return th.client.PollRecords(pollCtx, maxPollRecords)
}

// maxPollRecords bounds the records processed between checks for commits
// and rebalances (Kafka's max.poll.records default).
const maxPollRecords = 500

// fetchError returns the errors of a poll that end the thread. franz-go's
// informational ones do not: a lost group session (the partitions-lost
// callback has already queued the revocation, and the client rejoins by
// itself) and data loss (the client resets and goes on); they are logged.
func (th *streamThread) fetchError(fetches kgo.Fetches) error {
	var errs []error
	fetches.EachError(func(topic string, partition int32, err error) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return
		}
		var session *kgo.ErrGroupSession
		var loss *kgo.ErrDataLoss
		if errors.As(err, &session) || errors.As(err, &loss) {
			th.app.logf("streams: %s: %v", th.name(), err)
			return
		}
		errs = append(errs, fmt.Errorf("streams: fetch %s-%d: %w", topic, partition, err))
	})
	return errors.Join(errs...)
}

func (th *streamThread) beginTransaction() error {
	if !th.eos || th.inTxn {
		return nil
	}
	if err := th.session.Begin(); err != nil {
		return fmt.Errorf("streams: begin transaction: %w", err)
	}
	th.inTxn = true
	th.txnSends = th.collector.sends
	return nil
}

// applyEvents follows the group: revoked partitions close their tasks with
// their uncommitted work thrown away (the group's committed offsets are
// where the next owner starts), assigned ones make and restore tasks. It
// reports whether it applied a revocation.
func (th *streamThread) applyEvents(ctx context.Context) (revoked bool, err error) {
	events := th.takeEvents()
	for _, ev := range events {
		if ev.revoked {
			if err := th.revoke(ctx); err != nil {
				return revoked, err
			}
			revoked = true
			continue
		}
		th.setAssigned(ev.assigned)
		began, restored := th.app.now(), th.restorer.restoredBytes
		if err := th.setStandbys(ctx, ev.standby, ev.assigned); err != nil {
			return revoked, err
		}
		if err := th.openTasks(ctx); err != nil {
			return revoked, err
		}
		th.app.logf("streams: %s runs tasks %v, standbys %v; restored %d bytes in %v",
			th.name(), ev.assigned, ev.standby, th.restorer.restoredBytes-restored, th.app.now().Sub(began).Round(time.Millisecond))
	}
	if len(events) > 0 && !events[len(events)-1].revoked {
		th.settled()
	}
	return revoked, nil
}

// revoke throws away the work since the last commit and closes every task
// and standby. Under exactly-once it always ends a transaction with an
// abort, beginning one if none is open (an idle thread keeps one open, a
// thread that just committed has none): the session's abort is what
// rewinds the consumer to the committed offsets, under the session's lock
// against a concurrent revocation, so that the new generation starts from
// the committed offsets however far the consumer had read. The caller must
// then drop the records it polled before (see step): they come again.
func (th *streamThread) revoke(ctx context.Context) error {
	if err := th.beginTransaction(); err != nil {
		return err
	}
	if err := th.abortWork(ctx); err != nil {
		return err
	}
	if err := th.closeTasks(false); err != nil {
		return err
	}
	// Standbys close too, so that every task directory this thread held
	// is free for whichever thread the new assignment picks.
	if err := th.closeStandbys(); err != nil {
		return err
	}
	th.setAssigned(nil)
	return nil
}

// setAssigned records the tasks the thread runs; the subscription reads
// them from the group's goroutine.
func (th *streamThread) setAssigned(ids []TaskID) {
	th.mu.Lock()
	th.assigned = ids
	th.mu.Unlock()
}

// abortWork ends the open transaction with an abort, or under at-least-once
// forgets what was processed since the last commit.
func (th *streamThread) abortWork(ctx context.Context) error {
	if th.eos && th.inTxn {
		th.inTxn = false
		if _, err := th.session.End(ctx, kgo.TryAbort); err != nil {
			return fmt.Errorf("streams: abort transaction: %w", err)
		}
	}
	var errs []error
	for _, tk := range th.tasks {
		errs = append(errs, tk.abortStores())
	}
	return errors.Join(errs...)
}

// openTasks makes the tasks of the assignment that the thread lacks and
// restores their stores.
func (th *streamThread) openTasks(ctx context.Context) error {
	for _, id := range th.assigned {
		if _, ok := th.tasks[id]; ok {
			continue
		}
		sub, err := th.app.subtopology(id)
		if err != nil {
			return err
		}
		if err := th.app.taskLocks.acquire(ctx, id, th.index); err != nil {
			return err
		}
		// The stores are restored before the processors are made, so that
		// what a processor reads in Init is the restored state.
		tk, err := openStandby(th.env, sub, id.Partition, th.promoteStandby(id))
		if err != nil {
			th.app.taskLocks.release(id, th.index)
			return err
		}
		th.tasks[id] = tk
		if err := th.restorer.restore(ctx, changelogsOf(tk.stores, id.Partition)); err != nil {
			return fmt.Errorf("streams: restore task %s: %w", id, err)
		}
		if err := tk.instantiate(); err != nil {
			return fmt.Errorf("streams: task %s: %w", id, err)
		}
	}
	return nil
}

// closeTasks closes every task; clean says the last commit succeeded, so
// their stores hold committed state only.
func (th *streamThread) closeTasks(clean bool) error {
	var errs []error
	for id, tk := range th.tasks {
		if !clean {
			errs = append(errs, tk.abortStores())
		}
		for _, ts := range tk.stores {
			if ts.changelogTopic != "" {
				th.collector.forget(ts.changelogTopic, id.Partition)
			}
		}
		th.app.saveOffsetSum(tk)
		errs = append(errs, tk.close())
		th.app.taskLocks.release(id, th.index)
		delete(th.tasks, id)
	}
	return errors.Join(errs...)
}

// maxUncommittedBytes bounds what a thread's stores buffer between commits
// (KIP-892's statestore.uncommitted.max.bytes): past it the thread commits
// early rather than grow without bound under a long commit interval.
const maxUncommittedBytes = 64 << 20

func (th *streamThread) commitDue() bool {
	if th.app.now().Sub(th.lastCommit) >= th.app.cfg.CommitInterval {
		return true
	}
	var uncommitted int64
	for _, tk := range th.tasks {
		if tk.commitRequested {
			return true
		}
		uncommitted += tk.uncommittedBytes()
	}
	return uncommitted > maxUncommittedBytes
}

// commit flushes the tasks' caches and makes everything since the last
// commit durable: under exactly-once by committing the transaction with the
// input offsets in it, under at-least-once by flushing the producer and then
// committing the offsets. Only then do the stores commit, at the changelog
// offsets the flush reached. A transaction that aborts instead (the group
// rebalanced) throws the tasks' work away and rebuilds them.
func (th *streamThread) commit(ctx context.Context) error {
	th.lastCommit = th.app.now()
	for _, tk := range th.tasks {
		tk.commitRequested = false
		if err := tk.flush(); err != nil {
			return fmt.Errorf("streams: task %s: %w", tk.id, err)
		}
	}
	committed, err := th.commitInputs(ctx)
	if err != nil {
		return err
	}
	if !committed {
		if err := th.abortWork(ctx); err != nil {
			return err
		}
		if err := th.closeTasks(false); err != nil {
			return err
		}
		return th.openTasks(ctx)
	}
	var errs []error
	for _, tk := range th.tasks {
		errs = append(errs, tk.commitStores(th.collector.nextOffset))
	}
	errs = append(errs, th.restorer.commitFollowed())
	th.app.recordOffsetSums(th.tasks)
	th.app.recordOffsetSums(th.standbys)
	return errors.Join(errs...)
}

// commitInputs commits the input offsets with the outputs; false means
// nothing was committed and the work since the last commit must be redone.
func (th *streamThread) commitInputs(ctx context.Context) (bool, error) {
	if th.eos {
		if !th.inTxn {
			return true, nil
		}
		if th.collector.sends == th.txnSends && len(th.client.UncommittedOffsets()) == 0 {
			// Nothing was sent or consumed: the transaction stays open
			// into the next interval, as ending it would commit nothing.
			// Ending it is not free: franz-go (v1.22) reads an empty
			// offset commit as a broker without KIP-447 and holds the
			// session's lock for 500 ms after End, so an idle thread
			// would stall that long in each commit, holding stateMu,
			// and every interactive query would wait for it. A
			// revocation ends it (see revoke).
			return true, nil
		}
		th.inTxn = false
		// Every record is acknowledged (or failed) before the transaction
		// ends: End commits the input offsets whatever happened to the
		// records, so a failed write must turn the commit into an abort.
		try := kgo.TryCommit
		flushErr := th.client.Flush(ctx)
		if err := errors.Join(flushErr, th.collector.takeError()); err != nil {
			th.app.logf("streams: %s: a write failed, aborting the transaction: %v", th.name(), err)
			try = kgo.TryAbort
		}
		committed, err := th.session.End(ctx, try)
		if err != nil {
			return false, fmt.Errorf("streams: end transaction: %w", err)
		}
		return committed, nil
	}
	if err := th.client.Flush(ctx); err != nil {
		return false, fmt.Errorf("streams: flush: %w", err)
	}
	if err := th.collector.takeError(); err != nil {
		return false, fmt.Errorf("streams: write: %w", err)
	}
	if err := th.client.CommitUncommittedOffsets(ctx); err != nil {
		th.app.logf("streams: %s: offset commit failed, redoing from the last commit: %v", th.name(), err)
		return false, nil
	}
	return true, nil
}

func (th *streamThread) punctuateWallClock() error {
	now := th.app.now()
	for _, tk := range th.tasks {
		if err := tk.punctuateWallClock(now); err != nil {
			return fmt.Errorf("streams: task %s: %w", tk.id, err)
		}
	}
	return nil
}
