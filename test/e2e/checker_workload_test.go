package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/fjordhq/fjord/internal/checker"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// The checked workload of RELIABILITY.md §3: producers and consumers whose
// every operation goes into a checker.History, a final read, and the check.

// checkedProducers is P in §3: idempotent acks=all producers, each its own
// client session (its own producer id).
const checkedProducers = 2

// producerWindow bounds the sends one producer has outstanding (invoked,
// not completed). It keeps kgo pipelining several batches per partition,
// as its default of five in-flight requests allows, while bounding how much
// is in doubt when a fault hits and what two shared cores must push.
const producerWindow = 16

// producerFlushTimeout bounds how long stopping waits for outstanding
// sends; those still unanswered then are recorded as info.
const producerFlushTimeout = 30 * time.Second

// clientRequestTimeout replaces kgo's 10 s produce timeout and 10 s
// request overhead: a SIGSTOPped broker answers nothing and keeps its
// connections open, so only a client timeout moves requests to the new
// leader, and 20 s of waiting per fault is most of a CI run. It stays
// above the 1.5 s replica.lag.time.max.ms of the fault tests so that
// acks=all can wait for an ISR shrink.
const clientRequestTimeout = 3 * time.Second

// Sessions are numbered so that a report names producers and consumers
// apart: producers from producerSessionBase+1, consumers from
// consumerSessionBase+1.
const (
	producerSessionBase = 0
	consumerSessionBase = 100
)

// ackedWrite is a send the cluster acknowledged.
type ackedWrite struct {
	partition int32
	offset    int64
	value     string
}

// history is a checked run's record: every operation, in rec, and the
// acknowledged writes in acknowledgement order, which progress waits count.
// acked may be read without the lock once the producers are stopped.
type history struct {
	rec *checker.Recorder
	// began is the wall-clock time the history's times count from, to
	// line them up with the servers' logs.
	began time.Time
	mu    sync.Mutex
	acked []ackedWrite
	grew  chan struct{}
}

func newHistory() *history {
	began := time.Now()
	return &history{rec: checker.NewRecorder(func() time.Duration { return time.Since(began) }), began: began,
		grew: make(chan struct{}, 1)}
}

func (h *history) add(w ackedWrite) {
	h.mu.Lock()
	h.acked = append(h.acked, w)
	h.mu.Unlock()
	select {
	case h.grew <- struct{}{}:
	default:
	}
}

func (h *history) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.acked)
}

// waitFor waits until n more writes than now were acknowledged: progress,
// the liveness half of each fault step.
func (h *history) waitFor(t *testing.T, ctx context.Context, more int, what string) {
	t.Helper()
	want := h.len() + more
	for h.len() < want {
		select {
		case <-h.grew:
		case <-ctx.Done():
			t.Fatalf("%s: only %d of %d acknowledged writes", what, h.len(), want)
		}
	}
}

func serverAddrs(servers []*fjordtest.Server) []string {
	var addrs []string
	for _, s := range servers {
		addrs = append(addrs, s.Addr)
	}
	return addrs
}

// startCheckedProducer runs checkedProducers idempotent acks=all producers,
// each sending globally unique values (producer<<40 | seq) round-robin to
// the partitions, and records every send in the returned history until
// stop is called. stop waits for outstanding sends (bounded), so that the
// history's last acknowledgement precedes anything read after it.
func startCheckedProducer(t *testing.T, ctx context.Context, servers []*fjordtest.Server, topic string, partitions int) (*history, func()) {
	t.Helper()
	h := newHistory()
	prodCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for p := 1; p <= checkedProducers; p++ {
		cl, err := kgo.NewClient(kgo.SeedBrokers(serverAddrs(servers)...), kgo.DefaultProduceTopic(topic),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.RecordDeliveryTimeout(90*time.Second), kgo.MetadataMinAge(100*time.Millisecond),
			kgo.ProduceRequestTimeout(clientRequestTimeout), kgo.RequestTimeoutOverhead(clientRequestTimeout))
		if err != nil {
			t.Fatalf("producer %d: %v", p, err)
		}
		wg.Go(func() {
			defer cl.Close()
			runCheckedProducer(prodCtx, cl, h, p, partitions)
			flushCtx, cancelFlush := context.WithTimeout(ctx, producerFlushTimeout)
			defer cancelFlush()
			_ = cl.Flush(flushCtx) // what is still unanswered completes as info on Close
		})
	}
	var once sync.Once
	return h, func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// runCheckedProducer sends until ctx ends, with at most producerWindow
// sends outstanding.
func runCheckedProducer(ctx context.Context, cl *kgo.Client, h *history, producer, partitions int) {
	session := producerSessionBase + producer
	window := make(chan struct{}, producerWindow)
	for seq := uint64(0); ; seq++ {
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			return
		}
		partition := int32(seq % uint64(partitions))
		value := strconv.FormatUint(uint64(producer)<<40|seq, 10)
		id := h.rec.InvokeSend(producer, session, partition, value)
		// Not ctx: a cancelled context must not cut an idempotent send
		// short; stop flushes instead, and Close ends what is left.
		cl.Produce(context.WithoutCancel(ctx), &kgo.Record{Partition: partition, Value: []byte(value)},
			func(r *kgo.Record, err error) {
				defer func() { <-window }()
				switch {
				case err == nil:
					h.rec.SendOK(id, r.Offset)
					h.add(ackedWrite{partition: r.Partition, offset: r.Offset, value: value})
				case provesNothingAppended(err):
					h.rec.SendFail(id, err)
				default:
					h.rec.SendInfo(id, err)
				}
			})
	}
}

