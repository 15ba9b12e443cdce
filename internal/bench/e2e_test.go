package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// runBench runs the fjord binary's bench command and decodes its summary.
func runBench(t *testing.T, args ...string) Summary {
	t.Helper()
	stdout, stderr, err := fjordtest.Run(t, nil, append([]string{"bench"}, args...)...)
	if err != nil {
		t.Fatalf("fjord bench %v: %v\nstderr:\n%s", args, err, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("stdout is not one summary line: %q", stdout)
	}
	var s Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout, err)
	}
	return s
}

// checkSane asserts the numbers of a summary agree with each other.
func checkSane(t *testing.T, s Summary, mode Mode, records int64, recordBytes int64) {
	t.Helper()
	if s.Mode != mode || s.Records != records || s.Bytes != records*recordBytes {
		t.Errorf("%s summary %+v: want %d records of %d bytes", mode, s, records, recordBytes)
	}
	if s.Seconds <= 0 || s.RecordsPerSec <= 0 || s.MiBPerSec <= 0 {
		t.Errorf("%s summary has non-positive time or rates: %+v", mode, s)
	}
	if got := float64(s.Records) / s.Seconds; got < s.RecordsPerSec*0.5 || got > s.RecordsPerSec*2 {
		t.Errorf("%s: records/seconds = %.0f disagrees with records_per_sec %.0f", mode, got, s.RecordsPerSec)
	}
	if l := s.Latency; l != nil && !(0 <= l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max && l.Max < 120_000) {
		t.Errorf("%s: latency percentiles out of order or absurd: %+v", mode, *l)
	}
}

func TestProduceThenConsumeAgainstServer(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	const records, size = 2000, 50
	svg := filepath.Join(t.TempDir(), "latency.svg")
	produced := runBench(t, "produce", "--brokers", srv.Addr, "--topic", "bench", "--records", "2000",
		"--record-size", "50", "--partitions", "3", "--producers", "2", "--quiet", "--histogram-svg", svg)
	checkSane(t, produced, ModeProduce, records, size)
	if produced.Latency == nil {
		t.Fatal("produce summary without latency")
	}
	if data, err := os.ReadFile(svg); err != nil || !bytes.Contains(data, []byte("<polyline")) {
		t.Errorf("histogram svg: %v, %.80q", err, data)
	}

	consumed := runBench(t, "consume", "--brokers", srv.Addr, "--topic", "bench", "--records", "2000", "--quiet")
	checkSane(t, consumed, ModeConsume, records, size)
	if consumed.Latency != nil {
		t.Error("consume summary has latency")
	}

	_, stderr, err := fjordtest.Run(t, nil, "bench", "consume", "--brokers", srv.Addr, "--topic", "bench", "--records", "2001", "--quiet")
	if err == nil || !strings.Contains(stderr, "holds 2000 records, fewer than --records 2001") {
		t.Errorf("consuming more than the topic holds: err %v, stderr %q", err, stderr)
	}
}

// TestGroupedProduceAgainstServer runs the two produce modes that wait
// between groups of records: transactions, then flushes, and checks each
// group's end is counted.
func TestGroupedProduceAgainstServer(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	const records, size = 1000, 50
	txn := runBench(t, "produce", "--brokers", srv.Addr, "--topic", "txn", "--records", "1000", "--record-size", "50",
		"--transaction-records", "100", "--quiet")
	checkSane(t, txn, ModeProduce, records, size)
	if txn.Transactions != 10 || txn.CommitLatency == nil || txn.Flushes != 0 {
		t.Errorf("transactional run: %d transactions, commit latency %v, %d flushes", txn.Transactions, txn.CommitLatency, txn.Flushes)
	}
	flushed := runBench(t, "produce", "--brokers", srv.Addr, "--topic", "flushed", "--records", "1000", "--record-size", "50",
		"--flush-records", "300", "--quiet")
	checkSane(t, flushed, ModeProduce, records, size)
	if flushed.Flushes != 4 || flushed.FlushLatency == nil || flushed.Transactions != 0 {
		t.Errorf("flushing run: %d flushes, flush latency %v, %d transactions", flushed.Flushes, flushed.FlushLatency, flushed.Transactions)
	}
}

func TestProgressAndRateLimit(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	// 300 records at 200/s take 1.5 s: at least one progress line, and a
	// rate limiter that works cannot finish in under a second.
	stdout, stderr, err := fjordtest.Run(t, nil, "bench", "produce", "--brokers", srv.Addr, "--topic", "paced",
		"--records", "300", "--rate", "200", "--acks", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var s Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.Records != 300 || s.Seconds < 1.0 {
		t.Errorf("rate-limited run: %+v, want 300 records over at least 1 s", s)
	}
	if !strings.Contains(stderr, "produce: ") || !strings.Contains(stderr, "records/s") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}
}

func TestEndToEndLatency(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{})
	s := runBench(t, "e2e", "--brokers", srv.Addr, "--topic", "e2e", "--records", "500", "--rate", "2000",
		"--record-size", "64", "--quiet")
	checkSane(t, s, ModeE2E, 500, 64)
	if s.Latency == nil || s.Latency.Max <= 0 {
		t.Errorf("e2e summary without latency: %+v", s)
	}
}

// TestInProcessBroker runs Execute in this process against a broker it
// starts itself from the fjord binary, and checks the broker is gone after.
func TestInProcessBroker(t *testing.T) {
	o, err := ParseOptions([]string{"produce", "--in-process", "--topic", "t", "--records", "200", "--quiet"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout bytes.Buffer
	s, err := Execute(ctx, o, Env{Stdout: &stdout, Stderr: os.Stderr, BrokerBinary: fjordtest.Binary(t)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Records != 200 || !strings.Contains(stdout.String(), `"records":200`) {
		t.Errorf("in-process run: %+v, stdout %q", s, stdout.String())
	}
}

func TestInProcessBrokerThatFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// /bin/false exits at once without a ready line.
	_, err := startChildBroker(ctx, "/bin/false")
	if err == nil || !strings.Contains(err.Error(), "exited before becoming ready") {
		t.Fatalf("err = %v, want an early-exit error", err)
	}
}
