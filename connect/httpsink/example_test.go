package httpsink_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/httpsink"
)

// A worker runs the connector's tasks with a configuration like this one;
// here a task runs by hand against a test server, with a stand-in for the
// worker's context, and puts two records that go out in one JSON array.
func Example() {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s %s\n%s\n", r.Method, r.URL.Path, r.Header.Get("Content-Type"), body)
	}))
	defer server.Close()

	config := map[string]string{
		"connector.class":     "HttpSink",
		"topics":              "orders",
		"http.api.url":        server.URL + "/v1/orders",
		"request.body.format": "json",
		"batch.max.size":      "10",
		"headers":             "X-Source:fjord",
	}
	task := (&httpsink.HttpSinkConnector{}).NewTask()
	if err := task.Start(sinkContext{}, config); err != nil {
		log.Fatal(err)
	}
	defer task.Stop()

	schema := connect.NewSchemaBuilder(connect.TypeStruct).
		Field("id", connect.Int64Schema).
		Field("placed", connect.DateSchema).
		MustBuild()
	order := connect.NewStruct(schema)
	if err := order.Put("id", int64(42)); err != nil {
		log.Fatal(err)
	}
	if err := order.Put("placed", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		log.Fatal(err)
	}
	records := []connect.SinkRecord{
		{Topic: "orders", Offset: 0, ValueSchema: schema, Value: order},
		{Topic: "orders", Offset: 1, Value: map[any]any{"note": "schemaless"}},
	}
	if err := task.Put(context.Background(), records); err != nil {
		log.Fatal(err)
	}
	// Put buffered both records (fewer than batch.max.size); the worker's
	// Flush, before it commits offsets, sends them.
	if err := task.Flush(context.Background(), map[connect.TopicPartition]int64{{Topic: "orders"}: 2}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// POST /v1/orders application/json
	// [{"id":42,"placed":"2024-03-01"},{"note":"schemaless"}]
}
