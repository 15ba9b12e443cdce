package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/internal/fjordtest"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 15 * time.Second

// recordingSink is a sink task that records what it is given. Its hooks,
// set before the runner starts, let a test fail or inspect calls.
type recordingSink struct {
	// onPut runs at the start of each Put, with the call's number from 1;
	// its error is Put's.
	onPut func(ctx connect.SinkTaskContext, call int, records []connect.SinkRecord) error
	// onFlush runs at the start of each Flush; its error is Flush's.
	onFlush func(call int, offsets map[connect.TopicPartition]int64) error
	// onOpen runs at the end of each Open.
	onOpen func(ctx connect.SinkTaskContext, partitions []connect.TopicPartition)

	mu struct {
		sync.Mutex
		ctx     connect.SinkTaskContext
		puts    [][]connect.SinkRecord // every Put's records, refused ones too
		put     []connect.SinkRecord   // the records of Puts that succeeded
		flushes int
		flushed map[connect.TopicPartition]int64 // the last confirmed offsets
		opened  []connect.TopicPartition
		closed  []connect.TopicPartition
		changed chan struct{} // closed and replaced on each change
	}
}

func newRecordingSink() *recordingSink {
	s := &recordingSink{}
	s.mu.flushed = map[connect.TopicPartition]int64{}
	s.mu.changed = make(chan struct{})
	return s
}

// changedLocked wakes the waiters.
func (s *recordingSink) changedLocked() {
	close(s.mu.changed)
	s.mu.changed = make(chan struct{})
}

func (s *recordingSink) Start(ctx connect.SinkTaskContext, _ map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.ctx = ctx
	return nil
}

func (s *recordingSink) Put(_ context.Context, records []connect.SinkRecord) error {
	s.mu.Lock()
	s.mu.puts = append(s.mu.puts, records)
	call, ctx := len(s.mu.puts), s.mu.ctx
	s.mu.Unlock()
	var err error
	if s.onPut != nil {
		err = s.onPut(ctx, call, records)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.mu.put = append(s.mu.put, records...)
	}
	s.changedLocked()
	return err
}

func (s *recordingSink) Flush(_ context.Context, offsets map[connect.TopicPartition]int64) error {
	s.mu.Lock()
	s.mu.flushes++
	call := s.mu.flushes
	s.mu.Unlock()
	var err error
	if s.onFlush != nil {
		err = s.onFlush(call, offsets)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		maps.Copy(s.mu.flushed, offsets)
	}
	s.changedLocked()
	return err
}

func (s *recordingSink) Stop() error { return nil }

func (s *recordingSink) Open(_ context.Context, partitions []connect.TopicPartition) error {
	s.mu.Lock()
	s.mu.opened = append(s.mu.opened, partitions...)
	s.changedLocked()
	ctx := s.mu.ctx
	s.mu.Unlock()
	if s.onOpen != nil {
		s.onOpen(ctx, partitions)
	}
	return nil
}

func (s *recordingSink) Close(_ context.Context, partitions []connect.TopicPartition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.closed = append(s.mu.closed, partitions...)
	s.changedLocked()
	return nil
}

// waitFor waits until cond, called with the sink locked, holds.
func (s *recordingSink) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.mu.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// payloads returns the payloads of the records put, in order.
func (s *recordingSink) payloads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.mu.put {
		out = append(out, fmt.Sprint(r.Value))
	}
	return out
}

// stateLog records a runner's states.
type stateLog struct {
	mu      sync.Mutex
	states  []string
	errs    []error
	changed chan struct{}
}

func newStateLog() *stateLog { return &stateLog{changed: make(chan struct{})} }

func (l *stateLog) report(state string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, state)
	l.errs = append(l.errs, err)
	close(l.changed)
	l.changed = make(chan struct{})
}

// waitState waits until state has been reported and returns its error.
func (l *stateLog) waitState(t *testing.T, state string) error {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		i, changed := slices.Index(l.states, state), l.changed
		var err error
		if i >= 0 {
			err = l.errs[i]
		}
		l.mu.Unlock()
		if i >= 0 {
			return err
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("timed out waiting for state %s; states %v", state, l.all())
		}
	}
}