// provesNothingAppended reports whether a produce error proves the record
// is not in the log (RELIABILITY.md §6): the broker refused the batch as
// invalid before appending it, and would refuse an idempotent retry of the
// same bytes alike. Everything else (timeouts, NOT_ENOUGH_REPLICAS after
// retries, a closed client) leaves the outcome unknown.
func provesNothingAppended(err error) bool {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return false
	}
	switch ke {
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage,
		kerr.InvalidRequiredAcks, kerr.InvalidTimestamp, kerr.UnsupportedForMessageFormat,
		kerr.TopicAuthorizationFailed, kerr.InvalidTopicException:
		return true
	}
	return false
}

// checkedConsumer is one assign consumer session (read_uncommitted, or
// read_committed for every second one; every partition from the start)
// recording each poll.
type checkedConsumer struct {
	session       int
	readCommitted bool
	mu            sync.Mutex
	next          map[int32]int64 // offset it will read next, per partition
	resets        int             // client resets after detected data loss
	errs          []string        // first fetch errors, for the log
}

func (c *checkedConsumer) position(p int32) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next[p]
}

// startCheckedConsumers starts n consumers that poll concurrently with the
// producers; stop ends them and returns them for inspection.
func startCheckedConsumers(t *testing.T, ctx context.Context, h *history, seeds []string, topic string, partitions, n int) (consumers []*checkedConsumer, stop func()) {
	t.Helper()
	consCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		// Every other consumer reads committed: it must skip the values of
		// aborted transactions and wait for open ones.
		c := &checkedConsumer{session: consumerSessionBase + i, readCommitted: i%2 == 0, next: map[int32]int64{}}
		offsets := map[int32]kgo.Offset{}
		var assigned []checker.Assigned
		for p := range int32(partitions) {
			offsets[p] = kgo.NewOffset().AtStart()
			assigned = append(assigned, checker.Assigned{Partition: p, From: 0}) // a new topic starts at 0
		}
		isolation := kgo.ReadUncommitted()
		if c.readCommitted {
			isolation = kgo.ReadCommitted()
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}),
			kgo.FetchIsolationLevel(isolation), kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.MetadataMinAge(100*time.Millisecond), kgo.RequestTimeoutOverhead(clientRequestTimeout))
		if err != nil {
			t.Fatalf("consumer %d: %v", i, err)
		}
		h.rec.Assign(c.session, c.session, assigned)
		consumers = append(consumers, c)
		wg.Go(func() {
			defer cl.Close()
			c.run(consCtx, cl, h.rec)
		})
	}
	var once sync.Once
	return consumers, func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// run polls until ctx ends. A detected data loss makes the client resume
