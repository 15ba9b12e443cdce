package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/connect"
)

func TestParseErrorHandlingConfig(t *testing.T) {
	got, err := parseErrorHandlingConfig(map[string]string{}, connect.PluginSink)
	if err != nil {
		t.Fatal(err)
	}
	want := errorHandlingConfig{retryDelayMax: time.Minute, dlqReplicationFactor: 3}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	got, err = parseErrorHandlingConfig(map[string]string{
		keyRetryTimeout: "-1", keyRetryDelayMax: "1000", keyErrorsTolerance: "all", keyErrorsLog: "true",
		keyErrorsLogMsgs: "true", keyDLQTopic: " dlq ", keyDLQRF: "1", keyDLQHeaders: "true",
	}, connect.PluginSink)
	if err != nil {
		t.Fatal(err)
	}
	want = errorHandlingConfig{retryTimeout: -time.Millisecond, retryDelayMax: time.Second, tolerateAll: true,
		logErrors: true, logRecords: true, dlqTopic: "dlq", dlqReplicationFactor: 1, dlqContextHeaders: true}
	if got != want {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
	if !got.errantReporterEnabled() {
		t.Error("no errant record reporter with a dead letter queue")
	}
	if _, err := parseErrorHandlingConfig(map[string]string{keyErrorsTolerance: "some"}, connect.PluginSink); !errors.Is(err, connect.ErrInvalidConfig) {
		t.Errorf("errors.tolerance=some: %v", err)
	}
	src, err := parseErrorHandlingConfig(map[string]string{keyDLQTopic: "dlq"}, connect.PluginSource)
	if err != nil || src.dlqTopic != "" {
		t.Errorf("source with a dead letter queue: %+v, %v", src, err)
	}
}

// testOperator returns an operator whose backoffs are recorded instead of
// waited.
func testOperator(config errorHandlingConfig) (*errorOperator, *[]time.Duration) {
	var waits []time.Duration
	o := &errorOperator{config: config, task: TaskID{"c", 0}, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wait: func(_ context.Context, d time.Duration) { waits = append(waits, d) }}
	return o, &waits
}

func TestErrorOperatorRetriesWithBackoff(t *testing.T) {
	o, waits := testOperator(errorHandlingConfig{retryTimeout: time.Hour, retryDelayMax: time.Second})
	calls := 0
	ok, err := o.execute(t.Context(), nil, stageValueConverter, "conv", func() error {
		if calls++; calls < 5 {
			return connect.Retriable(errors.New("busy"))
		}
		return nil
	})
	if !ok || err != nil || calls != 5 {
		t.Fatalf("ok %v, err %v after %d calls", ok, err, calls)
	}
	w := *waits
	if len(w) != 4 || w[0] != 300*time.Millisecond || w[1] != 600*time.Millisecond {
		t.Fatalf("waits %v", w)
	}
	// Past errors.retry.delay.max.ms the delay is random below it.
	if w[2] >= time.Second || w[3] >= time.Second {
		t.Errorf("waits %v pass the maximum", w)
	}
}

func TestErrorOperatorTolerance(t *testing.T) {
	bad := fmt.Errorf("parsing: %w", connect.ErrInvalidData)
	retriable := connect.Retriable(errors.New("busy"))
	for _, tc := range []struct {
		name      string
		tolerate  bool
		stage     errorStage
		err       error
		wantFatal bool
	}{
		{"none fails", false, stageValueConverter, bad, true},
		{"all skips a conversion error", true, stageValueConverter, bad, false},
		{"all skips a transformation error", true, stageTransformation, bad, false},
		{"all skips a retriable error after the retries", true, stageKafkaProduce, retriable, false},
		{"all does not skip other errors of other stages", true, stageKafkaProduce, bad, true},
		{"none fails on a retriable error after the retries", false, stageKeyConverter, retriable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, waits := testOperator(errorHandlingConfig{tolerateAll: tc.tolerate, retryDelayMax: time.Minute})
			calls := 0
			ok, err := o.execute(t.Context(), nil, tc.stage, "x", func() error { calls++; return tc.err })
			if ok || calls != 1 || len(*waits) != 0 {
				t.Fatalf("ok %v after %d calls and waits %v; errors.retry.timeout=0 retries nothing", ok, calls, *waits)
			}
			if tc.wantFatal != (err != nil) {
				t.Fatalf("err %v, want fatal %v", err, tc.wantFatal)
			}
			if err != nil && (!errors.Is(err, errToleranceExceeded) || !errors.Is(err, tc.err)) {
				t.Errorf("err %v does not wrap the tolerance and the cause", err)
			}
			if o.failures.Load() != 1 {
				t.Errorf("%d failures counted", o.failures.Load())
			}
		})
	}
}