func (l *stateLog) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.states, ",")
}

// envelope is the JSON converter's form of a string value.
func envelope(payload string) string {
	return fmt.Sprintf(`{"schema":{"type":"string","optional":false},"payload":%q}`, payload)
}

// produce writes records to chosen partitions and waits for their acks.
func produce(t *testing.T, addr string, records ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func record(topic string, partition int32, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: partition, Value: []byte(value)}
}

// newSinkRunner makes a runner of task for connector name on srv.
func newSinkRunner(t *testing.T, srv *fjordtest.Server, name string, task connect.SinkTask, config map[string]string, states *stateLog) *sinkTaskRunner {
	opts := []kgo.Opt{kgo.SeedBrokers(srv.Addr)}
	return &sinkTaskRunner{
		id: TaskID{name, 0}, task: task, config: map[string]string{}, connectorConfig: config,
		converters: testConverters(t), consumerOpts: opts, producerOpts: opts,
		flushEvery: 100 * time.Millisecond, report: states.report,
		logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		target: &targetState{},
	}
}

// startRunner runs r until the returned function stops it.
func startRunner(t *testing.T, r *sinkTaskRunner) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			t.Fatal("the runner did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// committedOffsets returns the group's committed offsets of topic.
func committedOffsets(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	out, err := fetchCommitted(addr, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fetchCommitted returns the group's committed offsets of topic; it may be
// called from any goroutine.
func fetchCommitted(addr, group, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetching the offsets of %s: %w", group, err)
	}
	out := map[int32]int64{}
	for _, o := range resp[topic] {
		if o.Err == nil && o.At >= 0 {
			out[o.Partition] = o.At
		}
	}
	return out, nil
}

// TestSinkTaskRunnerDeliversOnceAcrossRestart runs a sink task on a
// 3-partition topic twice: every record is put exactly once across the
// restart, offsets are committed only after Flush confirmed them (the
// first Flush fails with a retriable error, and each Flush checks the
// group's offsets against what was confirmed before), and partitions are
// opened before their records and closed at the end.
func TestSinkTaskRunnerDeliversOnceAcrossRestart(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"orders": 3})
	sink := newRecordingSink()
	sink.onFlush = func(call int, _ map[connect.TopicPartition]int64) error {
		sink.mu.Lock()
		confirmed := maps.Clone(sink.mu.flushed)
		sink.mu.Unlock()
		committed, err := fetchCommitted(srv.Addr, "connect-orders-sink", "orders")
		if err != nil {
			t.Error(err)
		}
		for p, offset := range committed {
			if offset > confirmed[connect.TopicPartition{Topic: "orders", Partition: p}] {
				t.Errorf("flush %d: partition %d committed at %d, past the confirmed %v", call, p, offset, confirmed)
			}
		}
		if call == 1 {
			return connect.Retriable(errors.New("sink busy"))
		}
		return nil
	}
	produceRange := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, record("orders", int32(i%3), envelope(fmt.Sprintf("order-%d", i))))
		}
		produce(t, srv.Addr, recs...)
	}
	config := map[string]string{keyTopics: "orders"}
	runOnce := func(total int, flushes int) {
		states := newStateLog()
		stop := startRunner(t, newSinkRunner(t, srv, "orders-sink", sink, config, states))
		sink.waitFor(t, fmt.Sprintf("%d records and %d flushes", total, flushes), func() bool {
			return len(sink.mu.put) >= total && sink.mu.flushes >= flushes
		})
		stop()
		if got := states.all(); got != "RUNNING,UNASSIGNED" {
			t.Errorf("states %s", got)
		}
	}
	produceRange(0, 60)
	runOnce(60, 2)
	if got := committedOffsets(t, srv.Addr, "connect-orders-sink", "orders"); !maps.Equal(got, map[int32]int64{0: 20, 1: 20, 2: 20}) {
		t.Errorf("committed after the first run: %v", got)
	}
	produceRange(60, 90)
	runOnce(90, 0)
	if got := committedOffsets(t, srv.Addr, "connect-orders-sink", "orders"); !maps.Equal(got, map[int32]int64{0: 30, 1: 30, 2: 30}) {
		t.Errorf("committed after the second run: %v", got)
	}
	seen := map[string]int{}
	for _, p := range sink.payloads() {
		seen[p]++
	}
	for i := range 90 {
		if n := seen[fmt.Sprintf("order-%d", i)]; n != 1 {
			t.Errorf("order-%d put %d times", i, n)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.mu.opened) != 6 || len(sink.mu.closed) != 6 {
		t.Errorf("opened %v, closed %v; want the 3 partitions in each run", sink.mu.opened, sink.mu.closed)
	}
	for _, r := range sink.mu.put {
		if r.OriginalTopic != "orders" || r.OriginalPartition != r.Partition || r.OriginalOffset != r.Offset || r.ValueSchema == nil {
			t.Fatalf("record %+v", r)
		}
	}
}

