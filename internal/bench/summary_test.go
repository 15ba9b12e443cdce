package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSummaryJSONShape(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		name     string
		summary  Summary
		wantKeys []string
	}{
		{"produce", newSummary(ModeProduce, 1000, 1024000, 2*time.Second, h),
			[]string{"mode", "records", "bytes", "seconds", "records_per_sec", "mib_per_sec", "latency_ms"}},
		{"consume", newSummary(ModeConsume, 1000, 1024000, 2*time.Second, nil),
			[]string{"mode", "records", "bytes", "seconds", "records_per_sec", "mib_per_sec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeSummary(&out, tt.summary); err != nil {
				t.Fatal(err)
			}
			line := out.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Fatalf("summary is not exactly one line: %q", line)
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(out.Bytes(), &fields); err != nil {
				t.Fatal(err)
			}
			if len(fields) != len(tt.wantKeys) {
				t.Errorf("keys %v, want %v", keys(fields), tt.wantKeys)
			}
			for _, k := range tt.wantKeys {
				if _, ok := fields[k]; !ok {
					t.Errorf("key %q missing from %s", k, line)
				}
			}
			var s Summary
			if err := json.Unmarshal(out.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if s.Mode != tt.summary.Mode || s.Records != 1000 || s.Bytes != 1024000 || s.Seconds != 2 ||
				s.RecordsPerSec != 500 || s.MiBPerSec != round(1024000.0/(1<<20)/2, 3) {
				t.Errorf("decoded %+v", s)
			}
		})
	}
	var s Summary
	var out bytes.Buffer
	_ = writeSummary(&out, tests[0].summary)
	_ = json.Unmarshal(out.Bytes(), &s)
	want := LatencySummary{P50: 500, P99: 990, P999: 999, Max: 1000, Mean: 500.5}
	got := *s.Latency
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50, want.P50}, {"p99", got.P99, want.P99}, {"p999", got.P999, want.P999}, {"max", got.Max, want.Max}, {"mean", got.Mean, want.Mean}} {
		if c.got < c.want || c.got > c.want*(1+1.0/subBucketCount) {
			t.Errorf("%s = %v ms, want %v ms within 1/%d", c.name, c.got, c.want, subBucketCount)
		}
	}
}

func TestSummaryZeroElapsed(t *testing.T) {
	s := newSummary(ModeConsume, 0, 0, 0, nil)
	if s.RecordsPerSec != 0 || s.MiBPerSec != 0 {
		t.Fatalf("rates of an empty run: %+v", s)
	}
}

func TestProgressLine(t *testing.T) {
	h := NewHistogram()
	h.Record(2 * time.Millisecond)
	line := progressLine(ModeProduce, 1000, 250, 100, 100<<20, time.Second, h)
	for _, want := range []string{"produce: 250/1000 records (25.0%)", "100 records/s", "100.00 MiB/s", "p50 2.00 ms"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	if line := progressLine(ModeConsume, 10, 1, 1, 1, time.Second, nil); strings.Contains(line, "latency") {
		t.Errorf("consume progress shows latency: %q", line)
	}
}

func TestHistogramSVG(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	var out bytes.Buffer
	if err := writeHistogramSVG(&out, "a <b> & c", h); err != nil {
		t.Fatal(err)
	}
	svg := out.String()
	for _, want := range []string{"<svg", "</svg>", "<polyline", "99.99", "a &lt;b&gt; &amp; c", "10000 records"} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("svg has non-finite coordinates")
	}
	out.Reset()
	if err := writeHistogramSVG(&out, "empty", NewHistogram()); err != nil || strings.Contains(out.String(), "NaN") {
		t.Errorf("empty histogram plot: err %v, NaN present %v", err, strings.Contains(out.String(), "NaN"))
	}
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
