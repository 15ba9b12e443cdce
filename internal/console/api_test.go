package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/internal/fjordtest"
)

// stepClock is a clock that moves one second each time it is read, so
// that rates computed from consecutive samples are exact.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

type fixture struct {
	console *Console
	server  *httptest.Server
	adm     *kadm.Client
	client  *kgo.Client
	brokers string
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv := fjordtest.Start(t, fjordtest.Options{})
	opts.Brokers = []string{srv.Addr}
	if opts.Now == nil {
		opts.Now = (&stepClock{now: time.Unix(1_700_000_000, 0)}).Now
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	hs := httptest.NewServer(c.Handler())
	t.Cleanup(hs.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &fixture{console: c, server: hs, adm: kadm.NewClient(cl), client: cl, brokers: srv.Addr}
}

// call makes an API request as the page does and decodes the answer.
func (f *fixture) call(t *testing.T, method, path, body string, out any) (int, apiError) {
	t.Helper()
	req, err := http.NewRequest(method, f.server.URL+APIPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Fjord-Console", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr apiError
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(data, &apiErr); err != nil {
			t.Fatalf("%s %s: status %d with a body that is not a JSON error: %q", method, path, resp.StatusCode, data)
		}
		return resp.StatusCode, apiErr
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, apiErr
}

func (f *fixture) mustCall(t *testing.T, method, path, body string, out any) {
	t.Helper()
	if status, e := f.call(t, method, path, body, out); status != http.StatusOK {
		t.Fatalf("%s %s: %d %s: %s", method, path, status, e.Error, e.Message)
	}
}

func TestAPIRefusesBadInput(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustCall(t, "POST", "topics", `{"name":"t","partitions":2,"replicationFactor":1}`, nil)
	f.mustCall(t, "POST", "groups/empty/reset", `{"topic":"t","to":"earliest"}`, nil)
	long := strings.Repeat("a", 250)
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "topics/bad%20name", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/" + long, "", 400, "INVALID_REQUEST"},
		{"GET", "topics/nope", "", 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"GET", "topics/t/messages?count=100000", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/t/messages?count=0", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/t/messages?partition=99", "", 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"GET", "topics/t/messages?partition=x", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/t/messages?mode=bogus", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/t/messages?mode=offset&offset=-5", "", 400, "INVALID_REQUEST"},
		{"GET", "topics/t/messages?key=" + strings.Repeat("k", 300), "", 400, "INVALID_REQUEST"},
		{"GET", "topics/nope/messages", "", 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"POST", "topics", `{"name":"x","partitions":0}`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":"x","partitions":1,"replicationFactor":99999}`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":"` + long + `","partitions":1}`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":"..","partitions":1,"replicationFactor":1}`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":"x","bogus":1}`, 400, "INVALID_REQUEST"},
		{"POST", "topics", `{"name":"t","partitions":1,"replicationFactor":1}`, 409, "TOPIC_ALREADY_EXISTS"},
		{"POST", "topics", `{"name":"x","partitions":1,"replicationFactor":1,"configs":{"bogus.config":"1"}}`, 400, "INVALID_CONFIG"},
		{"POST", "topics/t/configs", `{}`, 400, "INVALID_REQUEST"},
		{"POST", "topics/t/configs", `{"set":{"bogus.config":"1"}}`, 400, "INVALID_CONFIG"},
		{"POST", "topics/t/messages", `{"partition":99}`, 404, "UNKNOWN_TOPIC_OR_PARTITION"},
		{"POST", "topics/t/messages", `{"headers":[{"key":"","value":"v"}]}`, 400, "INVALID_REQUEST"},
		{"POST", "topics/t/messages", `{"value":"` + strings.Repeat("v", maxBodyBytes) + `"}`, 400, "INVALID_REQUEST"},
		{"POST", "groups/empty/reset", `{"to":"sideways"}`, 400, "INVALID_REQUEST"},
		{"POST", "groups/empty/reset", `{"to":"offset","offset":-1}`, 400, "INVALID_REQUEST"},
		{"POST", "groups/never-committed/reset", `{"to":"earliest"}`, 400, "INVALID_REQUEST"},
		{"GET", "groups/nope", "", 404, "GROUP_ID_NOT_FOUND"},
		{"GET", "brokers/abc/configs", "", 400, "INVALID_REQUEST"},
		{"GET", "brokers/-1/configs", "", 400, "INVALID_REQUEST"},
		{"POST", "acls", `{"resourceType":"TOPIC","resourceName":"t","principal":"User:a","host":"*","operation":"READ","permission":"ALLOW"}`, 403, "SECURITY_DISABLED"},
		{"POST", "acls", `{"resourceType":"PLANET","resourceName":"t","principal":"User:a","host":"*","operation":"READ","permission":"ALLOW"}`, 400, "INVALID_REQUEST"},
		{"GET", "no/such/api", "", 404, "NOT_FOUND"},
	} {
		status, e := f.call(t, tc.method, tc.path, tc.body, nil)
		if status != tc.status || e.Error != tc.code {
			t.Errorf("%s %.60s %.60s: %d %s (%s), want %d %s", tc.method, tc.path, tc.body, status, e.Error, e.Message, tc.status, tc.code)
		}
	}
}

func TestAPIRequiresPageHeaderAndAuth(t *testing.T) {
	f := newFixture(t, Options{BasicAuth: "admin:s3cret"})
	get := func(path string, auth bool, header bool, method string) *http.Response {
		req, _ := http.NewRequest(method, f.server.URL+path, bytes.NewReader([]byte(`{"name":"z","partitions":1,"replicationFactor":1}`)))
		if auth {
			req.SetBasicAuth("admin", "s3cret")
		}
		if header {
			req.Header.Set("X-Fjord-Console", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/", false, false, "GET"); r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("without credentials: %d, want 401 with a challenge", r.StatusCode)
	}
	r := get("/", true, false, "GET")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("page: %d, CSP %q", r.StatusCode, r.Header.Get("Content-Security-Policy"))
	}
	if r := get(APIPrefix+"topics", true, false, "POST"); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without the page's header: %d, want 403", r.StatusCode)
	}
	if r := get(APIPrefix+"topics", true, true, "POST"); r.StatusCode != http.StatusOK {
		t.Errorf("POST from the page: %d, want 200", r.StatusCode)
	}
	for _, bad := range []string{"nocolon"} {
		if _, err := New(Options{Brokers: []string{"127.0.0.1:1"}, Now: time.Now, BasicAuth: bad}); err == nil {
			t.Errorf("BasicAuth %q accepted", bad)
		}
	}
	if _, err := New(Options{Brokers: []string{"127.0.0.1:1"}}); err == nil {
		t.Error("New without Now accepted")
	}
}

func TestAPIRoundTrip(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := t.Context()
	f.mustCall(t, "POST", "topics", `{"name":"rt","partitions":2,"replicationFactor":1,"configs":{"retention.ms":"600000"}}`, nil)
	var produced produceResult
	f.mustCall(t, "POST", "topics/rt/messages", `{"key":"k1","value":"{\"a\":[1,2]}","headers":[{"key":"h","value":"v"}],"partition":1}`, &produced)
	if produced.Partition != 1 || produced.Offset != 0 {
		t.Fatalf("produced at %+v, want partition 1 offset 0", produced)
	}
	for i := range 5 {
		f.mustCall(t, "POST", "topics/rt/messages", `{"value":"plain `+string(rune('a'+i))+`","partition":0}`, nil)
	}
	var all browseResult
	f.mustCall(t, "GET", "topics/rt/messages", "", &all)
	if len(all.Messages) != 6 || all.Scanned != 6 {
		t.Fatalf("newest: %d messages, %d scanned, want 6", len(all.Messages), all.Scanned)
	}
	var filtered browseResult
	f.mustCall(t, "GET", "topics/rt/messages?header=v&partition=-1", "", &filtered)
	if len(filtered.Messages) != 1 {
		t.Fatalf("header filter: %d messages, want 1", len(filtered.Messages))
	}
	m := filtered.Messages[0]
	if *m.Key != "k1" || m.ValueJSON != "{\n  \"a\": [\n    1,\n    2\n  ]\n}" || m.Headers[0] != (headerView{"h", "v"}) {
		t.Fatalf("message %+v", m)
	}
	var fromOffset browseResult
	f.mustCall(t, "GET", "topics/rt/messages?partition=0&mode=offset&offset=3&count=10", "", &fromOffset)
	if len(fromOffset.Messages) != 2 || fromOffset.Messages[0].Offset != 3 || *fromOffset.Messages[1].Value != "plain e" {
		t.Fatalf("from offset 3: %+v", fromOffset.Messages)
	}
	var limited browseResult
	f.mustCall(t, "GET", "topics/rt/messages?partition=0&mode=offset&offset=0&count=2", "", &limited)
	if len(limited.Messages) != 2 || limited.Messages[1].Offset != 1 {
		t.Fatalf("count=2 from offset 0: %+v", limited.Messages)
	}
	var future browseResult
	f.mustCall(t, "GET", "topics/rt/messages?mode=timestamp&timestamp=999999999999999", "", &future)
	if len(future.Messages) != 0 {
		t.Fatalf("after a future time: %d messages, want 0", len(future.Messages))
	}

	f.mustCall(t, "POST", "topics/rt/configs", `{"set":{"retention.ms":"1200000"}}`, nil)
	var detail struct {
		Partitions []partitionRow `json:"partitions"`
		Configs    []configView   `json:"configs"`
	}
	f.mustCall(t, "GET", "topics/rt", "", &detail)
	if len(detail.Partitions) != 2 || detail.Partitions[0].EndOffset != 5 || detail.Partitions[1].EndOffset != 1 {
		t.Fatalf("partitions %+v", detail.Partitions)
	}
	if v := findConfig(detail.Configs, "retention.ms"); v.Value != "1200000" || v.Source != "DYNAMIC_TOPIC_CONFIG" {
		t.Fatalf("retention.ms %+v", v)
	}

	// A group at offset 1 of partition 0 lags 4; reset to latest clears it.
	if err := f.adm.CommitAllOffsets(ctx, "g", kadm.Offsets{"rt": {0: {Topic: "rt", Partition: 0, At: 1, LeaderEpoch: -1}}}); err != nil {
		t.Fatal(err)
	}
	var g groupView
	f.mustCall(t, "GET", "groups/g", "", &g)
	if g.TotalLag != 4 || len(g.Partitions) != 1 || g.Partitions[0].LagSeconds < 0 || len(g.History) != 1 {
		t.Fatalf("group %+v", g)
	}
	var rows []groupRow
	f.mustCall(t, "GET", "groups", "", &rows)
	if len(rows) != 1 || rows[0].Group != "g" || rows[0].TotalLag != 4 || rows[0].State != "Empty" {
		t.Fatalf("groups %+v", rows)
	}
	f.mustCall(t, "POST", "groups/g/reset", `{"to":"latest"}`, nil)
	f.mustCall(t, "GET", "groups/g", "", &g)
	if g.TotalLag != 0 || len(g.History) != 2 {
		t.Fatalf("after reset: %+v", g)
	}
	f.mustCall(t, "POST", "groups/g/reset", `{"to":"offset","offset":2,"topic":"rt"}`, nil)
	fetched, err := f.adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := fetched.Lookup("rt", 0); o.At != 2 {
		t.Fatalf("rt-0 committed %d, want 2", o.At)
	}
	if o, _ := fetched.Lookup("rt", 1); o.At != 1 { // clamped to the end offset
		t.Fatalf("rt-1 committed %d, want 1", o.At)
	}

	f.mustCall(t, "DELETE", "topics/rt", "", nil)
	topics, err := f.adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("rt") {
		t.Fatal("rt still listed after delete")
	}
}

func findConfig(cfgs []configView, name string) configView {
	for _, c := range cfgs {
		if c.Name == name {
			return c
		}
	}
	return configView{}
}

// TestSamplingComputesRates checks the throughput arithmetic with a clock
// that moves one second per sample.
func TestSamplingComputesRates(t *testing.T) {
	f := newFixture(t, Options{})
	ctx := t.Context()
	if _, err := f.adm.CreateTopic(ctx, 1, 1, nil, "s"); err != nil {
		t.Fatal(err)
	}
	f.console.sample(ctx)
	recs := make([]*kgo.Record, 10)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "s", Value: []byte("0123456789")}
	}
	if err := f.client.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	f.console.sample(ctx)
	rates := f.console.throughput()
	if len(rates) != 1 || rates[0].RecordsPerSec != 10 || rates[0].BytesPerSec <= 100 {
		t.Fatalf("rates %+v, want 10 records/s and over 100 bytes/s", rates)
	}
	if r := f.console.topicRates()["s"]; r.RecordsPerSec != 10 {
		t.Fatalf("topic rate %+v", r)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- f.console.Run(runCtx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
