package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/converters"
)

const (
	// sinkMaxPollRecords bounds the records of one Put (Kafka's consumer
	// max.poll.records default).
	sinkMaxPollRecords = 500
	// sinkPollWaitMax bounds how long the loop waits for records or for a
	// retry before it looks again at the target state, which has no
	// wakeup of its own: a pause takes effect within this.
	sinkPollWaitMax = 500 * time.Millisecond
	// putRetryBackoff is the wait before Put gets a batch again after a
	// RetriableError when the task set no SinkTaskContext.Timeout: prompt,
	// but not a busy loop (Kafka's RETRIES_DELAY_MIN_MS).
	putRetryBackoff = 300 * time.Millisecond
	// sinkFlushIntervalMin floors offset.flush.interval.ms, which may be 0:
	// the loop's ticker and poll wait need a positive period.
	sinkFlushIntervalMin = 10 * time.Millisecond
	// transformClass names the transformation chain in errors and the dead
	// letter queue's class header: the runner gets it as one function.
	transformClass = "org.apache.kafka.connect.runtime.TransformationChain"
)

// sinkGroupID is the consumer group of a sink connector's tasks (Kafka's
// default, SinkUtils.consumerGroupId).
func sinkGroupID(connector string) string { return "connect-" + connector }

// sinkTaskRunner runs one sink task on its own goroutine (run): it consumes
// the connector's topics as a member of the group "connect-<connector>",
// converts and transforms each record under the connector's error
// handling, hands batches to Put, and commits the group's offsets once
// Flush (or PreCommit) has confirmed them, every offset.flush.interval.ms,
// on request, when partitions are revoked and when the task stops.
//
// Rebalances: kgo calls the runner's hooks on its group goroutine; each
// hands the partitions to the task goroutine (through hooks, waking the
// poll) and waits until that has committed and closed them (revoked or
// lost) or opened them (assigned), so that the task's methods are called
// on one goroutine and no offset is committed for a partition another
// member owns.
type sinkTaskRunner struct {
	id     TaskID
	task   connect.SinkTask
	config map[string]string // the task's configuration, for Start
	// connectorConfig is the connector's configuration: topics or
	// topics.regex, and the errors.* keys.
	connectorConfig map[string]string
	converters      recordConverters
	// transform applies the connector's transforms; false drops the
	// record. nil keeps every record as it is.
	transform func(*connect.SinkRecord) (bool, error)
	// consumerOpts are the consumer's client options (seed brokers,
	// security, consumer.* overrides); the runner adds the group, the
	// subscription, the cooperative-sticky balancer, manual commits and
	// its rebalance hooks. producerOpts are the dead letter queue
	// producer's, used only when one is configured.
	consumerOpts, producerOpts []kgo.Opt
	flushEvery                 time.Duration
	// report is told of each state the task enters; err explains FAILED.
	report func(state string, err error)
	logger *slog.Logger
	target *targetState

	// Set up by run; used on the task goroutine unless said otherwise.
	client   *kgo.Client
	tctx     *sinkTaskContext
	errs     *errorOperator
	dlq      *deadLetterQueue // nil without one
	reporter *errantReporter  // nil unless the task gets one
	classes  stageClasses

	// positions are, per partition, the offset after the last record put
	// (or skipped) in original terms: what the next commit asks Flush to
	// confirm. committed are the offsets last committed.
	positions, committed map[connect.TopicPartition]int64
	// inHand are records polled and not yet converted.
	inHand []*kgo.Record
	// batch is what the next Put gets.
	batch sinkBatch
	// retryTimer fires when a batch that Put refused is due again; nil
	// unless retrying.
	retryTimer *time.Timer
	paused     bool // as last reported

	// wake holds a wakeup for the loop: a rebalance, a request of the task.
	wake  chan struct{}
	hooks struct {
		sync.Mutex
		events     []*rebalanceEvent
		cancelPoll context.CancelFunc // ends the poll in progress
		stopped    bool
	}
	// released is closed when the task goroutine handles no more
	// rebalances, so that hooks waiting on it return.
	released chan struct{}
	// loops counts the loop's iterations (for tests: to wait for the loop
	// to go around while paused).
	loops atomic.Int64
}

// sinkBatch is the records of the next Put and, per partition, the offset
// after the last record polled for it, put or skipped.
type sinkBatch struct {
	records []connect.SinkRecord
	next    map[connect.TopicPartition]int64
}

// stageClasses name what runs each stage, as Kafka's executing classes.
type stageClasses struct{ key, value, header, task string }

