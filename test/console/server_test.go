package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// TestConsoleOnServer: `fjord server` serves the same console at / on its
// HTTP listener, beside /metrics and the lag API, with the quorum read
// from its own metadata member.
func TestConsoleOnServer(t *testing.T) {
	findChromium(t)
	srv := fjordtest.Start(t, fjordtest.Options{HTTP: true})
	srv.CreateTopics(t, map[string]int32{"on-server": 3})
	base := "http://" + srv.HTTPAddr()
	browser := newBrowser(t, 1366, 768)
	open(t, browser, base, "/overview", "[data-testid=brokers] tbody tr")
	waitText(t, browser, "[data-testid=quorum-leader]", "1")
	waitText(t, browser, "[data-testid=quorum]", "leader")
	route(t, browser, "/topics", `a[data-topic="on-server"]`)
	screenshot(t, browser, screenshotDir(t), "11-on-server-topics")
	for _, path := range []string{"/metrics", "/api/v1/groups/lag", "/readyz"} {
		if code, body := get(t, base+path, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
}

// TestConsoleOnServerBasicAuth: http.console.basic.auth guards the console
// but not the probes and metrics that monitoring reads.
func TestConsoleOnServerBasicAuth(t *testing.T) {
	srv := fjordtest.Start(t, fjordtest.Options{HTTP: true, Config: map[string]string{"http.console.basic.auth": "admin:s3cret"}})
	base := "http://" + srv.HTTPAddr()
	if code, _ := get(t, base+"/", ""); code != http.StatusUnauthorized {
		t.Errorf("GET / without credentials: %d, want 401", code)
	}
	if code, body := get(t, base+"/console/api/overview", "admin:s3cret"); code != http.StatusOK || !strings.Contains(body, `"brokers"`) {
		t.Errorf("GET /console/api/overview with credentials: %d %s", code, body)
	}
	if code, _ := get(t, base+"/metrics", ""); code != http.StatusOK {
		t.Errorf("GET /metrics: %d, want 200 without credentials", code)
	}
}

func get(t *testing.T, url, basicAuth string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user, password, ok := strings.Cut(basicAuth, ":"); ok {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}
