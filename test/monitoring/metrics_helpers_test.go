package monitoring

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/internal/fjordtest"
	"github.com/fjordhq/fjord/internal/metrics/metricstest"
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
type scrape = metricstest.Families

// scrapeMetrics GETs /metrics of s and parses it with Prometheus' text
// format parser, failing the test if it does not parse.
func scrapeMetrics(t testing.TB, s *fjordtest.Server) scrape {
	t.Helper()
	code, body := httpGetBody(t, s.HTTPURL(t, "/metrics"))
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", code, body)
	}
	return metricstest.Parse(t, strings.NewReader(body))
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
		v, ok := scrapeMetrics(t, s).Value(family, labels...)
		if ok && cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v (present %v) after %v", family, labels, v, ok, metricsTimeout)
		}
		<-tick.C
	}
}
