// Package metricstest reads Prometheus metrics in tests, gathered from a
// registry or parsed from a /metrics exposition with Prometheus' own text
// parser, and looks samples up by family and labels.
package metricstest

import (
	"io"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are metric families by name.
type Families map[string]*dto.MetricFamily

// Gather collects g's metrics; a registry that reports an inconsistent
// metric (a pedantic one checks more) fails the test.
func Gather(t testing.TB, g prometheus.Gatherer) Families {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	out := make(Families, len(fams))
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// Parse reads a text exposition, failing the test unless Prometheus' text
// format parser accepts it.
func Parse(t testing.TB, exposition io.Reader) Families {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(exposition)
	if err != nil {
		t.Fatalf("the exposition does not parse as Prometheus text: %v", err)
	}
	return fams
}

// Value is the sample of family whose labels are exactly the given name,
// value pairs: a counter's or gauge's value, a histogram's count; ok is
// false when there is none.
func (f Families) Value(family string, labels ...string) (v float64, ok bool) {
	for _, m := range f[family].GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// MustValue is Value, failing the test when the sample is missing.
func (f Families) MustValue(t testing.TB, family string, labels ...string) float64 {
	t.Helper()
	v, ok := f.Value(family, labels...)
	if !ok {
		t.Fatalf("no sample %s%v", family, labels)
	}
	return v
}

func hasLabels(m *dto.Metric, labels []string) bool {
	if len(m.GetLabel()) != len(labels)/2 {
		return false
	}
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}
