package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the live line is printed.
const progressInterval = time.Second

// latencyRecorder is one worker's latency histograms: the whole run, and the
// interval since the progress line last looked. Produce callbacks of one
// kgo client run on that client's goroutines, hence the mutex; each worker
// has its own recorder so workers do not contend.
type latencyRecorder struct {
	mu struct {
		sync.Mutex
		total    *Histogram
		interval *Histogram
	}
}

func newLatencyRecorder() *latencyRecorder {
	r := &latencyRecorder{}
	r.mu.total, r.mu.interval = NewHistogram(), NewHistogram()
	return r
}

func (r *latencyRecorder) record(d time.Duration) {
	r.mu.Lock()
	r.mu.total.Record(d)
	r.mu.interval.Record(d)
	r.mu.Unlock()
}

// takeInterval merges the interval histogram into into and empties it.
func (r *latencyRecorder) takeInterval(into *Histogram) {
	r.mu.Lock()
	into.Merge(r.mu.interval)
	r.mu.interval.Reset()
	r.mu.Unlock()
}

// mergeTotal merges the whole-run histogram into into.
func (r *latencyRecorder) mergeTotal(into *Histogram) {
	r.mu.Lock()
	into.Merge(r.mu.total)
	r.mu.Unlock()
}

// meter counts what a run has done; workers add to it, the progress line
// and the summary read it.
type meter struct {
	records   atomic.Int64
	bytes     atomic.Int64
	recorders []*latencyRecorder // fixed at creation; empty for consume
}

func newMeter(workers int, withLatency bool) *meter {
	m := &meter{}
	if withLatency {
		for range workers {
			m.recorders = append(m.recorders, newLatencyRecorder())
		}
	}
	return m
}

func (m *meter) add(records, bytes int64) {
	m.records.Add(records)
	m.bytes.Add(bytes)
}

// latency merges every worker's whole-run histogram; nil without latency.
func (m *meter) latency() *Histogram {
	if len(m.recorders) == 0 {
		return nil
	}
	h := NewHistogram()
	for _, r := range m.recorders {
		r.mergeTotal(h)
	}
	return h
}

// startProgress prints a line on w every progressInterval until the
// returned stop function is called; stop waits for the goroutine to end.
func startProgress(ctx context.Context, mode Mode, target int64, m *meter, w io.Writer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(progressInterval)
		defer ticker.Stop()
		interval := NewHistogram()
		last, lastRecords, lastBytes := time.Now(), int64(0), int64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-ticker.C:
				records, bytes := m.records.Load(), m.bytes.Load()
				interval.Reset()
				for _, r := range m.recorders {
					r.takeInterval(interval)
				}
				fmt.Fprintln(w, progressLine(mode, target, records, records-lastRecords, bytes-lastBytes, now.Sub(last), interval))
				last, lastRecords, lastBytes = now, records, bytes
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// progressLine formats one live line: totals so far, and rates and
// latency over the last interval.
func progressLine(mode Mode, target, records, intervalRecords, intervalBytes int64, elapsed time.Duration, latency *Histogram) string {
	seconds := max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("%s: %d/%d records (%.1f%%), %.0f records/s, %.2f MiB/s",
		mode, records, target, 100*float64(records)/float64(max(target, 1)),
		float64(intervalRecords)/seconds, float64(intervalBytes)/mebibyte/seconds)
	if latency != nil && latency.Count() > 0 {
		line += fmt.Sprintf(", latency p50 %.2f ms p99 %.2f ms max %.2f ms",
			milliseconds(latency.Percentile(50)), milliseconds(latency.Percentile(99)), milliseconds(latency.Max()))
	}
	return line
}
