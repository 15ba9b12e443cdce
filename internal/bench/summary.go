package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"
)

// mebibyte is the unit of every MiB/s figure: 2^20 bytes of record keys and
// values, excluding batch headers and protocol framing (as Kafka's perf
// tools count).
const mebibyte = 1 << 20

// Summary is the one JSON line a run prints on stdout.
type Summary struct {
	Mode          Mode    `json:"mode"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MiBPerSec     float64 `json:"mib_per_sec"`
	// Latency is per record: enqueue to acknowledgement for produce, send
	// to receipt for e2e. Consume has none.
	Latency *LatencySummary `json:"latency_ms,omitempty"`
	// Transactions and CommitLatency describe a transactional produce
	// run: the commits, and each one's flush and EndTxn.
	Transactions  int64           `json:"transactions,omitempty"`
	CommitLatency *LatencySummary `json:"commit_latency_ms,omitempty"`
	// Flushes and FlushLatency describe a run with --flush-records: the
	// waits for acknowledgements, each from the group's last send.
	Flushes      int64           `json:"flushes,omitempty"`
	FlushLatency *LatencySummary `json:"flush_latency_ms,omitempty"`

	latencyHistogram *Histogram // for the SVG plot
}

// LatencySummary holds latency percentiles in milliseconds.
type LatencySummary struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// newSummary computes the rates; latency may be nil.
func newSummary(mode Mode, records, bytes int64, elapsed time.Duration, latency *Histogram) Summary {
	s := Summary{Mode: mode, Records: records, Bytes: bytes, Seconds: round(elapsed.Seconds(), 3)}
	if elapsed > 0 {
		s.RecordsPerSec = round(float64(records)/elapsed.Seconds(), 1)
		s.MiBPerSec = round(float64(bytes)/mebibyte/elapsed.Seconds(), 3)
	}
	if latency != nil {
		s.latencyHistogram = latency
		s.Latency = latencySummary(latency)
	}
	return s
}

// addCommits adds a transactional run's commit latencies.
func (s *Summary) addCommits(commits *Histogram) {
	s.Transactions = int64(commits.Count())
	s.CommitLatency = latencySummary(commits)
}

// addFlushes adds a --flush-records run's flush latencies.
func (s *Summary) addFlushes(flushes *Histogram) {
	s.Flushes = int64(flushes.Count())
	s.FlushLatency = latencySummary(flushes)
}

func latencySummary(h *Histogram) *LatencySummary {
	return &LatencySummary{
		P50:  milliseconds(h.Percentile(50)),
		P99:  milliseconds(h.Percentile(99)),
		P999: milliseconds(h.Percentile(99.9)),
		Max:  milliseconds(h.Max()),
		Mean: milliseconds(h.Mean()),
	}
}

// writeSummary prints s as one JSON line.
func writeSummary(w io.Writer, s Summary) error {
	line, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding summary: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
		return fmt.Errorf("writing summary: %w", err)
	}
	return nil
}

// milliseconds converts with microsecond resolution, which is what a
// millisecond figure with three decimals can show.
func milliseconds(d time.Duration) float64 {
	return round(float64(d)/float64(time.Millisecond), 3)
}

func round(v float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(v*p) / p
}
