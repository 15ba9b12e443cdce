package monitoring

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// metricsTimeout bounds each HTTP request of these tests.
const metricsTimeout = 10 * time.Second

// httpGetBody GETs url and returns the status code and body.
func httpGetBody(t testing.TB, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), metricsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// scrape is one parsed /metrics exposition.
type scrape map[string]*dto.MetricFamily

// scrapeMetrics GETs /metrics of s and parses it with Prometheus' text
// format parser, failing the test if it does not parse.
func scrapeMetrics(t testing.TB, s *fjordtest.Server) scrape {
	t.Helper()
	code, body := httpGetBody(t, s.HTTPURL(t, "/metrics"))
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

// value is the sample of family with exactly the labels given as name,
// value pairs: a counter's or gauge's value, a histogram's count; ok is
// false when there is none.
func (sc scrape) value(family string, labels ...string) (v float64, ok bool) {
	f := sc[family]
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
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

// mustValue is value, failing the test when the sample is missing.
func (sc scrape) mustValue(t testing.TB, family string, labels ...string) float64 {
	t.Helper()
	v, ok := sc.value(family, labels...)
	if !ok {
		t.Fatalf("no sample %s%v in /metrics", family, labels)
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

// waitForMetric scrapes until cond holds for the family's sample (an
// event the server records after answering, such as a connection's
// close) or the timeout passes.
func waitForMetric(t testing.TB, s *fjordtest.Server, cond func(v float64) bool, family string, labels ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(metricsTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		v, ok := scrapeMetrics(t, s).value(family, labels...)
		if ok && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v (present %v) after %v", family, labels, v, ok, metricsTimeout)
		}
		<-tick.C
	}
}