// elsewhere: that is recorded as an assign, so the checker restarts the
// session's position there instead of calling it a nonmonotonic poll; the
// records it read above the new position are still checked against the
// final read (read-then-lost). The client keeps control records (the
// markers that end transactions), so that its position moves past a
// marker at the end of a partition; they are not values and stay out of
// the history.
func (c *checkedConsumer) run(ctx context.Context, cl *kgo.Client, rec *checker.Recorder) {
	for ctx.Err() == nil {
		var id int64
		if c.readCommitted {
			id = rec.InvokeReadCommittedPoll(c.session, c.session)
		} else {
			id = rec.InvokePoll(c.session, c.session)
		}
		fetches := cl.PollFetches(ctx)
		records, next := valueRecords(fetches)
		rec.PollOK(id, records)
		c.mu.Lock()
		for p, o := range next {
			c.next[p] = o
		}
		fetches.EachError(func(_ string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.As(err, &loss):
				c.resets++
				c.next[p] = loss.ResetTo
				rec.Assign(c.session, c.session, []checker.Assigned{{Partition: p, From: loss.ResetTo}})
				c.errs = append(c.errs, err.Error())
			case ctx.Err() != nil:
			case len(c.errs) < 10:
				c.errs = append(c.errs, fmt.Sprintf("partition %d: %v", p, err))
			}
		})
		c.mu.Unlock()
	}
}

// valueRecords returns the records of fetches that hold values, for the
// history, and per partition the offset after the last record of any kind
// (a transaction marker included), where the client reads next.
func valueRecords(fetches kgo.Fetches) ([]checker.Record, map[int32]int64) {
	var records []checker.Record
	next := map[int32]int64{}
	fetches.EachRecord(func(r *kgo.Record) {
		next[r.Partition] = r.Offset + 1
		if !r.Attrs.IsControl() {
			records = append(records, checker.Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		}
	})
	return records, next
}

// finalRead reads each partition with a fresh consumer from the earliest
// offset up to ends[p] (the high watermark after the last acknowledgement),
// stopping early when nothing new arrives for finalReadIdle. It fails the
// test if a partition's offsets, transaction markers included, are not
// contiguous from 0: without compaction a Kafka log has no gaps. It
// returns the records that hold values.
func finalRead(t *testing.T, ctx context.Context, seeds []string, topic string, ends map[int32]int64) checker.FinalRead {
	t.Helper()
	out := checker.FinalRead{}
	for p, end := range ends {
		all := readPartition(t, ctx, seeds, topic, p, end, kgo.ReadUncommitted())
		for i, r := range all {
			if r.Offset != int64(i) {
				t.Errorf("final read of partition %d: offset %d at position %d; offsets are not contiguous", p, r.Offset, i)
				break
			}
		}
		if got := int64(len(all)); got != end {
			t.Errorf("final read of partition %d: %d records below the high watermark %d", p, got, end)
		}
		out[p] = valuesOf(all)
	}
	return out
}

// finalReadCommitted is the final read_committed read: each partition from
// the earliest offset up to ends[p], which must be the last stable offset
// as well (waitTransactionsEnded). The markers it returns let it know it
// reached the end even when the last transaction was aborted; it returns
// the records that hold values.
func finalReadCommitted(t *testing.T, ctx context.Context, seeds []string, topic string, ends map[int32]int64) checker.FinalRead {
	t.Helper()
	out := checker.FinalRead{}
	for p, end := range ends {
		all := readPartition(t, ctx, seeds, topic, p, end, kgo.ReadCommitted())
		if n := len(all); (n == 0 && end > 0) || (n > 0 && all[n-1].Offset+1 != end) {
			t.Errorf("final read_committed read of partition %d: stopped short of the high watermark %d", p, end)
		}
		out[p] = valuesOf(all)
	}
	return out
}

// valuesOf returns the records that hold values: all but the markers.
func valuesOf(all []finalRecord) []checker.Record {
	out := make([]checker.Record, 0, len(all))
	for _, r := range all {
		if !r.control {
			out = append(out, r.Record)
		}
	}
	return out
}

// finalReadIdle is how long a final read waits for a new record before it
// gives up on reaching the high watermark (RELIABILITY.md §3).
const finalReadIdle = 5 * time.Second

// finalRecord is a record of a final read, a value or a marker.
type finalRecord struct {
	checker.Record
	control bool
}

// readPartition reads partition p of topic at an isolation level from the
// earliest offset until it returned a record at end-1 or nothing new came
// for finalReadIdle. It keeps control records, so that a read_committed
// read ending with an aborted transaction still gets to end-1, its marker.
func readPartition(t *testing.T, ctx context.Context, seeds []string, topic string, p int32, end int64, isolation kgo.IsolationLevel) []finalRecord {
	t.Helper()
	cl := newKgo(t, seeds[0], kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(isolation), kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond))
	defer cl.Close()
	var out []finalRecord
	next := int64(0)
	for next < end {
		idleCtx, cancel := context.WithTimeout(ctx, finalReadIdle)
		fetches := cl.PollFetches(idleCtx)
		cancel()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, finalRecord{Record: checker.Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)},
				control: r.Attrs.IsControl()})
			next = r.Offset + 1
			n++
		})
		if n == 0 && idleCtx.Err() != nil {
			t.Logf("final read of partition %d: nothing new for %v at offset %d of %d", p, finalReadIdle, next, end)
			break
		}
	}
	return out
}

