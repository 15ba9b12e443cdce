package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// endpointCase is one request against a fresh server over newMemHerder.
type endpointCase struct {
	name               string
	method, path, body string
	cfg                ServerConfig
	status             int
	keys               map[string][]string // JSON path -> the exact keys of the object there
	message            string              // the ErrorMessage's message starts with it
	check              func(t *testing.T, h *memHerder, rec *httptest.ResponseRecorder, body any)
	setup              func(h *memHerder) // runs before the request
}

// Key sets of Kafka's entities, as Kafka spells them.
var (
	keysError         = []string{"error_code", "message"}
	keysConnectorInfo = []string{"config", "name", "tasks", "type"}
	keysTaskID        = []string{"connector", "task"}
	keysStateInfo     = []string{"connector", "name", "tasks", "type"}
	keysState         = []string{"state", "worker_id"}
	keysStateTrace    = []string{"state", "trace", "worker_id"}
	keysTaskState     = []string{"id", "state", "worker_id"}
	keysTaskTrace     = []string{"id", "state", "trace", "worker_id"}
	keysConfigKey     = []string{"default_value", "dependents", "display_name", "documentation", "group",
		"importance", "name", "order", "required", "type", "width"}
	keysConfigValue = []string{"errors", "name", "recommended_values", "value", "visible"}
)

func runEndpointCases(t *testing.T, cases []endpointCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newMemHerder()
			if tc.setup != nil {
				tc.setup(h)
			}
			s, err := New(h, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := serve(t, s, tc.method, tc.path, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", tc.method, tc.path, rec.Code, tc.status, rec.Body)
			}
			body := checkBody(t, rec)
			if rec.Code >= 400 {
				checkError(t, body, rec.Code, tc.message)
			}
			for path, want := range tc.keys {
				if got := keysAt(t, body, path); !slices.Equal(got, want) {
					t.Errorf("keys at %q: %v, want %v", path, got, want)
				}
			}
			if tc.check != nil {
				tc.check(t, h, rec, body)
			}
		})
	}
}

// serve sends one request to handler.
func serve(t *testing.T, handler http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	return rec
}

// checkBody decodes the answer: JSON, or nothing for a 202 or 204.
func checkBody(t *testing.T, rec *httptest.ResponseRecorder) any {
	t.Helper()
	if rec.Code == http.StatusNoContent || rec.Code == http.StatusAccepted && rec.Body.Len() == 0 {
		if rec.Body.Len() != 0 {
			t.Fatalf("status %d with a body: %s", rec.Code, rec.Body)
		}
		return nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	return body
}

func checkError(t *testing.T, body any, status int, message string) {
	t.Helper()
	if got := keysAt(t, body, ""); !slices.Equal(got, keysError) {
		t.Fatalf("error keys %v, want %v", got, keysError)
	}
	object := body.(map[string]any)
	if code := object["error_code"]; code != float64(status) {
		t.Errorf("error_code %v, want %d", code, status)
	}
	if got, _ := object["message"].(string); !strings.HasPrefix(got, message) {
		t.Errorf("message %q, want it to start with %q", got, message)
	}
}

// at walks a decoded JSON value along a dotted path of object keys and
// array indexes ("" is the value itself).
func at(t *testing.T, v any, path string) any {
	t.Helper()
	if path == "" {
		return v
	}
	for _, step := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[step]
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i >= len(node) {
				t.Fatalf("path %q: no element %q in an array of %d", path, step, len(node))
			}
			v = node[i]
		default:
			t.Fatalf("path %q: %q of a %T", path, step, v)
		}
	}
	return v
}