// TestSinkTaskRunnerRetriesPut makes the first Put fail with a retriable
// error: the same records come again, after the backoff the task set.
func TestSinkTaskRunnerRetriesPut(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"invoices": 1})
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, record("invoices", 0, envelope(fmt.Sprintf("invoice-%d", i))))
	}
	produce(t, srv.Addr, recs...)
	sink := newRecordingSink()
	sink.onPut = func(ctx connect.SinkTaskContext, call int, _ []connect.SinkRecord) error {
		if call == 1 {
			ctx.Timeout(50 * time.Millisecond)
			return connect.Retriable(errors.New("sink busy"))
		}
		return nil
	}
	states := newStateLog()
	stop := startRunner(t, newSinkRunner(t, srv, "invoices-sink", sink, map[string]string{keyTopics: "invoices"}, states))
	sink.waitFor(t, "10 records put", func() bool { return len(sink.mu.put) >= 10 })
	stop()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	first, second := sink.mu.puts[0], sink.mu.puts[1]
	if len(first) == 0 || len(first) != len(second) {
		t.Fatalf("first put %d records, second %d", len(first), len(second))
	}
	for i := range first {
		if first[i].Offset != second[i].Offset || first[i].Value != second[i].Value {
			t.Errorf("record %d: %v then %v", i, first[i].Value, second[i].Value)
		}
	}
	if len(sink.mu.put) != 10 {
		t.Errorf("%d records put, want 10", len(sink.mu.put))
	}
	if got := committedOffsets(t, srv.Addr, "connect-invoices-sink", "invoices"); got[0] != 10 {
		t.Errorf("committed %v", got)
	}
}

// readTopic reads every record of topic up to its end offsets now.
func readTopic(t *testing.T, addr, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	ends.Each(func(o kadm.ListedOffset) { want += int(o.Offset) })
	var out []*kgo.Record
	for len(out) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s", len(out), want, topic)
		}
		out = append(out, fetches.Records()...)
	}
	return out
}

// waitCommittedAt waits until the group has committed offset for
// partition 0 of topic.
func waitCommittedAt(t *testing.T, addr, group, topic string, offset int64) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		if got := committedOffsets(t, addr, group, topic); got[0] == offset {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: offset %d of %s not committed", group, offset, topic)
		}
	}
}