// run drives the task until ctx ends or the task fails. It commits what
// was flushed and closes the partitions before it returns.
func (r *sinkTaskRunner) run(ctx context.Context) {
	if err := r.open(ctx); err != nil {
		r.fail(err)
		return
	}
	err := r.task.Start(r.tctx, r.config)
	if err != nil {
		err = fmt.Errorf("starting task %s: %w", r.id, err)
	} else {
		err = r.finish(ctx, r.loop(ctx))
	}
	r.close(ctx)
	if err != nil {
		r.fail(err)
		return
	}
	r.report(StateUnassigned, nil)
}

// open reads the connector's configuration and makes the error handling,
// the dead letter queue and the consumer, which joins the group at once.
func (r *sinkTaskRunner) open(ctx context.Context) error {
	subscription, err := sinkSubscription(r.connectorConfig)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.id, err)
	}
	errConfig, err := parseErrorHandlingConfig(r.connectorConfig, connect.PluginSink)
	if err != nil {
		return fmt.Errorf("task %s: %w", r.id, err)
	}
	r.classes = stageClasses{key: className(r.converters.key), value: className(r.converters.value),
		header: className(r.converters.header), task: fmt.Sprintf("%T", r.task)}
	r.errs = &errorOperator{config: errConfig, task: r.id, logger: r.logger}
	if errConfig.dlqTopic != "" {
		if r.dlq, err = openDeadLetterQueue(ctx, r.producerOpts, r.id, errConfig, r.logger); err != nil {
			return err
		}
		r.errs.dlq = r.dlq
	}
	r.wake = make(chan struct{}, 1)
	r.released = make(chan struct{})
	r.positions, r.committed = map[connect.TopicPartition]int64{}, map[connect.TopicPartition]int64{}
	r.tctx = newSinkTaskContext(r.config, r.wakeup)
	if errConfig.errantReporterEnabled() {
		r.reporter = &errantReporter{operator: r.errs, consumed: newConsumedRecords(), converters: r.converters, taskClass: r.classes.task}
		r.tctx.reporter = r.reporter
	}
	opts := append([]kgo.Opt{
		kgo.ClientID("connector-consumer-" + r.id.String()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // Kafka's sink default: earliest
	}, r.consumerOpts...)
	opts = append(opts, subscription...)
	opts = append(opts, r.groupOpts()...)
	if r.client, err = kgo.NewClient(opts...); err != nil {
		if r.dlq != nil {
			r.dlq.close(ctx)
		}
		return fmt.Errorf("task %s: consumer: %w", r.id, err)
	}
	r.tctx.client = r.client
	return nil
}