func keysAt(t *testing.T, v any, path string) []string {
	t.Helper()
	object, ok := at(t, v, path).(map[string]any)
	if !ok {
		t.Fatalf("at %q: %T, not an object", path, at(t, v, path))
	}
	keys := make([]string, 0, len(object))
	for k := range object {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestRootAndRouting(t *testing.T) {
	runEndpointCases(t, []endpointCase{
		{name: "server info", method: "GET", path: "/", status: 200,
			keys: map[string][]string{"": {"commit", "kafka_cluster_id", "version"}},
			cfg:  ServerConfig{Version: "0.9.0", Commit: "abc"},
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if got := at(t, body, "kafka_cluster_id"); got != "cluster-1" {
					t.Errorf("kafka_cluster_id %v", got)
				}
				if got := at(t, body, "version"); got != "0.9.0" {
					t.Errorf("version %v", got)
				}
			}},
		{name: "health", method: "GET", path: "/health", status: 200,
			keys: map[string][]string{"": {"message", "status"}}},
		{name: "unknown path", method: "GET", path: "/nope", status: 404, message: "HTTP 404 Not Found"},
		{name: "trailing slash", method: "GET", path: "/connectors/", status: 404},
		{name: "not canonical", method: "GET", path: "/connectors//status", status: 404},
		{name: "dot segment", method: "GET", path: "/connectors/src/../snk", status: 404},
		{name: "wrong method on root", method: "POST", path: "/", status: 405, message: "HTTP 405 Method Not Allowed"},
		{name: "wrong method on connectors", method: "PUT", path: "/connectors", status: 405,
			check: func(t *testing.T, _ *memHerder, rec *httptest.ResponseRecorder, _ any) {
				if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "POST") || !strings.Contains(allow, "GET") {
					t.Errorf("Allow %q", allow)
				}
			}},
		{name: "wrong method on restart", method: "GET", path: "/connectors/src/restart", status: 405},
		{name: "body too large", method: "POST", path: "/connectors", cfg: ServerConfig{MaxRequestBytes: 64},
			body: `{"name":"x","config":{"connector.class":"FileStreamSource","padding":"` +
				strings.Repeat("p", 100) + `"}}`, status: 413},
	})
}

func TestListConnectors(t *testing.T) {
	runEndpointCases(t, []endpointCase{
		{name: "names", method: "GET", path: "/connectors", status: 200,
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				names, _ := body.([]any)
				if !slices.Equal(names, []any{"snk", "src"}) {
					t.Errorf("names %v", body)
				}
			}},
		{name: "expand status", method: "GET", path: "/connectors?expand=status", status: 200,
			keys: map[string][]string{"": {"snk", "src"}, "src": {"status"}, "src.status": keysStateInfo,
				"src.status.connector": keysState, "src.status.tasks.0": keysTaskState,
				"src.status.tasks.1": keysTaskTrace}},
		{name: "expand info", method: "GET", path: "/connectors?expand=info", status: 200,
			keys: map[string][]string{"src": {"info"}, "src.info": keysConnectorInfo, "src.info.tasks.0": keysTaskID}},
		{name: "expand both", method: "GET", path: "/connectors?expand=status&expand=info", status: 200,
			keys: map[string][]string{"src": {"info", "status"}, "snk": {"info", "status"}}},
		{name: "expand unknown", method: "GET", path: "/connectors?expand=nothing", status: 200,
			keys: map[string][]string{"src": {}}},
		{name: "deleted while expanding", method: "GET", path: "/connectors?expand=info", status: 200,
			keys: map[string][]string{"": {"src"}},
			setup: func(h *memHerder) {
				h.before = func(_ context.Context, op string) error {
					if op == "ConnectorInfo" && h.get("snk") != nil {
						h.mu.Lock()
						delete(h.connectors, "snk")
						h.mu.Unlock()
					}
					return nil
				}
			}},
		{name: "expand fails", method: "GET", path: "/connectors?expand=status", status: 500,
			message: "status of connector snk: disk on fire",
			setup: func(h *memHerder) {
				h.before = func(_ context.Context, op string) error {
					if op == "ConnectorStatus" {
						return errors.New("disk on fire")
					}
					return nil
				}
			}},
	})
}

