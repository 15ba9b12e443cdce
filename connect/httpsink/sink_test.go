package httpsink_test

import (
	"context"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/httpsink"
)

// orderRecord is a record whose value is a struct with every kind of
// field the JSON format writes specially.
func orderRecord(t *testing.T, offset int64, id int64) connect.SinkRecord {
	t.Helper()
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Name("shop.Order").
		Field("id", connect.Int64Schema).
		Field("name", connect.StringSchema).
		Field("price", connect.DecimalBuilder(2).MustBuild()).
		Field("day", connect.DateSchema).
		Field("at", connect.TimeSchema).
		Field("ts", connect.TimestampSchema).
		Field("raw", connect.BytesSchema).
		Field("tags", connect.ArrayOf(connect.StringSchema).MustBuild()).
		Field("attrs", connect.MapOf(connect.StringSchema, connect.Int32Schema).MustBuild()).
		Field("note", connect.OptionalStringSchema).
		MustBuild()
	value := connect.NewStruct(schema)
	for name, v := range map[string]any{
		"id":    id,
		"name":  `Ada "A" <x>`,
		"price": connect.Decimal{Unscaled: big.NewInt(1250), Scale: 2},
		"day":   time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC),
		"at":    time.Date(1970, 1, 1, 13, 45, 30, 123e6, time.UTC),
		"ts":    time.Date(2024, 3, 1, 13, 45, 30, 123e6, time.UTC),
		"raw":   []byte{0, 1, 2, 255},
		"tags":  []any{"a", "b"},
		"attrs": map[any]any{"y": int32(2), "x": int32(1)},
	} {
		if err := value.Put(name, v); err != nil {
			t.Fatal(err)
		}
	}
	return connect.SinkRecord{Topic: "orders", Partition: 0, Offset: offset, ValueSchema: schema, Value: value}
}

func orderJSON(id string) string {
	return `{"id":` + id + `,"name":"Ada \"A\" <x>","price":12.50,"day":"2024-03-01","at":"13:45:30.123",` +
		`"ts":"2024-03-01T13:45:30.123Z","raw":"AAEC/w==","tags":["a","b"],"attrs":{"x":1,"y":2},"note":null}`
}

func TestJSONOneRecordPerRequest(t *testing.T) {
	e := newEndpoint(t)
	task := startTask(t, sinkContext{}, e.config(map[string]string{
		httpsink.BodyFormatConfig: "json",
		httpsink.HeadersConfig:    "X-Source: fjord | X-Tenant:shop|",
		httpsink.AuthTypeConfig:   "basic",
		httpsink.UserConfig:       "fjord",
		httpsink.PasswordConfig:   "s3cret",
	}))
	records := []connect.SinkRecord{orderRecord(t, 0, 1), orderRecord(t, 1, 2)}
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if got := len(e.requests()); got != 2 {
		t.Fatalf("%d requests after Put with batch.max.size=1, want 2 (Put sends full batches)", got)
	}
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	if got, want := e.bodies(), []string{orderJSON("1"), orderJSON("2")}; !slices.Equal(got, want) {
		t.Fatalf("bodies:\n%q\nwant\n%q", got, want)
	}
	r := e.requests()[0]
	user, password, ok := (&http.Request{Header: r.header}).BasicAuth()
	switch {
	case r.method != http.MethodPost || r.path != "/events":
		t.Errorf("request %s %s, want POST /events", r.method, r.path)
	case r.header.Get("Content-Type") != "application/json":
		t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
	case r.header.Get("X-Source") != "fjord" || r.header.Get("X-Tenant") != "shop":
		t.Errorf("configured headers not sent: %v", r.header)
	case !ok || user != "fjord" || password != "s3cret":
		t.Errorf("basic auth %q %q %v", user, password, ok)
	}
}