// checkHistory runs the checker on a history and a final read, logs the
// counts, and fails the test with the report's examples on any anomaly.
// With FJORD_FAULT_HISTORY_DIR set, the history, final read and report are
// saved there for replay.
func checkHistory(t *testing.T, name string, hist checker.History, final checker.FinalRead) checker.Report {
	t.Helper()
	return checkHistoryReads(t, name, hist, checker.FinalReads{Uncommitted: final})
}

// checkHistoryReads is checkHistory with both final reads.
func checkHistoryReads(t *testing.T, name string, hist checker.History, final checker.FinalReads) checker.Report {
	t.Helper()
	report := checker.CheckReads(hist, final)
	t.Logf("%s: %s", name, report.Summary())
	saveHistory(t, name, hist, final, report)
	logUnsureSends(t, hist)
	if !report.Valid {
		t.Errorf("%s: checker found anomalies:\n%s", name, report.Details())
	}
	return report
}

// logUnsureSends logs the sends that did not end ok, with their errors,
// which tell a reader why a value's outcome was unknown.
func logUnsureSends(t *testing.T, hist checker.History) {
	t.Helper()
	const most = 20
	n := 0
	for _, op := range hist {
		if op.Kind != checker.Send || op.Type == checker.Invoke || op.Type == checker.OK {
			continue
		}
		if n++; n <= most {
			t.Logf("send %s of %q to partition %d at %v: %s", op.Type, op.Value, op.Partition, op.Time, op.Error)
		}
	}
	if n > most {
		t.Logf("... and %d more sends that did not end ok", n-most)
	}
}

// waitTopicISR waits until every partition of topic has replicas in its ISR.
func waitTopicISR(t *testing.T, ctx context.Context, adm *kadm.Client, topic string, replicas int) {
	t.Helper()
	eventually(t, ctx, "full ISR", func() (bool, string) {
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range md.Topics[topic].Partitions {
			if len(p.ISR) != replicas {
				return false, fmt.Sprintf("partition %d ISR %v", p.Partition, p.ISR)
			}
		}
		return true, ""
	})
}

// checkedGroup is the consumer group of the checked workload and
// checkedGroupMembers how many kgo members it has (RELIABILITY.md §3:
// "some subscribe with manual commits").
const (
	checkedGroup        = "checked-group"
	checkedGroupMembers = 2
	groupSessionBase    = 200
)

// groupPollTimeout bounds one poll of a group member, so that a member
// with nothing new to read still retries a commit that did not go through.
const groupPollTimeout = 500 * time.Millisecond

// checkedGroupState is what the harness knows of the group's commits: per
// partition the highest offset an ok commit stored, for the catch-up wait.
type checkedGroupState struct {
	mu        sync.Mutex
	committed map[int32]int64
	errs      []string // first commit and fetch errors, for the log
}

func (g *checkedGroupState) noteCommitted(offsets []checker.Committed) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range offsets {
		g.committed[o.Partition] = max(g.committed[o.Partition], o.Offset)
	}
}

func (g *checkedGroupState) position(p int32) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed[p]
}

func (g *checkedGroupState) noteError(err string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) < 10 {
		g.errs = append(g.errs, err)
	}
}

