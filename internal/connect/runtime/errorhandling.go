package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

// Error handling of connector tasks, shared by the sink and source runners:
// Kafka's RetryWithToleranceOperator, LogReporter and dead letter queue
// (KIP-298, KIP-610), configured by a connector's errors.* keys.
//
// A stage of a record's processing (a conversion, a transformation) runs
// through errorOperator.execute: a retriable error (connect.RetriableError)
// is retried with exponential backoff for errors.retry.timeout; an error
// that remains fails the task under errors.tolerance=none, or skips the
// record under errors.tolerance=all, after it has been logged
// (errors.log.enable) and its original consumed record queued to the dead
// letter queue (errors.deadletterqueue.topic.name, sinks only).

// errorStage is a stage of a connector's pipeline, with Kafka's names
// (org.apache.kafka.connect.runtime.errors.Stage), which the dead letter
// queue's __connect.errors.stage header carries.
type errorStage string

// The stages.
const (
	stageTaskPoll        errorStage = "TASK_POLL"
	stageTaskPut         errorStage = "TASK_PUT"
	stageTransformation  errorStage = "TRANSFORMATION"
	stageKeyConverter    errorStage = "KEY_CONVERTER"
	stageValueConverter  errorStage = "VALUE_CONVERTER"
	stageHeaderConverter errorStage = "HEADER_CONVERTER"
	stageKafkaProduce    errorStage = "KAFKA_PRODUCE"
	stageKafkaConsume    errorStage = "KAFKA_CONSUME"
)

// tolerates reports whether errors.tolerance=all may skip a record whose
// stage failed with err: any error of a converter or a transformation, only
// a retriable one elsewhere (Kafka's TOLERABLE_EXCEPTIONS).
func (s errorStage) tolerates(err error) bool {
	switch s {
	case stageTransformation, stageKeyConverter, stageValueConverter, stageHeaderConverter:
		return true
	}
	return isRetriable(err)
}

// retryDelayMin is the backoff before the first retry, doubled at each
// retry up to errors.retry.delay.max.ms (Kafka's RETRIES_DELAY_MIN_MS).
const retryDelayMin = 300 * time.Millisecond

// errorHandlingConfig is a connector's errors.* configuration.
type errorHandlingConfig struct {
	// retryTimeout bounds the retries of a failed stage (errors.retry.timeout):
	// zero retries nothing, a negative value retries until the task stops.
	retryTimeout time.Duration
	// retryDelayMax caps the backoff between retries
	// (errors.retry.delay.max.ms); past it, the delay is random below it.
	retryDelayMax time.Duration
	// tolerateAll skips failed records instead of failing the task
	// (errors.tolerance=all).
	tolerateAll bool
	// logErrors logs every failure (errors.log.enable), logRecords with the
	// record's coordinates (errors.log.include.messages).
	logErrors, logRecords bool
	// dlqTopic is the dead letter queue's topic, "" for none; sinks only.
	dlqTopic string
	// dlqReplicationFactor is the topic's replication factor when the
	// worker creates it (-1: the broker's default).
	dlqReplicationFactor int16
	// dlqContextHeaders adds the __connect.errors.* headers.
	dlqContextHeaders bool
}

// parseErrorHandlingConfig reads the errors.* keys of a connector's
// configuration; the dead letter queue keys count for sinks only.
func parseErrorHandlingConfig(config map[string]string, typ connect.PluginType) (errorHandlingConfig, error) {
	d := connect.NewConfigDef()
	defineErrorKeys(d, typ)
	c, err := d.Parse(config)
	if err != nil {
		return errorHandlingConfig{}, fmt.Errorf("error handling configuration: %w", err)
	}
	e := errorHandlingConfig{
		retryTimeout:  time.Duration(c.GetLong(keyRetryTimeout)) * time.Millisecond,
		retryDelayMax: time.Duration(c.GetLong(keyRetryDelayMax)) * time.Millisecond,
		tolerateAll:   strings.EqualFold(c.GetString(keyErrorsTolerance), "all"),
		logErrors:     c.GetBoolean(keyErrorsLog),
		logRecords:    c.GetBoolean(keyErrorsLogMsgs),
	}
	if typ == connect.PluginSink {
		e.dlqTopic = strings.TrimSpace(c.GetString(keyDLQTopic))
		e.dlqReplicationFactor = c.GetShort(keyDLQRF)
		e.dlqContextHeaders = c.GetBoolean(keyDLQHeaders)
	}
	return e, nil
}