func headerMap(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

// TestSinkTaskRunnerDeadLetterQueue sends a value the JSON converter
// cannot parse, with errors.tolerance=all: it reaches the dead letter
// queue once, as consumed and with Kafka's context headers, the good
// records reach the task, and a restart neither sends it again nor puts a
// record twice.
func TestSinkTaskRunnerDeadLetterQueue(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"payments": 1})
	poison := record("payments", 0, "not json")
	poison.Headers = []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}}
	produce(t, srv.Addr, record("payments", 0, envelope("pay-0")), poison, record("payments", 0, envelope("pay-2")))
	config := map[string]string{
		keyTopics: "payments", keyErrorsTolerance: "all", keyErrorsLog: "true", keyErrorsLogMsgs: "true",
		keyDLQTopic: "payments-dlq", keyDLQRF: "1", keyDLQHeaders: "true",
	}
	sink := newRecordingSink()
	stop := startRunner(t, newSinkRunner(t, srv, "payments-sink", sink, config, newStateLog()))
	sink.waitFor(t, "2 records put", func() bool { return len(sink.mu.put) >= 2 })
	waitCommittedAt(t, srv.Addr, "connect-payments-sink", "payments", 3)
	stop()
	dlq := readTopic(t, srv.Addr, "payments-dlq")
	if len(dlq) != 1 {
		t.Fatalf("%d records in the dead letter queue, want 1", len(dlq))
	}
	got := dlq[0]
	if string(got.Value) != "not json" || got.Key != nil {
		t.Errorf("queued key %q value %q", got.Key, got.Value)
	}
	h := headerMap(got)
	want := map[string]string{
		"trace": "abc", dlqHeaderTopic: "payments", dlqHeaderPartition: "0", dlqHeaderOffset: "1",
		dlqHeaderConnector: "payments-sink", dlqHeaderTaskID: "0", dlqHeaderStage: "VALUE_CONVERTER",
		dlqHeaderClass: "org.apache.kafka.connect.json.JsonConverter", dlqHeaderExceptionClass: dataExceptionClass,
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("header %s = %q, want %q", k, h[k], v)
		}
	}
	if h[dlqHeaderMessage] == "" || !strings.HasPrefix(h[dlqHeaderTrace], dataExceptionClass+": ") {
		t.Errorf("message %q, trace %q", h[dlqHeaderMessage], h[dlqHeaderTrace])
	}
	// A restart resumes after the poison record.
	produce(t, srv.Addr, record("payments", 0, envelope("pay-3")))
	stop = startRunner(t, newSinkRunner(t, srv, "payments-sink", sink, config, newStateLog()))
	sink.waitFor(t, "3 records put", func() bool { return len(sink.mu.put) >= 3 })
	stop()
	if got := sink.payloads(); !slices.Equal(got, []string{"pay-0", "pay-2", "pay-3"}) {
		t.Errorf("put %v", got)
	}
	if n := len(readTopic(t, srv.Addr, "payments-dlq")); n != 1 {
		t.Errorf("%d records in the dead letter queue after the restart", n)
	}
}

// TestSinkTaskRunnerFailsOnPoisonWithoutTolerance: with errors.tolerance=
// none, a record the converter cannot parse fails the task, nothing from
// it on is put or committed, and the dead letter queue stays empty.
func TestSinkTaskRunnerFailsOnPoisonWithoutTolerance(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"refunds": 1})
	produce(t, srv.Addr, record("refunds", 0, envelope("refund-0")))
	config := map[string]string{keyTopics: "refunds", keyDLQTopic: "refunds-dlq", keyDLQRF: "1"}
	sink := newRecordingSink()
	states := newStateLog()
	startRunner(t, newSinkRunner(t, srv, "refunds-sink", sink, config, states))
	sink.waitFor(t, "the first record put", func() bool { return len(sink.mu.put) >= 1 })
	waitCommittedAt(t, srv.Addr, "connect-refunds-sink", "refunds", 1)
	produce(t, srv.Addr, record("refunds", 0, "not json"), record("refunds", 0, envelope("refund-2")))
	err := states.waitState(t, StateFailed)
	if !errors.Is(err, errToleranceExceeded) || !errors.Is(err, connect.ErrInvalidData) {
		t.Errorf("failed with %v", err)
	}
	if got := committedOffsets(t, srv.Addr, "connect-refunds-sink", "refunds"); got[0] != 1 {
		t.Errorf("committed %v, want the poison record's offset 1", got)
	}
	if got := sink.payloads(); !slices.Equal(got, []string{"refund-0"}) {
		t.Errorf("put %v", got)
	}
	if n := len(readTopic(t, srv.Addr, "refunds-dlq")); n != 0 {
		t.Errorf("%d records in the dead letter queue", n)
	}
}