// startCheckedGroup starts checkedGroupMembers members of checkedGroup
// (classic protocol, kgo's default cooperative-sticky balancer) reading
// topic from the earliest offset. Each member commits what it polled after
// every poll, with rebalances blocked from the poll to the commit so that
// it never commits a partition it no longer owns; its assignment changes
// and commits go into the history. The members keep control records, so
// that what they commit moves past a transaction marker at the end of a
// partition. stop ends them.
func startCheckedGroup(t *testing.T, ctx context.Context, h *history, seeds []string, topic string) (*checkedGroupState, func()) {
	t.Helper()
	state := &checkedGroupState{committed: map[int32]int64{}}
	groupCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := 1; i <= checkedGroupMembers; i++ {
		session := groupSessionBase + i
		changed := func(record func(int, int, string, []int32)) func(context.Context, *kgo.Client, map[string][]int32) {
			return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				if len(m[topic]) > 0 {
					record(session, session, checkedGroup, m[topic])
				}
			}
		}
		assigned := func(process, session int, group string, partitions []int32) {
			var as []checker.Assigned
			for _, p := range partitions {
				as = append(as, checker.Assigned{Partition: p, From: -1}) // resumes at the committed offset
			}
			h.rec.GroupAssign(process, session, group, as)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumerGroup(checkedGroup), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
			kgo.FetchIsolationLevel(kgo.ReadUncommitted()), kgo.KeepControlRecords(), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
			kgo.RebalanceTimeout(10*time.Second), kgo.MetadataMinAge(100*time.Millisecond),
			kgo.RequestTimeoutOverhead(clientRequestTimeout),
			kgo.OnPartitionsAssigned(changed(assigned)),
			kgo.OnPartitionsRevoked(changed(h.rec.GroupRevoke)),
			kgo.OnPartitionsLost(changed(h.rec.GroupLost)))
		if err != nil {
			t.Fatalf("group member %d: %v", i, err)
		}
		wg.Go(func() {
			defer cl.Close()
			runGroupMember(groupCtx, cl, h.rec, state, session, topic)
		})
	}
	var once sync.Once
	return state, func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// runGroupMember polls, records the poll, commits every offset kgo holds
// as polled but not committed (this poll's records, or an earlier commit's
// that did not go through), then lets a rebalance in. A detected data loss
// is recorded as an assign, as for the assign consumers.
func runGroupMember(ctx context.Context, cl *kgo.Client, rec *checker.Recorder, state *checkedGroupState, session int, topic string) {
	for ctx.Err() == nil {
		id := rec.InvokePoll(session, session)
		pollCtx, cancel := context.WithTimeout(ctx, groupPollTimeout)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		records, _ := valueRecords(fetches)
		rec.PollOK(id, records)
		fetches.EachError(func(_ string, p int32, err error) {
			var loss *kgo.ErrDataLoss
			switch {
			case errors.As(err, &loss):
				rec.GroupAssign(session, session, checkedGroup, []checker.Assigned{{Partition: p, From: loss.ResetTo}})
				state.noteError(err.Error())
			case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
			default:
				state.noteError(fmt.Sprintf("member %d partition %d: %v", session, p, err))
			}
		})
		if ctx.Err() == nil {
			commitUncommitted(ctx, cl, rec, state, session, topic)
		}
		cl.AllowRebalance()
	}
}

// commitUncommitted commits the member's uncommitted offsets and records
// the commit: ok when every partition was stored, fail when the
// coordinator refused it for a stale membership, info otherwise.
func commitUncommitted(ctx context.Context, cl *kgo.Client, rec *checker.Recorder, state *checkedGroupState, session int, topic string) {
	uncommitted := cl.UncommittedOffsets()
	var offsets []checker.Committed
	for p, eo := range uncommitted[topic] {
		offsets = append(offsets, checker.Committed{Partition: p, Offset: eo.Offset})
	}
	if len(offsets) == 0 {
		return
	}
	id := rec.InvokeCommit(session, session, checkedGroup, offsets)
	cl.CommitOffsetsSync(ctx, uncommitted, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err == nil {
			err = commitResponseError(resp)
		}
		switch {
		case err == nil:
			rec.CommitOK(id)
			state.noteCommitted(offsets)
		case refusedCommit(err):
			rec.CommitFail(id, err)
			state.noteError(fmt.Sprintf("member %d commit: %v", session, err))
		default:
			rec.CommitInfo(id, err)
			state.noteError(fmt.Sprintf("member %d commit: %v", session, err))
		}
	})
}