// errantReporterEnabled reports whether a sink task gets an
// ErrantRecordReporter: with a dead letter queue or errors.log.enable, as
// Kafka's SinkConnectorConfig.enableErrantRecordReporter decides.
func (e errorHandlingConfig) errantReporterEnabled() bool {
	return e.dlqTopic != "" || e.logErrors
}

// failure is a stage that failed for good (Kafka's ProcessingContext).
type failure struct {
	// original is the record as consumed, nil for a source record.
	original *kgo.Record
	// partition is the consumed partition whose offset commit waits for
	// the failure's dead letter queue write.
	partition connect.TopicPartition
	stage     errorStage
	// class names what ran the stage, as Kafka's executing class.
	class string
	err   error
}

// errorOperator runs stages with retries and tolerance (Kafka's
// RetryWithToleranceOperator). It is safe for concurrent use: a sink
// task's ErrantRecordReporter reports through it from any goroutine.
type errorOperator struct {
	config errorHandlingConfig
	task   TaskID
	logger *slog.Logger
	// dlq receives the original records of tolerated failures; nil when
	// no dead letter queue is configured.
	dlq *deadLetterQueue
	// wait waits d, or less when ctx ends first; nil waits on a timer.
	// Tests replace it to record the backoffs.
	wait func(ctx context.Context, d time.Duration)

	failures atomic.Int64 // failed stages, tolerated or not
}

// errToleranceExceeded is wrapped by the error that fails a task on a
// failure that errors.tolerance does not let pass.
var errToleranceExceeded = errors.New("tolerance exceeded in error handler")

