package connecte2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/e2etest"
)

// TestConnectDeadLetterQueue is the second half of Connect's acceptance 4
// through `fjord connect`: a file sink reads JSON with
// errors.tolerance=all; records the converter cannot read go to the dead
// letter queue exactly once each, with their own headers and the error
// context headers pointing back at them, across a graceful restart of the
// worker; every good record reaches the file once.
func TestConnectDeadLetterQueue(t *testing.T) {
	srv := e2etest.StartServer(t, nil)
	ctx := e2etest.Context(t, e2etest.TestTimeout)
	adm := e2etest.NewAdmin(t, srv.Addr)
	e2etest.CreateTopic(t, ctx, adm, "payments", 2, nil)
	output := filepath.Join(t.TempDir(), "payments.txt")
	config := map[string]string{
		"connector.class": "FileStreamSink", "file": output, "topics": "payments", "tasks.max": "2",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "payments-dlq",
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true",
	}
	producer := e2etest.NewKgo(t, srv.Addr)
	var good []string
	poison := map[string]bool{} // by value
	produce := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := &kgo.Record{Topic: "payments", Key: []byte(fmt.Sprintf("k%d", i%5)),
				Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte(strconv.Itoa(i))}}}
			if i%4 == 1 {
				r.Value = []byte(fmt.Sprintf("{not json %d", i))
				poison[string(r.Value)] = true
			} else {
				r.Value = []byte(fmt.Sprintf(`"payment-%03d"`, i))
				good = append(good, fmt.Sprintf("payment-%03d", i))
			}
			if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := startConnectWorker(t, ctx, srv.Addr, nil)
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "payments-out", "config": config})
	produce(0, 40)
	waitSinkFile(t, ctx, output, good)
	// A graceful restart commits what was written and sent: none of it
	// comes again.
	w.stop()
	w = startConnectWorker(t, ctx, srv.Addr, nil)
	w.expect(http.StatusCreated, http.MethodPost, "/connectors", map[string]any{"name": "payments-out", "config": config})
	produce(40, 80)
	waitSinkFile(t, ctx, output, good)
	dlq := consumeDLQ(t, ctx, srv.Addr, len(poison))
	source := map[string]string{} // "partition/offset" -> value
	for _, r := range e2etest.ConsumeKgo(t, ctx, srv.Addr, "payments", 80) {
		source[fmt.Sprintf("%d/%d", r.Partition, r.Offset)] = r.Value
	}
	seen := map[string]int{}
	for _, r := range dlq {
		seen[string(r.Value)]++
		h := checkDLQHeaders(t, r)
		if at := h["__connect.errors.partition"] + "/" + h["__connect.errors.offset"]; source[at] != string(r.Value) {
			t.Errorf("dead letter %q points at payments %s, which holds %q", r.Value, at, source[at])
		}
	}
	for v := range poison {
		if seen[v] != 1 {
			t.Errorf("poison record %q is in the dead letter queue %d times, want once", v, seen[v])
		}
	}
	if len(dlq) != len(poison) {
		t.Errorf("the dead letter queue holds %d records, want the %d poison ones", len(dlq), len(poison))
	}
	w.waitState(ctx, "payments-out", "RUNNING")
}

// waitSinkFile waits until the file sink's output holds exactly want, in
// any order (two tasks write it), each line once.
func waitSinkFile(t *testing.T, ctx context.Context, path string, want []string) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(want))
	e2etest.Eventually(t, ctx, "sink file holds every good record once", func() (bool, string) {
		b, _ := os.ReadFile(path)
		lines := strings.Fields(string(b))
		slices.Sort(lines)
		return slices.Equal(lines, sorted), fmt.Sprintf("%d lines, want %d", len(lines), len(want))
	})
}

// consumeDLQ reads the dead letter queue until it holds n records and for a
// quiet second more.
func consumeDLQ(t *testing.T, ctx context.Context, addr string, n int) []*kgo.Record {
	t.Helper()
	cl := e2etest.NewKgo(t, addr, kgo.ConsumeTopics("payments-dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	quiet, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	for quiet.Err() == nil {
		cl.PollFetches(quiet).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// checkDLQHeaders checks that a dead letter keeps its own header and that
// the context headers name the sink's stage and failure; it returns the
// headers.
func checkDLQHeaders(t *testing.T, r *kgo.Record) map[string]string {
	t.Helper()
	h := map[string]string{}
	for _, header := range r.Headers {
		h[header.Key] = string(header.Value)
	}
	origin, err := strconv.Atoi(h["origin"])
	if err != nil || fmt.Sprintf("{not json %d", origin) != string(r.Value) {
		t.Errorf("dead letter %q has origin header %q", r.Value, h["origin"])
	}
	want := map[string]string{
		"__connect.errors.topic":                "payments",
		"__connect.errors.connector.name":       "payments-out",
		"__connect.errors.stage":                "VALUE_CONVERTER",
		"__connect.errors.class.name":           "org.apache.kafka.connect.json.JsonConverter",
		"__connect.errors.exception.class.name": "org.apache.kafka.connect.errors.DataException",
	}
	for k, v := range want {
		if h[k] != v {
			t.Errorf("dead letter %q: header %s = %q, want %q", r.Value, k, h[k], v)
		}
	}
	for _, k := range []string{"__connect.errors.partition", "__connect.errors.offset", "__connect.errors.task.id",
		"__connect.errors.exception.message", "__connect.errors.exception.stacktrace"} {
		if h[k] == "" {
			t.Errorf("dead letter %q has no header %s", r.Value, k)
		}
	}
	return h
}
