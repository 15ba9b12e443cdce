package httpsink_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/httpsink"
)

// sinkContext is the worker's side of a sink task: only the errant record
// reporter matters to the HTTP sink.
type sinkContext struct{ reporter *reporter }

func (sinkContext) Config() map[string]string            { return nil }
func (sinkContext) Assignment() []connect.TopicPartition { return nil }
func (sinkContext) Offset(connect.TopicPartition, int64) {}
func (sinkContext) Timeout(time.Duration)                {}
func (sinkContext) Pause(...connect.TopicPartition)      {}
func (sinkContext) Resume(...connect.TopicPartition)     {}
func (sinkContext) RequestCommit()                       {}

func (c sinkContext) ErrantRecordReporter() connect.ErrantRecordReporter {
	if c.reporter == nil {
		return nil // an untyped nil: no reporter configured
	}
	return c.reporter
}

// reporter stands in for the worker's dead letter queue.
type reporter struct {
	mu      sync.Mutex
	records []connect.SinkRecord
	errs    []error
}

func (r *reporter) Report(record connect.SinkRecord, err error) <-chan error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, record)
	r.errs = append(r.errs, err)
	done := make(chan error, 1)
	done <- nil
	return done
}

func (r *reporter) reported() ([]connect.SinkRecord, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connect.SinkRecord(nil), r.records...), append([]error(nil), r.errs...)
}

// reply is one scripted response of an endpoint.
type reply struct {
	status int
	header map[string]string
	body   string
	// hang makes the handler wait until the client gives up the request.
	hang bool
}

// received is one request as the endpoint saw it.
type received struct {
	method string
	path   string
	header http.Header
	body   string
	at     time.Time
}

// endpoint is an HTTP server that answers with its script, then 200 OK,
// and records every request.
type endpoint struct {
	server *httptest.Server
	// arrived gets a value for each request, without blocking it.
	arrived chan struct{}

	mu struct {
		sync.Mutex
		script   []reply
		requests []received
	}
}

func newEndpoint(t *testing.T, script ...reply) *endpoint {
	t.Helper()
	e := &endpoint{arrived: make(chan struct{}, 1000)}
	e.mu.script = script
	e.server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.server.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.mu.requests = append(e.mu.requests, received{method: r.Method, path: r.URL.Path, header: r.Header.Clone(),
		body: string(body), at: time.Now()})
	answer := reply{status: http.StatusOK}
	if len(e.mu.script) > 0 {
		answer, e.mu.script = e.mu.script[0], e.mu.script[1:]
	}
	e.mu.Unlock()
	e.arrived <- struct{}{}
	if answer.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range answer.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(answer.status)
	_, _ = io.WriteString(w, answer.body)
}

func (e *endpoint) requests() []received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]received(nil), e.mu.requests...)
}

func (e *endpoint) bodies() []string {
	var out []string
	for _, r := range e.requests() {
		out = append(out, r.body)
	}
	return out
}

// config is a configuration for the endpoint with fast retries, plus more.
func (e *endpoint) config(more map[string]string) map[string]string {
	c := map[string]string{
		"connector.class":           "HttpSink",
		"topics":                    "orders",
		httpsink.URLConfig:          e.server.URL + "/events",
		httpsink.RetryBackoffConfig: "1",
	}
	maps.Copy(c, more)
	return c
}

// startTask starts a task of the connector with the configuration.
func startTask(t *testing.T, ctx connect.SinkTaskContext, config map[string]string) connect.SinkTask {
	t.Helper()
	connector := &httpsink.HttpSinkConnector{}
	if err := connector.Start(nil, config); err != nil {
		t.Fatal(err)
	}
	configs, err := connector.TaskConfigs(2)
	if err != nil || len(configs) != 2 {
		t.Fatalf("TaskConfigs(2) = %d configurations, %v", len(configs), err)
	}
	task := connector.NewTask()
	if err := task.Start(ctx, configs[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := task.Stop(); err != nil {
			t.Error(err)
		}
	})
	return task
}

// stringRecords makes records of string values at offsets from 0.
func stringRecords(values ...string) []connect.SinkRecord {
	records := make([]connect.SinkRecord, len(values))
	for i, v := range values {
		records[i] = connect.SinkRecord{Topic: "orders", Partition: 1, Offset: int64(i),
			ValueSchema: connect.StringSchema, Value: v}
	}
	return records
}

// flush calls Flush with the offsets after the records, as the worker does.
func flush(task connect.SinkTask, records []connect.SinkRecord) error {
	offsets := map[connect.TopicPartition]int64{}
	for _, r := range records {
		offsets[connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
	}
	return task.Flush(context.Background(), offsets)
}