func TestCreateConnector(t *testing.T) {
	const newConfig = `"config":{"connector.class":"FileStreamSource","tasks.max":"1"}`
	runEndpointCases(t, []endpointCase{
		{name: "created", method: "POST", path: "/connectors", body: `{"name":"new",` + newConfig + `}`,
			status: 201, keys: map[string][]string{"": keysConnectorInfo, "tasks.0": keysTaskID},
			check: func(t *testing.T, _ *memHerder, rec *httptest.ResponseRecorder, body any) {
				if loc := rec.Header().Get("Location"); loc != "/connectors/new" {
					t.Errorf("Location %q", loc)
				}
				if got := at(t, body, "config.name"); got != "new" {
					t.Errorf("config.name %v: the name goes into the config", got)
				}
				if got := at(t, body, "type"); got != "source" {
					t.Errorf("type %v", got)
				}
			}},
		{name: "numbers and booleans coerced", method: "POST", path: "/connectors", status: 201,
			body: `{"name":"new","config":{"connector.class":"FileStreamSource","tasks.max":2,"flag":true}}`,
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, body any) {
				config := h.get("new").config
				if config["tasks.max"] != "2" || config["flag"] != "true" {
					t.Errorf("config %v", config)
				}
			}},
		{name: "trimmed name", method: "POST", path: "/connectors", body: `{"name":"  new\t",` + newConfig + `}`,
			status: 201, check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				if h.get("new") == nil {
					t.Error("connector not created under its trimmed name")
				}
			}},
		{name: "initial state", method: "POST", path: "/connectors", status: 201,
			body: `{"name":"new",` + newConfig + `,"initial_state":"stopped"}`,
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				if got := h.get("new").target; got != StateStopped {
					t.Errorf("state %s", got)
				}
			}},
		{name: "slash in name", method: "POST", path: "/connectors", body: `{"name":"a/b",` + newConfig + `}`,
			status: 201, check: func(t *testing.T, h *memHerder, rec *httptest.ResponseRecorder, _ any) {
				if loc := rec.Header().Get("Location"); loc != "/connectors/a%2Fb" {
					t.Errorf("Location %q", loc)
				}
			}},
		{name: "exists", method: "POST", path: "/connectors", status: 409, message: "Connector src already exists",
			body: `{"name":"src",` + newConfig + `}`},
		{name: "no name", method: "POST", path: "/connectors", body: `{` + newConfig + `}`, status: 400,
			message: "Connector configuration is invalid and contains the following 1 error(s):\n" +
				"Invalid value  for configuration name: String may not be empty\n"},
		{name: "control character in name", method: "POST", path: "/connectors", status: 400,
			body:    `{"name":"a\nb",` + newConfig + `}`,
			message: "Connector configuration is invalid and contains the following 1 error(s):\nInvalid value a\nb"},
		{name: "name mismatch", method: "POST", path: "/connectors", status: 400,
			body:    `{"name":"new","config":{"name":"other","connector.class":"FileStreamSource"}}`,
			message: "Connector name configuration (other) doesn't match connector name in the URL (new)"},
		{name: "no config", method: "POST", path: "/connectors", body: `{"name":"new"}`, status: 400},
		{name: "null config value", method: "POST", path: "/connectors", status: 400,
			body: `{"name":"new","config":{"connector.class":null}}`},
		{name: "object config value", method: "POST", path: "/connectors", status: 400,
			body: `{"name":"new","config":{"connector.class":{"a":1}}}`},
		{name: "invalid config", method: "POST", path: "/connectors", status: 400,
			body: `{"name":"new","config":{"connector.class":"FileStreamSource","tasks.max":"x"}}`,
			message: "Connector configuration is invalid and contains the following 1 error(s):\n" +
				"Invalid value x for configuration tasks.max: Not a number of type INT\n" +
				"You can also find the above list of errors at the endpoint " +
				"`/connector-plugins/{connectorType}/config/validate`"},
		{name: "bad initial state", method: "POST", path: "/connectors", status: 400,
			body: `{"name":"new",` + newConfig + `,"initial_state":"sleeping"}`},
		{name: "malformed", method: "POST", path: "/connectors", body: `{"name":`, status: 400},
		{name: "trailing data", method: "POST", path: "/connectors", body: `{"name":"x"} {}`, status: 400},
		{name: "empty body", method: "POST", path: "/connectors", status: 400},
		{name: "not an object", method: "POST", path: "/connectors", body: `[1,2]`, status: 400},
	})
}