// TestSinkTaskRunnerErrantRecordReporter: records the task reports go to
// the dead letter queue as they were consumed, stage TASK_PUT, before the
// offsets past them are committed.
func TestSinkTaskRunnerErrantRecordReporter(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"audits": 1})
	var recs []*kgo.Record
	for _, p := range []string{"ok-0", "bad-1", "ok-2", "bad-3"} {
		recs = append(recs, record("audits", 0, envelope(p)))
	}
	produce(t, srv.Addr, recs...)
	config := map[string]string{
		keyTopics: "audits", keyErrorsTolerance: "all", keyDLQTopic: "audits-dlq", keyDLQRF: "1", keyDLQHeaders: "true",
	}
	results := make(chan (<-chan error), 4)
	sink := newRecordingSink()
	sink.onPut = func(ctx connect.SinkTaskContext, _ int, records []connect.SinkRecord) error {
		for _, r := range records {
			if strings.HasPrefix(fmt.Sprint(r.Value), "bad") {
				results <- ctx.ErrantRecordReporter().Report(r, errors.New("rejected by the sink"))
			}
		}
		return nil
	}
	stop := startRunner(t, newSinkRunner(t, srv, "audits-sink", sink, config, newStateLog()))
	waitCommittedAt(t, srv.Addr, "connect-audits-sink", "audits", 4)
	stop()
	for range 2 {
		if err := <-<-results; err != nil {
			t.Errorf("report: %v", err)
		}
	}
	dlq := readTopic(t, srv.Addr, "audits-dlq")
	if len(dlq) != 2 {
		t.Fatalf("%d records in the dead letter queue, want 2", len(dlq))
	}
	for i, r := range dlq {
		h := headerMap(r)
		offset := fmt.Sprint(2*i + 1)
		if string(r.Value) != envelope(fmt.Sprintf("bad-%s", offset)) || h[dlqHeaderStage] != "TASK_PUT" ||
			h[dlqHeaderOffset] != offset || h[dlqHeaderMessage] != "rejected by the sink" {
			t.Errorf("queued %s with headers %v", r.Value, h)
		}
	}
}

// TestSinkTaskRunnerPauseAndResume: while the herder pauses the task,
// nothing is put though records arrive; after resume they are.
func TestSinkTaskRunnerPauseAndResume(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"clicks": 1})
	batch := func(from int) []*kgo.Record {
		var recs []*kgo.Record
		for i := from; i < from+5; i++ {
			recs = append(recs, record("clicks", 0, envelope(fmt.Sprintf("click-%d", i))))
		}
		return recs
	}
	produce(t, srv.Addr, batch(0)...)
	sink := newRecordingSink()
	states := newStateLog()
	r := newSinkRunner(t, srv, "clicks-sink", sink, map[string]string{keyTopics: "clicks"}, states)
	stop := startRunner(t, r)
	sink.waitFor(t, "5 records put", func() bool { return len(sink.mu.put) >= 5 })
	r.target.set(true)
	states.waitState(t, StatePaused)
	produce(t, srv.Addr, batch(5)...)
	// The loop goes around several times, each time free to poll.
	loops := r.loops.Load()
	sink.waitFor(t, "the loop to go around", func() bool { return r.loops.Load() >= loops+5 })
	if n := len(sink.payloads()); n != 5 {
		t.Fatalf("%d records put while paused", n)
	}
	r.target.set(false)
	sink.waitFor(t, "10 records put", func() bool { return len(sink.mu.put) >= 10 })
	stop()
	if got := states.all(); got != "RUNNING,PAUSED,RUNNING,UNASSIGNED" {
		t.Errorf("states %s", got)
	}
}

// externalOffsetsSink keeps its offsets itself, as Kafka's exactly-once
// sinks do: PreCommit commits nothing to the group, and the task rewinds
// the consumer with SinkTaskContext.Offset.
type externalOffsetsSink struct {
	*recordingSink
	preCommits chan struct{}
}

func (s externalOffsetsSink) PreCommit(ctx context.Context, offsets map[connect.TopicPartition]int64) (map[connect.TopicPartition]int64, error) {
	select {
	case s.preCommits <- struct{}{}:
	default:
	}
	return map[connect.TopicPartition]int64{}, s.Flush(ctx, offsets)
}

