package rest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// leaderRecorder serves a leader and records the requests it receives.
type leaderRecorder struct {
	handler http.Handler
	mu      sync.Mutex
	seen    []*http.Request
}

func (l *leaderRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.seen = append(l.seen, r.Clone(context.Background()))
	l.mu.Unlock()
	l.handler.ServeHTTP(w, r)
}

func (l *leaderRecorder) last(t *testing.T) *http.Request {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		t.Fatal("the leader received nothing")
	}
	return l.seen[len(l.seen)-1]
}

// newFollower returns a server whose herder answers every call with
// NotLeaderError naming leaderURL.
func newFollower(t *testing.T, leaderURL func() string, client *http.Client) (*Server, *memHerder) {
	t.Helper()
	h := newMemHerder()
	h.before = func(context.Context, string) error {
		return &NotLeaderError{LeaderURL: leaderURL(), Reason: "Only the leader can set connector configs."}
	}
	s, err := New(h, ServerConfig{ForwardClient: client})
	if err != nil {
		t.Fatal(err)
	}
	return s, h
}

func TestForwardToLeader(t *testing.T) {
	leaderHerder := newMemHerder()
	leaderServer, err := New(leaderHerder, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	recorder := &leaderRecorder{handler: leaderServer}
	leader := httptest.NewServer(recorder)
	defer leader.Close()
	follower, followerHerder := newFollower(t, func() string { return leader.URL + "/" }, leader.Client())

	cases := []struct {
		name, method, path, body string
		status                   int
		leaderQuery              string
		check                    func(t *testing.T, rec *httptest.ResponseRecorder, body any)
	}{
		{name: "create", method: "POST", path: "/connectors", status: 201, leaderQuery: "forward=true",
			body: `{"name":"new","config":{"connector.class":"FileStreamSource"}}`,
			check: func(t *testing.T, rec *httptest.ResponseRecorder, body any) {
				if rec.Header().Get("Location") != "/connectors/new" || at(t, body, "name") != "new" {
					t.Errorf("Location %q, body %v", rec.Header().Get("Location"), body)
				}
				if leaderHerder.get("new") == nil || followerHerder.get("new") != nil {
					t.Error("created somewhere else than on the leader")
				}
			}},
		{name: "error relayed", method: "POST", path: "/connectors", status: 409,
			body: `{"name":"src","config":{"connector.class":"FileStreamSource"}}`,
			check: func(t *testing.T, _ *httptest.ResponseRecorder, body any) {
				checkError(t, body, 409, "Connector src already exists")
			}},
		{name: "restart with tasks", method: "POST", path: "/connectors/src/restart?includeTasks=true", status: 202,
			leaderQuery: "forward=true&includeTasks=true",
			check: func(t *testing.T, _ *httptest.ResponseRecorder, body any) {
				if got := keysAt(t, body, ""); strings.Join(got, ",") != strings.Join(keysStateInfo, ",") {
					t.Errorf("keys %v", got)
				}
			}},
		{name: "restart connector only", method: "POST", path: "/connectors/src/restart", status: 204},
		{name: "escaped name kept", method: "DELETE", path: "/connectors/a%2Fb", status: 404,
			check: func(t *testing.T, _ *httptest.ResponseRecorder, body any) {
				checkError(t, body, 404, "Connector a/b not found")
			}},
		{name: "stop", method: "PUT", path: "/connectors/src/stop", status: 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
			rec := httptest.NewRecorder()
			follower.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			body := checkBody(t, rec)
			seen := recorder.last(t)
			if seen.Method != tc.method || seen.URL.EscapedPath() != strings.Split(tc.path, "?")[0] {
				t.Errorf("leader got %s %s", seen.Method, seen.URL)
			}
			if tc.leaderQuery != "" && seen.URL.RawQuery != tc.leaderQuery {
				t.Errorf("leader got query %q, want %q", seen.URL.RawQuery, tc.leaderQuery)
			}
			if seen.Header.Get("Authorization") != "Basic dXNlcjpwYXNz" {
				t.Error("Authorization not forwarded")
			}
			if tc.check != nil {
				tc.check(t, rec, body)
			}
		})
	}
}

// TestForwardHopsBounded checks that a request bouncing between workers
// that each name another as leader stops after two hops with a 409.
func TestForwardHopsBounded(t *testing.T) {
	var selfURL atomic.Value // set once the server has its address
	follower, _ := newFollower(t, func() string { return selfURL.Load().(string) }, nil)
	recorder := &leaderRecorder{handler: follower}
	self := httptest.NewServer(recorder)
	defer self.Close()
	selfURL.Store(self.URL)

	rec := serve(t, follower, "PUT", "/connectors/src/pause", "")
	if rec.Code != http.StatusConflict {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	checkError(t, checkBody(t, rec), 409, messageTooManyHops)
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	if len(recorder.seen) != 2 {
		t.Fatalf("%d hops, want 2", len(recorder.seen))
	}
	if q := recorder.seen[0].URL.RawQuery + " " + recorder.seen[1].URL.RawQuery; q != "forward=true forward=false" {
		t.Errorf("forward parameters %q", q)
	}
}

func TestForwardFailures(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + closed.Addr().String()
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>proxy error</html>"))
	}))
	defer notJSON.Close()
	redirect := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer redirect.Close()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	for _, tc := range []struct {
		name, leaderURL string
		client          *http.Client
		message         string
	}{
		{"unreachable", deadURL, nil, "IO Error trying to forward REST request"},
		{"not JSON", notJSON.URL, nil, "connect rest: the leader answered 200 with a body that is not JSON"},
		{"redirect", redirect.URL, noRedirects, "Unexpected status code when handling forwarded request: 302"},
		{"bad URL", "ftp://leader", nil, "connect rest: leader URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			follower, _ := newFollower(t, func() string { return tc.leaderURL }, tc.client)
			rec := serve(t, follower, "PUT", "/connectors/src/pause", "")
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			checkError(t, checkBody(t, rec), 500, tc.message)
		})
	}
}