func TestJSONBatchesAreArrays(t *testing.T) {
	e := newEndpoint(t)
	task := startTask(t, sinkContext{}, e.config(map[string]string{
		httpsink.BodyFormatConfig:   "JSON",
		httpsink.BatchMaxSizeConfig: "3",
		httpsink.MethodConfig:       "put",
		// Ignored by the json format, which writes arrays.
		httpsink.BatchPrefixConfig: "<", httpsink.BatchSeparatorConfig: ";",
	}))
	records := []connect.SinkRecord{orderRecord(t, 0, 1), orderRecord(t, 1, 2), orderRecord(t, 2, 3), orderRecord(t, 3, 4)}
	records = append(records, connect.SinkRecord{Topic: "orders", Offset: 4, Value: nil}) // ignored
	records = append(records, connect.SinkRecord{Topic: "orders", Offset: 5, Value: map[any]any{"k": []any{int64(1), 2.5, true}}})
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if got := len(e.requests()); got != 1 {
		t.Fatalf("%d requests after putting 5 records with batch.max.size=3, want 1", got)
	}
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"[" + orderJSON("1") + "," + orderJSON("2") + "," + orderJSON("3") + "]",
		"[" + orderJSON("4") + `,{"k":[1,2.5,true]}]`,
	}
	if got := e.bodies(); !slices.Equal(got, want) {
		t.Fatalf("bodies:\n%q\nwant\n%q", got, want)
	}
	for _, r := range e.requests() {
		if r.method != http.MethodPut {
			t.Errorf("method %s, want PUT", r.method)
		}
	}
}

func TestStringBatches(t *testing.T) {
	e := newEndpoint(t)
	task := startTask(t, sinkContext{}, e.config(map[string]string{
		httpsink.BatchMaxSizeConfig:    "3",
		httpsink.BatchPrefixConfig:     "begin\n",
		httpsink.BatchSuffixConfig:     "\nend",
		httpsink.BatchSeparatorConfig:  "\n",
		httpsink.HeadersConfig:         "Content-Type:text/csv;X-Trace:a|b",
		httpsink.HeaderSeparatorConfig: ";",
	}))
	schema := connect.NewSchemaBuilder(connect.TypeStruct).Field("n", connect.Int32Schema).MustBuild()
	value := connect.NewStruct(schema)
	if err := value.Put("n", int32(7)); err != nil {
		t.Fatal(err)
	}
	records := []connect.SinkRecord{
		{Topic: "t", Offset: 0, ValueSchema: connect.StringSchema, Value: "line one"},
		{Topic: "t", Offset: 1, ValueSchema: connect.Int32Schema, Value: int32(42)},
		{Topic: "t", Offset: 2, ValueSchema: schema, Value: value},
		{Topic: "t", Offset: 3, Value: []byte("raw bytes")},
		{Topic: "t", Offset: 4, ValueSchema: connect.DecimalBuilder(2).MustBuild(), Value: connect.Decimal{Unscaled: big.NewInt(1234), Scale: 2}},
	}
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	want := []string{"begin\nline one\n42\nStruct{n=7}\nend", "begin\nraw bytes\n12.34\nend"}
	if got := e.bodies(); !slices.Equal(got, want) {
		t.Fatalf("bodies:\n%q\nwant\n%q", got, want)
	}
	r := e.requests()[0]
	if r.header.Get("Content-Type") != "text/csv" || r.header.Get("X-Trace") != "a|b" || r.method != http.MethodPost {
		t.Errorf("%s with headers %v", r.method, r.header)
	}
}

func TestRetriesServerErrorsThenDelivers(t *testing.T) {
	e := newEndpoint(t, reply{status: 503, body: "busy"}, reply{status: 500}, reply{status: 408})
	task := startTask(t, sinkContext{}, e.config(map[string]string{httpsink.MaxRetriesConfig: "3"}))
	records := stringRecords("a", "b")
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	// Three failures then success for "a", then "b" at once: a record is
	// delivered once per successful response.
	if got, want := e.bodies(), []string{"a", "a", "a", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("bodies %q, want %q", got, want)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEndpoint(t, reply{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "1"}})
	task := startTask(t, sinkContext{}, e.config(nil)) // retry.backoff.ms=1: only Retry-After makes it wait
	if err := task.Put(context.Background(), stringRecords("a")); err != nil {
		t.Fatal(err)
	}
	got := e.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < 900*time.Millisecond {
		t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestRefusedRecordsGoToTheReporter(t *testing.T) {
	e := newEndpoint(t, reply{status: 400, body: `{"error":"bad field"}`})
	dlq := &reporter{}
	task := startTask(t, sinkContext{reporter: dlq}, e.config(map[string]string{httpsink.BatchMaxSizeConfig: "2"}))
	records := stringRecords("a", "b", "c")
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatalf("Put with a reporter: %v", err)
	}
	if err := flush(task, records); err != nil {
		t.Fatalf("Flush after reporting: %v", err)
	}
	reported, errs := dlq.reported()
	if len(reported) != 2 || reported[0].Value != "a" || reported[1].Value != "b" {
		t.Fatalf("reported %v", reported)
	}
	var se *httpsink.StatusError
	if !errors.As(errs[0], &se) || se.StatusCode != 400 || se.Body != `{"error":"bad field"}` {
		t.Errorf("reported error %v", errs[0])
	}
	if got, want := e.bodies(), []string{"a,b", "c"}; !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q (a 400 is not retried)", got, want)
	}
}