// TestSinkTaskRunnerRewindsAndPreCommit: a rewind in Open starts the
// partition there, a rewind later re-reads from there, and a PreCommit
// that confirms nothing leaves the group without offsets.
func TestSinkTaskRunnerRewindsAndPreCommit(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"ledger": 1})
	var recs []*kgo.Record
	for i := range 5 {
		recs = append(recs, record("ledger", 0, envelope(fmt.Sprintf("entry-%d", i))))
	}
	produce(t, srv.Addr, recs...)
	tp := connect.TopicPartition{Topic: "ledger", Partition: 0}
	sink := externalOffsetsSink{recordingSink: newRecordingSink(), preCommits: make(chan struct{}, 1)}
	sink.onOpen = func(ctx connect.SinkTaskContext, _ []connect.TopicPartition) { ctx.Offset(tp, 2) }
	stop := startRunner(t, newSinkRunner(t, srv, "ledger-sink", sink, map[string]string{keyTopics: "ledger"}, newStateLog()))
	sink.waitFor(t, "3 records put", func() bool { return len(sink.mu.put) >= 3 })
	sink.mu.Lock()
	ctx := sink.mu.ctx
	sink.mu.Unlock()
	if got := ctx.Assignment(); !slices.Equal(got, []connect.TopicPartition{tp}) {
		t.Errorf("assignment %v", got)
	}
	ctx.Offset(tp, 0)
	sink.waitFor(t, "8 records put", func() bool { return len(sink.mu.put) >= 8 })
	for range 2 { // a commit after the records
		select {
		case <-sink.preCommits:
		case <-time.After(waitTimeout):
			t.Fatal("no PreCommit")
		}
	}
	stop()
	want := []string{"entry-2", "entry-3", "entry-4", "entry-0", "entry-1", "entry-2", "entry-3", "entry-4"}
	if got := sink.payloads(); !slices.Equal(got, want) {
		t.Errorf("put %v, want %v", got, want)
	}
	if got := committedOffsets(t, srv.Addr, "connect-ledger-sink", "ledger"); len(got) != 0 {
		t.Errorf("committed %v though PreCommit confirmed nothing", got)
	}
}

// TestSinkTaskRunnerRebalance runs two tasks of one connector: when the
// second joins, partitions move to it after the first committed them,
// and back when it leaves; every record is put exactly once.
func TestSinkTaskRunnerRebalance(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	srv.CreateTopics(t, map[string]int32{"shipments": 3})
	produceRange := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, record("shipments", int32(i%3), envelope(fmt.Sprintf("shipment-%d", i))))
		}
		produce(t, srv.Addr, recs...)
	}
	config := map[string]string{keyTopics: "shipments"}
	sinkA, sinkB := newRecordingSink(), newRecordingSink()
	produceRange(0, 30)
	stopA := startRunner(t, newSinkRunner(t, srv, "shipments-sink", sinkA, config, newStateLog()))
	sinkA.waitFor(t, "30 records put by the first task", func() bool { return len(sinkA.mu.put) >= 30 })
	runnerB := newSinkRunner(t, srv, "shipments-sink", sinkB, config, newStateLog())
	runnerB.id.Task = 1
	stopB := startRunner(t, runnerB)
	sinkB.waitFor(t, "a partition for the second task", func() bool { return len(sinkB.mu.opened) > 0 })
	produceRange(30, 60)
	total := func() int { return len(sinkA.payloads()) + len(sinkB.payloads()) }
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for total() < 60 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%d of 60 records put", total())
		}
	}
	stopB()
	produceRange(60, 66)
	sinkA.waitFor(t, "the first task to take all partitions back", func() bool {
		return len(sinkA.mu.put)+len(sinkB.payloads()) >= 66
	})
	stopA()
	seen := map[string]int{}
	for _, p := range append(sinkA.payloads(), sinkB.payloads()...) {
		seen[p]++
	}
	for i := range 66 {
		if n := seen[fmt.Sprintf("shipment-%d", i)]; n != 1 {
			t.Errorf("shipment-%d put %d times", i, n)
		}
	}
	if got := committedOffsets(t, srv.Addr, "connect-shipments-sink", "shipments"); !maps.Equal(got, map[int32]int64{0: 22, 1: 22, 2: 22}) {
		t.Errorf("committed %v", got)
	}
}