// execute runs op as stage of the processing of original (nil for a
// source record), class naming what runs it. It returns true when op
// succeeded, at once or after retries. When op failed for good it returns
// false with a nil error if errors.tolerance=all lets the record be
// skipped (the failure has been logged and sent to the dead letter queue),
// and otherwise the error that fails the task. When ctx ends during a
// backoff it returns ctx's error: the task is stopping, and the record is
// neither skipped nor reported.
func (o *errorOperator) execute(ctx context.Context, original *kgo.Record, stage errorStage, class string, op func() error) (bool, error) {
	err := o.retry(ctx, op)
	if err == nil {
		return true, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	f := failure{original: original, stage: stage, class: class, err: err}
	if original != nil {
		f.partition = connect.TopicPartition{Topic: original.Topic, Partition: original.Partition}
	}
	_, err = o.handle(f, f.stage.tolerates(err))
	return false, err
}

// retry calls op until it succeeds, fails with an error that is not
// retriable, or errors.retry.timeout has passed since the first call, with
// Kafka's backoff between calls. It returns op's last error.
func (o *errorOperator) retry(ctx context.Context, op func() error) error {
	window := ctx
	if o.config.retryTimeout >= 0 {
		var cancel context.CancelFunc
		window, cancel = context.WithTimeout(ctx, o.config.retryTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !isRetriable(err) || window.Err() != nil {
			return err
		}
		o.logger.Debug("retrying a failed operation", "task", o.task.String(), "attempt", attempt, "err", err)
		// The backoff ends early at the retry timeout, and the operation
		// gets a last attempt then, as Kafka's does.
		o.sleep(window, o.backoff(attempt))
		if ctx.Err() != nil {
			return err
		}
	}
}

// backoff is the delay before retry number attempt: retryDelayMin doubled
// for each earlier retry, or a random delay below errors.retry.delay.max.ms
// once that is passed (jitter against thundering herds).
func (o *errorOperator) backoff(attempt int) time.Duration {
	delay := o.config.retryDelayMax
	if attempt <= 20 { // beyond, the shift passes any sensible maximum
		delay = retryDelayMin << (attempt - 1)
	}
	if delay > o.config.retryDelayMax {
		if o.config.retryDelayMax <= 0 {
			return 0
		}
		delay = rand.N(o.config.retryDelayMax)
	}
	return delay
}

func (o *errorOperator) sleep(ctx context.Context, d time.Duration) {
	if o.wait != nil {
		o.wait(ctx, d)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// handle records a failure that retries did not cure (Kafka's
// executeFailed, and the end of execute). When errors.tolerance=all and
// tolerable allow it to pass, it logs the failure, queues the original
// record to the dead letter queue and returns a channel that receives the
// write's result (nil at once without a queue). Otherwise it returns the
// error that fails the task; unlike Kafka, the record then does not go to
// the dead letter queue, since the restarted task will meet it again and
// each poison record is to be queued once.
func (o *errorOperator) handle(f failure, tolerable bool) (<-chan error, error) {
	o.failures.Add(1)
	if !o.config.tolerateAll || !tolerable {
		return nil, fmt.Errorf("task %s: %w: stage %s with class %s%s: %w",
			o.task, errToleranceExceeded, f.stage, f.class, recordCoordinates(f.original), f.err)
	}
	if o.config.logErrors {
		o.log(f)
	}
	if o.dlq == nil || f.original == nil {
		done := make(chan error, 1)
		done <- nil
		return done, nil
	}
	return o.dlq.write(f), nil
}

// log writes Kafka's LogReporter message about a tolerated failure.
func (o *errorOperator) log(f failure) {
	msg := fmt.Sprintf("Error encountered in task %s. Executing stage '%s' with class '%s'", o.task, f.stage, f.class)
	if o.config.logRecords {
		msg += recordCoordinates(f.original)
	}
	o.logger.Error(msg+".", "task", o.task.String(), "err", f.err)
}

// recordCoordinates describes a consumed record as Kafka's log reporter
// does, or returns "" for none.
func recordCoordinates(r *kgo.Record) string {
	if r == nil {
		return ""
	}
	s := fmt.Sprintf(", where consumed record is {topic='%s', partition=%d, offset=%d", r.Topic, r.Partition, r.Offset)
	if t := connect.TimestampType(r.Attrs.TimestampType()); t != connect.NoTimestampType {
		s += fmt.Sprintf(", timestamp=%d, timestampType=%s", r.Timestamp.UnixMilli(), t)
	}
	return s + "}"
}

// Kafka's exception classes that the dead letter queue's
// __connect.errors.exception.class.name header names for Go errors.
const (
	dataExceptionClass      = "org.apache.kafka.connect.errors.DataException"
	retriableExceptionClass = "org.apache.kafka.connect.errors.RetriableException"
	connectExceptionClass   = "org.apache.kafka.connect.errors.ConnectException"
)

// errorClassName names err as the Java exception Kafka would have thrown:
// DataException for invalid data (connect.ErrInvalidData, which the
// converters return), RetriableException for connect.RetriableError,
// ConnectException for anything else, so that tools reading the dead
// letter queue see familiar names.
func errorClassName(err error) string {
	switch {
	case errors.Is(err, connect.ErrInvalidData):
		return dataExceptionClass
	case isRetriable(err):
		return retriableExceptionClass
	}
	return connectExceptionClass
}

// errorTrace stands in for a Java stack trace, which Go errors do not
// carry: the chain of wrapped errors, outermost first, one a line, each
// with its Go type, the way "Caused by:" lines read.
func errorTrace(err error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", errorClassName(err), err)
	for cause := errors.Unwrap(err); cause != nil; cause = errors.Unwrap(cause) {
		fmt.Fprintf(&b, "\nCaused by: %T: %s", cause, cause)
	}
	return b.String()
}