// commitResponseError is the first partition error of a commit response:
// one partition not stored makes the whole commit not ok.
func commitResponseError(resp *kmsg.OffsetCommitResponse) error {
	for _, topic := range resp.Topics {
		for _, partition := range topic.Partitions {
			if err := kerr.ErrorForCode(partition.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

// refusedCommit reports whether a commit error proves the coordinator
// stored nothing: it checks the member's generation before writing any
// offset.
func refusedCommit(err error) bool {
	return errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
		errors.Is(err, kerr.RebalanceInProgress) || errors.Is(err, kerr.FencedInstanceID)
}

// checkedRun is the whole checked workload of RELIABILITY.md §3 against
// one cluster: the idempotent and the transactional producers, the assign
// consumers (read_uncommitted and read_committed) and the consumer group,
// all recording into one history.
type checkedRun struct {
	servers    []*fjordtest.Server
	adm        *kadm.Client
	topic      string
	partitions int
	h          *history
	txns       *txnTally
	consumers  []*checkedConsumer
	group      *checkedGroupState

	stopProducers, stopTxnProducers, stopConsumers, stopGroup func()
}

// startCheckedRun starts the workload on topic (which must exist) and
// returns once it is acknowledged and the group committed on every
// partition, so that it consumes through what comes next rather than first
// joining after it. The caller must call stop (deferred) and finish.
func startCheckedRun(t *testing.T, ctx context.Context, servers []*fjordtest.Server, adm *kadm.Client, topic string, partitions int) *checkedRun {
	t.Helper()
	r := &checkedRun{servers: servers, adm: adm, topic: topic, partitions: partitions}
	r.h, r.stopProducers = startCheckedProducer(t, ctx, servers, topic, partitions)
	t.Logf("history times count from %s", r.h.began.UTC().Format("15:04:05.000000"))
	r.txns, r.stopTxnProducers = startCheckedTxnProducers(t, ctx, r.h.rec, servers, topic, partitions)
	r.consumers, r.stopConsumers = startCheckedConsumers(t, ctx, r.h, serverAddrs(servers), topic, partitions, checkedConsumers)
	r.group, r.stopGroup = startCheckedGroup(t, ctx, r.h, serverAddrs(servers), topic)
	r.h.waitFor(t, ctx, 300, "before faults")
	r.txns.waitCommitted(t, ctx, 3, "before faults")
	eventually(t, ctx, "group committed on every partition", func() (bool, string) {
		for p := range int32(partitions) {
			if r.group.position(p) == 0 {
				return false, fmt.Sprintf("nothing committed on partition %d", p)
			}
		}
		return true, ""
	})
	return r
}

// stop ends every client of the run; it is safe to call more than once.
func (r *checkedRun) stop() {
	r.stopProducers()
	r.stopTxnProducers()
	r.stopConsumers()
	r.stopGroup()
}

// finish heals the run's view of the cluster and checks it: the producers
// stop (the transactional ones after ending their transactions), every
// replica returns to the ISR, no transaction stays open, the consumers
// poll up to the high watermark and the group commits up to it (liveness,
// within consumerCatchUpTimeout), a final read and a final read_committed
// read take every partition, and the checker checks the whole history. It
// returns the checker's report.
func (r *checkedRun) finish(t *testing.T, ctx context.Context, name string) checker.Report {
	t.Helper()
	r.stopProducers()
	r.stopTxnProducers()
	t.Logf("transactions: %s", r.txns)
	if len(r.txns.errs) > 0 {
		t.Logf("transactions: first errors: %q", r.txns.errs)
	}
	waitTopicISR(t, ctx, r.adm, r.topic, len(r.servers))
	waitTransactionsEnded(t, ctx, serverAddrs(r.servers), r.topic, r.partitions)
	ends := offsetsOf(t, ctx, r.adm, r.topic, true)
	waitConsumersCaughtUp(t, ctx, r.consumers, r.group, ends)
	r.stopConsumers()
	r.stopGroup()
	for _, c := range r.consumers {
		if c.resets > 0 || len(c.errs) > 0 {
			t.Logf("consumer session %d: %d resets after data loss; fetch errors: %q", c.session, c.resets, c.errs)
		}
	}
	if len(r.group.errs) > 0 {
		t.Logf("group %s: first commit and fetch errors: %q", checkedGroup, r.group.errs)
	}
	fin := checker.FinalReads{
		Uncommitted: finalRead(t, ctx, serverAddrs(r.servers), r.topic, ends),
		Committed:   finalReadCommitted(t, ctx, serverAddrs(r.servers), r.topic, ends),
	}
	report := checkHistoryReads(t, name, r.h.rec.History(), fin)
	if report.Unseen > 0 {
		t.Errorf("liveness: %d acknowledged values never polled; first: %v", report.Unseen, report.UnseenExamples[0])
	}
	return report
}