func TestRefusedRecordsFailTheTaskWithoutReporter(t *testing.T) {
	e := newEndpoint(t, reply{status: 422, body: strings.Repeat("x", 600)})
	task := startTask(t, sinkContext{}, e.config(nil))
	records := stringRecords("a")
	err := task.Put(context.Background(), records)
	var se *httpsink.StatusError
	var retriable *connect.RetriableError
	switch {
	case err == nil:
		t.Fatal("Put succeeded after a 422")
	case !errors.As(err, &se) || se.StatusCode != 422 || se.Body != strings.Repeat("x", 512):
		t.Errorf("error %v: want the status and the first 512 bytes of the body", err)
	case !strings.Contains(err.Error(), "HTTP 422") || !strings.Contains(err.Error(), "orders-1 at offset 0"):
		t.Errorf("error %q names neither the status nor the record", err)
	case errors.As(err, &retriable):
		t.Errorf("error %v is retriable", err)
	}
	if err := flush(task, records); err == nil {
		t.Error("Flush returned nil after a failed request: offsets would be committed")
	}
	if len(e.requests()) != 1 {
		t.Errorf("%d requests: a 422 is not retried", len(e.requests()))
	}
}

func TestRedirectFailsTheTask(t *testing.T) {
	e := newEndpoint(t, reply{status: http.StatusFound, header: map[string]string{"Location": "/elsewhere"}})
	dlq := &reporter{}
	task := startTask(t, sinkContext{reporter: dlq}, e.config(nil))
	err := task.Put(context.Background(), stringRecords("a"))
	if err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Fatalf("Put after a 302: %v", err)
	}
	if reported, _ := dlq.reported(); len(reported) != 0 || len(e.requests()) != 1 {
		t.Errorf("a redirect reported %d records after %d requests", len(reported), len(e.requests()))
	}
}

func TestRetriesExhausted(t *testing.T) {
	e := newEndpoint(t, reply{status: 503}, reply{status: 502}, reply{status: 503, body: "down"})
	task := startTask(t, sinkContext{reporter: &reporter{}}, e.config(map[string]string{httpsink.MaxRetriesConfig: "2"}))
	records := stringRecords("a")
	err := task.Put(context.Background(), records)
	var retriable *connect.RetriableError
	switch {
	case err == nil:
		t.Fatal("Put succeeded")
	case errors.As(err, &retriable):
		t.Errorf("error %v is retriable: the task must fail", err)
	case !strings.Contains(err.Error(), "giving up after 3 attempts (max.retries=2)") || !strings.Contains(err.Error(), `HTTP 503 Service Unavailable: response body "down"`):
		t.Errorf("error %q", err)
	}
	if got := len(e.requests()); got != 3 {
		t.Errorf("%d requests, want 1 + max.retries", got)
	}
	if err := flush(task, records); err == nil {
		t.Error("Flush returned nil after the request failed")
	}
}

func TestFlushFailsWhileRequestsFail(t *testing.T) {
	e := newEndpoint(t, reply{status: 500}, reply{status: 500})
	task := startTask(t, sinkContext{}, e.config(map[string]string{
		httpsink.MaxRetriesConfig: "1", httpsink.BatchMaxSizeConfig: "10",
	}))
	records := stringRecords("a", "b")
	if err := task.Put(context.Background(), records); err != nil || len(e.requests()) != 0 {
		t.Fatalf("Put of less than a batch: %v, %d requests", err, len(e.requests()))
	}
	if err := flush(task, records); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("Flush while the endpoint fails: %v", err)
	}
}