// sinkSubscription reads topics or topics.regex, exactly one of which is
// set, and checks that the dead letter queue is not among them (Kafka's
// SinkConnectorConfig.validate). A regex must match a whole topic name, as
// Java's Pattern.matches does; it is Go's RE2 syntax.
func sinkSubscription(config map[string]string) ([]kgo.Opt, error) {
	var topics []string
	for t := range strings.SplitSeq(config[keyTopics], ",") {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	regex := strings.TrimSpace(config[keyTopicsRegex])
	dlq := strings.TrimSpace(config[keyDLQTopic])
	switch {
	case len(topics) > 0 && regex != "":
		return nil, fmt.Errorf("%w: topics and topics.regex are mutually exclusive options, but both are set.", connect.ErrInvalidConfig)
	case len(topics) == 0 && regex == "":
		return nil, fmt.Errorf("%w: Must configure one of topics or topics.regex", connect.ErrInvalidConfig)
	case len(topics) > 0:
		if dlq != "" && slices.Contains(topics, dlq) {
			return nil, fmt.Errorf("%w: The DLQ topic '%s' may not be included in the list of topics ('topics=%s') consumed by the connector",
				connect.ErrInvalidConfig, dlq, strings.Join(topics, ","))
		}
		return []kgo.Opt{kgo.ConsumeTopics(topics...)}, nil
	}
	anchored := "^(?:" + regex + ")$"
	re, err := regexp.Compile(anchored)
	if err != nil {
		return nil, fmt.Errorf("%w: topics.regex %q: %w", connect.ErrInvalidConfig, regex, err)
	}
	if dlq != "" && re.MatchString(dlq) {
		return nil, fmt.Errorf("%w: The DLQ topic '%s' may not be matched by the regex for the topics ('topics.regex=%s') consumed by the connector",
			connect.ErrInvalidConfig, dlq, regex)
	}
	return []kgo.Opt{kgo.ConsumeTopics(anchored), kgo.ConsumeRegex()}, nil
}

// className names a converter by its Kafka class where it has one.
func className(v any) string {
	switch v.(type) {
	case *converters.JSONConverter:
		return converters.JSONConverterClass
	case *converters.StringConverter, converters.StringConverter:
		return converters.StringConverterClass
	case *converters.ByteArrayConverter, converters.ByteArrayConverter:
		return converters.ByteArrayConverterClass
	}
	return fmt.Sprintf("%T", v)
}

// loop consumes and puts until ctx ends (nil) or the task fails.
func (r *sinkTaskRunner) loop(ctx context.Context) error {
	ticker := time.NewTicker(r.flushInterval())
	defer ticker.Stop()
	r.report(StateRunning, nil)
	for ctx.Err() == nil {
		err := r.iteration(ctx, ticker.C)
		r.loops.Add(1)
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// iteration handles what happened since the last one, commits if due,
// then gets records (or waits while paused or before a retry) and puts.
func (r *sinkTaskRunner) iteration(ctx context.Context, tick <-chan time.Time) error {
	if err := r.housekeeping(ctx); err != nil {
		return err
	}
	due := r.tctx.takeCommitRequest()
	select {
	case <-tick:
		due = true
	default:
	}
	if due {
		if err := r.commit(ctx, r.tctx.assigned()); err != nil {
			return err
		}
	}
	switch {
	case r.paused:
		r.idle(ctx, nil)
		return nil
	case r.retryTimer != nil:
		if r.idle(ctx, r.retryTimer.C) {
			r.retryTimer = nil
			return r.put(ctx)
		}
		return nil
	}
	if len(r.inHand) == 0 {
		r.inHand = r.poll(ctx)
		// A rebalance or rewind during the poll drops records polled
		// for partitions that changed hands or position.
		if err := r.housekeeping(ctx); err != nil || r.paused {
			return err
		}
	}
	if err := r.convert(ctx); err != nil {
		return err
	}
	return r.put(ctx)
}

// housekeeping handles rebalances, the target state and rewinds.
func (r *sinkTaskRunner) housekeeping(ctx context.Context) error {
	if err := r.handleRebalances(ctx); err != nil {
		return err
	}
	r.followTarget()
	r.applyRewinds()
	return nil
}

// followTarget pauses every partition while the herder wants the task
// paused (the group membership goes on in the background) and asks for a
// commit, as Kafka does.
func (r *sinkTaskRunner) followTarget() {
	paused := r.target.paused()
	if paused == r.paused {
		return
	}
	r.paused = paused
	r.tctx.pauseAll(pausedByTarget, paused)
	if paused {
		r.tctx.RequestCommit()
		r.report(StatePaused, nil)
		return
	}
	r.report(StateRunning, nil)
}

// idle waits for a wakeup, ctx, sinkPollWaitMax, or until fires (true).
func (r *sinkTaskRunner) idle(ctx context.Context, until <-chan time.Time) bool {
	t := time.NewTimer(r.pollWait())
	defer t.Stop()
	select {
	case <-until:
		return true
	case <-ctx.Done():
	case <-r.wake:
	case <-t.C:
	}
	return false
}

func (r *sinkTaskRunner) flushInterval() time.Duration {
	return max(r.flushEvery, sinkFlushIntervalMin)
}

func (r *sinkTaskRunner) pollWait() time.Duration { return min(r.flushInterval(), sinkPollWaitMax) }

// poll returns the records fetched within pollWait; a wakeup ends it
// early.
func (r *sinkTaskRunner) poll(ctx context.Context) []*kgo.Record {
	pollCtx, cancel := context.WithTimeout(ctx, r.pollWait())
	defer cancel()
	r.hooks.Lock()
	r.hooks.cancelPoll = cancel
	r.hooks.Unlock()
	defer func() {
		r.hooks.Lock()
		r.hooks.cancelPoll = nil
		r.hooks.Unlock()
	}()
	select {
	case <-r.wake: // something to handle first
		return nil
	default:
	}
	fetches := r.client.PollRecords(pollCtx, sinkMaxPollRecords)
	fetches.EachError(func(topic string, partition int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			return
		}
		// kgo retries what can be retried; the rest is reported and the
		// consumer goes on, as the group may still recover.
		r.logger.Warn("sink task: consuming", "task", r.id.String(), "topic", topic, "partition", partition, "err", err)
	})
	return fetches.Records()
}

// wakeup makes the loop look at what changed: it ends the poll in progress
// or the wait, or the next one. Safe from any goroutine.
func (r *sinkTaskRunner) wakeup() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.hooks.Lock()
	cancel := r.hooks.cancelPoll
	r.hooks.Unlock()
	if cancel != nil {
		cancel()
	}
}

// convert turns the records in hand into the batch: converted and
// transformed, or skipped when errors.tolerance lets their failure pass.
func (r *sinkTaskRunner) convert(ctx context.Context) error {
	if r.batch.next == nil {
		r.batch.next = map[connect.TopicPartition]int64{}
	}
	for len(r.inHand) > 0 {
		kr := r.inHand[0]
		rec, keep, err := r.toSinkRecord(ctx, kr)
		if err != nil {
			return err
		}
		r.inHand = r.inHand[1:]
		r.batch.next[connect.TopicPartition{Topic: kr.Topic, Partition: kr.Partition}] = kr.Offset + 1
		if keep {
			r.batch.records = append(r.batch.records, rec)
			if r.reporter != nil {
				r.reporter.consumed.add(kr)
			}
		}
	}
	r.inHand = nil
	return nil
}

// toSinkRecord converts a consumed record's key, value and headers and
// transforms it, each stage under the error handling. keep is false when
// the record is dropped by a transform or skipped after a tolerated
// failure.
func (r *sinkTaskRunner) toSinkRecord(ctx context.Context, kr *kgo.Record) (rec connect.SinkRecord, keep bool, err error) {
	rec = connect.SinkRecord{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
		TimestampType: connect.TimestampType(kr.Attrs.TimestampType())}
	if rec.TimestampType != connect.NoTimestampType && kr.Timestamp.UnixMilli() >= 0 {
		rec.Timestamp = kr.Timestamp
	} else {
		rec.TimestampType = connect.NoTimestampType
	}
	var raw connect.RecordHeaders
	for _, h := range kr.Headers {
		raw.Add(h.Key, h.Value)
	}
	stages := []struct {
		stage errorStage
		class string
		op    func() error
	}{
		{stageKeyConverter, r.classes.key, func() error {
			sv, err := r.converters.key.ToConnectData(kr.Topic, raw, kr.Key)
			rec.KeySchema, rec.Key = sv.Schema, sv.Value
			return err
		}},
		{stageValueConverter, r.classes.value, func() error {
			sv, err := r.converters.value.ToConnectData(kr.Topic, raw, kr.Value)
			rec.ValueSchema, rec.Value = sv.Schema, sv.Value
			return err
		}},
		{stageHeaderConverter, r.classes.header, func() error {
			rec.Headers = nil
			for _, h := range raw {
				sv, err := r.converters.header.ToConnectHeader(kr.Topic, h.Key, h.Value)
				if err != nil {
					return fmt.Errorf("header %s: %w", h.Key, err)
				}
				rec.Headers = append(rec.Headers, connect.Header{Key: h.Key, Schema: sv.Schema, Value: sv.Value})
			}
			return nil
		}},
	}
	for _, s := range stages {
		if ok, err := r.errs.execute(ctx, kr, s.stage, s.class, s.op); !ok {
			return rec, false, err
		}
	}
	if r.transform == nil {
		return r.withOriginal(rec, kr), true, nil
	}
	keep = true
	ok, err := r.errs.execute(ctx, kr, stageTransformation, transformClass, func() error {
		var err error
		keep, err = r.transform(&rec)
		return err
	})
	return r.withOriginal(rec, kr), ok && keep, err
}

// withOriginal sets the record's original coordinates, whatever the
// transforms made of the others.
func (r *sinkTaskRunner) withOriginal(rec connect.SinkRecord, kr *kgo.Record) connect.SinkRecord {
	rec.OriginalTopic, rec.OriginalPartition, rec.OriginalOffset = kr.Topic, kr.Partition, kr.Offset
	return rec
}

// put hands the batch to the task. A RetriableError pauses every
// partition and keeps the batch for another Put after the backoff; once a
// batch is put, its partitions' positions move past it.
func (r *sinkTaskRunner) put(ctx context.Context) error {
	if len(r.batch.records) > 0 {
		err := r.task.Put(ctx, slices.Clone(r.batch.records))
		if err != nil && ctx.Err() != nil {
			return nil // stopping: the batch is not put
		}
		if err != nil && isRetriable(err) {
			r.logger.Warn("sink task: put failed; retrying the same records", "task", r.id.String(),
				"records", len(r.batch.records), "err", err)
			r.tctx.pauseAll(pausedForRedelivery, true)
			backoff := r.tctx.takeRetryBackoff()
			if backoff <= 0 {
				backoff = putRetryBackoff
			}
			r.retryTimer = time.NewTimer(backoff)
			return nil
		}
		if err != nil {
			return fmt.Errorf("task %s: put: %w", r.id, err)
		}
	}
	if r.reporter != nil {
		if err := r.reporter.takeFailure(); err != nil {
			return err
		}
	}
	maps.Copy(r.positions, r.batch.next)
	r.batch = sinkBatch{}
	r.retryTimer = nil
	r.tctx.pauseAll(pausedForRedelivery, false)
	return nil
}

// fail reports the task FAILED.
func (r *sinkTaskRunner) fail(err error) {
	r.logger.Error("task failed", "task", r.id.String(), "err", err)
	r.report(StateFailed, err)
}