func TestConnectorEndpoints(t *testing.T) {
	runEndpointCases(t, []endpointCase{
		{name: "info", method: "GET", path: "/connectors/src", status: 200,
			keys: map[string][]string{"": keysConnectorInfo, "tasks.1": keysTaskID}},
		{name: "info missing", method: "GET", path: "/connectors/nope", status: 404, message: "Connector nope not found"},
		{name: "info of a name with a slash", method: "GET", path: "/connectors/a%2Fb", status: 404,
			message: "Connector a/b not found"},
		{name: "config", method: "GET", path: "/connectors/src/config", status: 200,
			keys: map[string][]string{"": {"connector.class", "name", "tasks.max"}}},
		{name: "config missing", method: "GET", path: "/connectors/nope/config", status: 404},
		{name: "put creates", method: "PUT", path: "/connectors/new/config", status: 201,
			body: `{"connector.class":"FileStreamSinkConnector"}`, keys: map[string][]string{"": keysConnectorInfo},
			check: func(t *testing.T, _ *memHerder, rec *httptest.ResponseRecorder, body any) {
				if rec.Header().Get("Location") != "/connectors/new" || at(t, body, "type") != "sink" {
					t.Errorf("Location %q, type %v", rec.Header().Get("Location"), at(t, body, "type"))
				}
			}},
		{name: "put updates", method: "PUT", path: "/connectors/src/config", status: 200,
			body: `{"connector.class":"FileStreamSource","tasks.max":"3"}`, keys: map[string][]string{"": keysConnectorInfo}},
		{name: "put name mismatch", method: "PUT", path: "/connectors/src/config", status: 400,
			body: `{"name":"other","connector.class":"FileStreamSource"}`, message: "Connector name configuration"},
		{name: "put invalid", method: "PUT", path: "/connectors/src/config", status: 400,
			body: `{"connector.class":"Nope"}`, message: "Connector configuration is invalid"},
		{name: "put malformed", method: "PUT", path: "/connectors/src/config", body: `{`, status: 400},
		{name: "put null", method: "PUT", path: "/connectors/src/config", body: `null`, status: 400},
		{name: "patch", method: "PATCH", path: "/connectors/src/config", status: 200,
			body: `{"tasks.max":"3","topic":null}`, keys: map[string][]string{"": keysConnectorInfo},
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				if got := h.get("src").config["tasks.max"]; got != "3" {
					t.Errorf("tasks.max %q", got)
				}
			}},
		{name: "patch removes", method: "PATCH", path: "/connectors/src/config", status: 200, body: `{"tasks.max":null}`,
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				if _, ok := h.get("src").config["tasks.max"]; ok {
					t.Error("tasks.max not removed")
				}
			}},
		{name: "patch missing", method: "PATCH", path: "/connectors/nope/config", body: `{}`, status: 404},
		{name: "patch not an object", method: "PATCH", path: "/connectors/src/config", body: `["a"]`, status: 400},
		{name: "delete", method: "DELETE", path: "/connectors/src", status: 204,
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				if h.get("src") != nil {
					t.Error("not deleted")
				}
			}},
		{name: "delete missing", method: "DELETE", path: "/connectors/nope", status: 404},
		{name: "status", method: "GET", path: "/connectors/src/status", status: 200,
			keys: map[string][]string{"": keysStateInfo, "connector": keysState, "tasks.0": keysTaskState,
				"tasks.1": keysTaskTrace}},
		{name: "status missing", method: "GET", path: "/connectors/nope/status", status: 404},
		{name: "tasks", method: "GET", path: "/connectors/src/tasks", status: 200,
			keys: map[string][]string{"0": {"config", "id"}, "0.id": keysTaskID}},
		{name: "tasks of a stopped connector", method: "GET", path: "/connectors/snk/tasks", status: 200,
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if tasks, ok := body.([]any); !ok || len(tasks) != 0 {
					t.Errorf("tasks %v, want []", body)
				}
			}},
		{name: "tasks missing", method: "GET", path: "/connectors/nope/tasks", status: 404},
		{name: "task status", method: "GET", path: "/connectors/src/tasks/0/status", status: 200,
			keys: map[string][]string{"": keysTaskState}},
		{name: "failed task status", method: "GET", path: "/connectors/src/tasks/1/status", status: 200,
			keys: map[string][]string{"": keysTaskTrace}},
		{name: "task status missing", method: "GET", path: "/connectors/src/tasks/7/status", status: 404},
		{name: "task id not a number", method: "GET", path: "/connectors/src/tasks/x/status", status: 404},
		{name: "task id too large", method: "GET", path: "/connectors/src/tasks/99999999999/status", status: 404},
	})
}