func TestNoResponseIsRetried(t *testing.T) {
	e := newEndpoint(t)
	e.server.Close() // connections are refused
	task := startTask(t, sinkContext{reporter: &reporter{}}, e.config(map[string]string{httpsink.MaxRetriesConfig: "1"}))
	err := task.Put(context.Background(), stringRecords("a"))
	if err == nil || !strings.Contains(err.Error(), "giving up after 2 attempts (max.retries=1)") || !strings.Contains(err.Error(), "no response") {
		t.Fatalf("Put to a closed server: %v", err)
	}
}

func TestCancelStopsTheRetryLoop(t *testing.T) {
	e := newEndpoint(t, reply{status: 503})
	task := startTask(t, sinkContext{}, e.config(map[string]string{
		httpsink.RetryBackoffConfig: "600000", httpsink.RetryBackoffMaxConfig: "600000",
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	records := stringRecords("a")
	go func() { done <- task.Put(ctx, records) }()
	<-e.arrived // the first attempt failed; the task now waits minutes
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Put still waiting 10s after its context was canceled")
	}
	// The record stays buffered: the worker's last Flush delivers it.
	if err := flush(task, records); err != nil {
		t.Fatal(err)
	}
	if got, want := e.bodies(), []string{"a", "a"}; !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
}

func TestCancelStopsAHangingRequest(t *testing.T) {
	e := newEndpoint(t, reply{hang: true})
	task := startTask(t, sinkContext{}, e.config(map[string]string{httpsink.BatchMaxSizeConfig: "5"}))
	records := stringRecords("a")
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- task.Flush(ctx, nil) }()
	<-e.arrived
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Flush after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Flush still waiting 10s after its context was canceled")
	}
}

func TestRequestTimeoutIsRetried(t *testing.T) {
	e := newEndpoint(t, reply{hang: true})
	task := startTask(t, sinkContext{}, e.config(map[string]string{httpsink.RequestTimeoutConfig: "50"}))
	if err := task.Put(context.Background(), stringRecords("a")); err != nil {
		t.Fatal(err)
	}
	if got, want := e.bodies(), []string{"a", "a"}; !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
}

func TestNullValues(t *testing.T) {
	tombstone := connect.SinkRecord{Topic: "orders", Partition: 2, Offset: 7, Key: "k"}
	e := newEndpoint(t)
	ignoring := startTask(t, sinkContext{}, e.config(nil))
	if err := ignoring.Put(context.Background(), []connect.SinkRecord{tombstone}); err != nil {
		t.Fatal(err)
	}
	if err := flush(ignoring, []connect.SinkRecord{tombstone}); err != nil || len(e.requests()) != 0 {
		t.Fatalf("ignoring a null value: %v, %d requests", err, len(e.requests()))
	}

	config := e.config(map[string]string{httpsink.NullValuesConfig: "FAIL"})
	dlq := &reporter{}
	reporting := startTask(t, sinkContext{reporter: dlq}, config)
	if err := reporting.Put(context.Background(), []connect.SinkRecord{tombstone}); err != nil {
		t.Fatal(err)
	}
	if reported, errs := dlq.reported(); len(reported) != 1 || !strings.Contains(errs[0].Error(), "orders-2 at offset 7") {
		t.Errorf("reported %v: %v", reported, errs)
	}

	failing := startTask(t, sinkContext{}, config)
	if err := failing.Put(context.Background(), []connect.SinkRecord{tombstone}); err == nil || !strings.Contains(err.Error(), "null value") {
		t.Errorf("Put of a null value with behavior.on.null.values=fail: %v", err)
	}
}

func TestValueWithoutJSONForm(t *testing.T) {
	e := newEndpoint(t)
	dlq := &reporter{}
	task := startTask(t, sinkContext{reporter: dlq}, e.config(map[string]string{httpsink.BodyFormatConfig: "json"}))
	records := []connect.SinkRecord{{Topic: "t", Value: struct{}{}}, {Topic: "t", Offset: 1, Value: []byte("hi")}}
	if err := task.Put(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	_, errs := dlq.reported()
	if len(errs) != 1 || !errors.Is(errs[0], connect.ErrInvalidData) {
		t.Errorf("reported %v", errs)
	}
	if got, want := e.bodies(), []string{`"` + base64.StdEncoding.EncodeToString([]byte("hi")) + `"`}; !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
}