func TestErrorOperatorStopsRetryingWhenStopped(t *testing.T) {
	o, _ := testOperator(errorHandlingConfig{retryTimeout: -1, retryDelayMax: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	ok, err := o.execute(ctx, nil, stageValueConverter, "x", func() error {
		if calls++; calls == 3 {
			cancel()
		}
		return connect.Retriable(errors.New("busy"))
	})
	if ok || !errors.Is(err, context.Canceled) || calls != 3 {
		t.Fatalf("ok %v, err %v after %d calls", ok, err, calls)
	}
	if o.failures.Load() != 0 {
		t.Error("a stopped retry counts as a failure")
	}
}

func TestErrorOperatorRetryTimeoutEndsRetries(t *testing.T) {
	o := &errorOperator{config: errorHandlingConfig{retryTimeout: 50 * time.Millisecond, retryDelayMax: time.Minute, tolerateAll: true},
		task: TaskID{"c", 0}, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	calls := 0
	ok, err := o.execute(t.Context(), nil, stageValueConverter, "x", func() error {
		calls++
		return connect.Retriable(errors.New("busy"))
	})
	// The first backoff (300ms) is cut at the timeout, then a last attempt.
	if ok || err != nil || calls != 2 {
		t.Fatalf("ok %v, err %v after %d calls", ok, err, calls)
	}
}

func TestErrorNames(t *testing.T) {
	err := fmt.Errorf("value: %w", fmt.Errorf("converting: %w", connect.ErrInvalidData))
	if got := errorClassName(err); got != dataExceptionClass {
		t.Errorf("class %s", got)
	}
	if got := errorClassName(connect.Retriable(errors.New("x"))); got != retriableExceptionClass {
		t.Errorf("class %s", got)
	}
	if got := errorClassName(errors.New("x")); got != connectExceptionClass {
		t.Errorf("class %s", got)
	}
	trace := errorTrace(err)
	want := "org.apache.kafka.connect.errors.DataException: value: converting: connect: invalid data\n" +
		"Caused by: *fmt.wrapError: converting: connect: invalid data\n" +
		"Caused by: *errors.errorString: connect: invalid data"
	if trace != want {
		t.Errorf("trace\n%s\nwant\n%s", trace, want)
	}
	r := &kgo.Record{Topic: "t", Partition: 2, Offset: 7, Timestamp: time.UnixMilli(1000)}
	if got := recordCoordinates(r); got != ", where consumed record is {topic='t', partition=2, offset=7, timestamp=1000, timestampType=CreateTime}" {
		t.Errorf("coordinates %s", got)
	}
}

func TestConsumedRecords(t *testing.T) {
	c := newConsumedRecords()
	tp := connect.TopicPartition{Topic: "t", Partition: 0}
	for i := range 5 {
		c.add(&kgo.Record{Topic: "t", Offset: int64(10 + i), Value: []byte("v")})
	}
	if r := c.find(tp, 12); r == nil || r.Offset != 12 {
		t.Fatalf("find 12: %v", r)
	}
	c.prune(tp, 13)
	if c.find(tp, 12) != nil || c.find(tp, 13) == nil {
		t.Error("prune kept 12 or dropped 13")
	}
	big := make([]byte, consumedRecordsMaxBytes/2+1)
	c.add(&kgo.Record{Topic: "t", Offset: 20, Value: big})
	c.add(&kgo.Record{Topic: "t", Offset: 21, Value: big})
	if c.find(tp, 20) != nil || c.find(tp, 21) == nil || c.find(tp, 13) != nil {
		t.Error("the cap did not evict the oldest records")
	}
	c.drop([]connect.TopicPartition{tp})
	if c.find(tp, 21) != nil || c.mu.bytes != 0 {
		t.Errorf("drop left %d bytes", c.mu.bytes)
	}
}

func TestSinkSubscription(t *testing.T) {
	for _, tc := range []struct {
		config  map[string]string
		wantErr string
	}{
		{map[string]string{keyTopics: "a, b,,a"}, ""},
		{map[string]string{keyTopicsRegex: "orders-.*"}, ""},
		{map[string]string{}, "Must configure one of topics or topics.regex"},
		{map[string]string{keyTopics: "a", keyTopicsRegex: "b"}, "mutually exclusive"},
		{map[string]string{keyTopics: "a,dlq", keyDLQTopic: "dlq"}, "may not be included"},
		{map[string]string{keyTopicsRegex: "d.*", keyDLQTopic: "dlq"}, "may not be matched"},
		{map[string]string{keyTopicsRegex: "x.*", keyDLQTopic: "dlq"}, ""},
		{map[string]string{keyTopicsRegex: "("}, "topics.regex"},
	} {
		_, err := sinkSubscription(tc.config)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.config, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, connect.ErrInvalidConfig)):
			t.Errorf("%v: %v, want %q", tc.config, err, tc.wantErr)
		}
	}
}
