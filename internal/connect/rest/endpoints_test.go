package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
)

func TestLifecycleEndpoints(t *testing.T) {
	target := func(name, want string) func(*testing.T, *memHerder, *httptest.ResponseRecorder, any) {
		return func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
			if got := h.get(name).target; got != want {
				t.Errorf("%s is %s, want %s", name, got, want)
			}
		}
	}
	runEndpointCases(t, []endpointCase{
		{name: "pause", method: "PUT", path: "/connectors/src/pause", status: 202, check: target("src", StatePaused)},
		{name: "pause missing", method: "PUT", path: "/connectors/nope/pause", status: 404},
		{name: "resume", method: "PUT", path: "/connectors/snk/resume", status: 202, check: target("snk", StateRunning)},
		{name: "resume missing", method: "PUT", path: "/connectors/nope/resume", status: 404},
		{name: "stop", method: "PUT", path: "/connectors/src/stop", status: 204, check: target("src", StateStopped)},
		{name: "stop missing", method: "PUT", path: "/connectors/nope/stop", status: 404},
		{name: "restart connector only", method: "POST", path: "/connectors/src/restart", status: 204},
		{name: "restart connector only, explicit", method: "POST", status: 204,
			path: "/connectors/src/restart?includeTasks=false&onlyFailed=false"},
		{name: "restart with tasks", method: "POST", path: "/connectors/src/restart?includeTasks=true", status: 202,
			keys: map[string][]string{"": keysStateInfo, "connector": keysState, "tasks.0": keysTaskState},
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if got := at(t, body, "tasks.0.state"); got != StateRestarting {
					t.Errorf("task 0 %v", got)
				}
			}},
		{name: "restart failed tasks", method: "POST", path: "/connectors/src/restart?includeTasks=TRUE&onlyFailed=true",
			status: 202, check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if at(t, body, "tasks.0.state") != StateRunning || at(t, body, "tasks.1.state") != StateRestarting {
					t.Errorf("states %v", body)
				}
			}},
		{name: "restart only failed", method: "POST", path: "/connectors/src/restart?onlyFailed=true", status: 202},
		{name: "restart missing", method: "POST", path: "/connectors/nope/restart", status: 404},
		{name: "restart missing with tasks", method: "POST", path: "/connectors/nope/restart?includeTasks=true",
			status: 404},
		{name: "task restart", method: "POST", path: "/connectors/src/tasks/1/restart", status: 204},
		{name: "task restart missing", method: "POST", path: "/connectors/src/tasks/5/restart", status: 404},
		{name: "task restart negative", method: "POST", path: "/connectors/src/tasks/-1/restart", status: 404},
	})
}

func TestTopicsAndOffsetsEndpoints(t *testing.T) {
	const alter = `{"offsets":[{"partition":{"filename":"b.txt"},"offset":{"position":9007199254740993}}]}`
	runEndpointCases(t, []endpointCase{
		{name: "topics", method: "GET", path: "/connectors/src/topics", status: 200,
			keys: map[string][]string{"": {"src"}, "src": {"topics"}},
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if got := at(t, body, "src.topics.0"); got != "t1" {
					t.Errorf("topic %v", got)
				}
			}},
		{name: "no topics", method: "GET", path: "/connectors/snk/topics", status: 200,
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if topics, ok := at(t, body, "snk.topics").([]any); !ok || len(topics) != 0 {
					t.Errorf("topics %v, want []", body)
				}
			}},
		{name: "topics missing", method: "GET", path: "/connectors/nope/topics", status: 404},
		{name: "topics disabled", method: "GET", path: "/connectors/src/topics", status: 403,
			cfg: ServerConfig{TopicTrackingDisabled: true}, message: "Topic tracking is disabled."},
		{name: "topics reset", method: "PUT", path: "/connectors/src/topics/reset", status: 202},
		{name: "topics reset missing", method: "PUT", path: "/connectors/nope/topics/reset", status: 404},
		{name: "topics reset disabled", method: "PUT", path: "/connectors/src/topics/reset", status: 403,
			cfg: ServerConfig{TopicTrackingResetDisabled: true}, message: "Topic tracking reset is disabled."},
		{name: "offsets", method: "GET", path: "/connectors/src/offsets", status: 200,
			keys: map[string][]string{"": {"offsets"}, "offsets.0": {"offset", "partition"}}},
		{name: "no offsets", method: "GET", path: "/connectors/snk/offsets", status: 200,
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if offsets, ok := at(t, body, "offsets").([]any); !ok || len(offsets) != 0 {
					t.Errorf("offsets %v, want []", body)
				}
			}},
		{name: "offsets missing", method: "GET", path: "/connectors/nope/offsets", status: 404},
		{name: "alter", method: "PATCH", path: "/connectors/snk/offsets", body: alter, status: 200,
			keys: map[string][]string{"": {"message"}},
			check: func(t *testing.T, h *memHerder, _ *httptest.ResponseRecorder, _ any) {
				got := h.get("snk").offsets[0].Offset["position"]
				if n, ok := got.(json.Number); !ok || n.String() != "9007199254740993" {
					t.Errorf("offset %#v: 64-bit offsets must keep every digit", got)
				}
			}},
		{name: "alter running", method: "PATCH", path: "/connectors/src/offsets", body: alter, status: 400,
			message: "Connectors must be in the STOPPED state before their offsets can be modified. This can be " +
				"done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint"},
		{name: "alter nothing", method: "PATCH", path: "/connectors/snk/offsets", body: `{"offsets":[]}`, status: 400,
			message: "Partitions / offsets need to be provided for an alter offsets request"},
		{name: "alter no list", method: "PATCH", path: "/connectors/snk/offsets", body: `{}`, status: 400},
		{name: "alter malformed", method: "PATCH", path: "/connectors/snk/offsets", body: `{"offsets":3}`, status: 400},
		{name: "alter missing", method: "PATCH", path: "/connectors/nope/offsets", body: alter, status: 404},
		{name: "reset", method: "DELETE", path: "/connectors/snk/offsets", status: 200,
			keys: map[string][]string{"": {"message"}}},
		{name: "reset running", method: "DELETE", path: "/connectors/src/offsets", status: 400,
			message: "Connectors must be in the STOPPED state"},
		{name: "reset missing", method: "DELETE", path: "/connectors/nope/offsets", status: 404},
	})
}

func TestPluginEndpoints(t *testing.T) {
	const validateBody = `{"connector.class":"org.apache.kafka.connect.file.FileStreamSourceConnector","tasks.max":"x"}`
	count := func(want int) func(*testing.T, *memHerder, *httptest.ResponseRecorder, any) {
		return func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
			if plugins, _ := body.([]any); len(plugins) != want {
				t.Errorf("%d plugins, want %d: %v", len(plugins), want, body)
			}
		}
	}
	runEndpointCases(t, []endpointCase{
		{name: "connectors only", method: "GET", path: "/connector-plugins", status: 200, check: count(2),
			keys: map[string][]string{"0": {"class", "type", "version"}, "1": {"class", "type"}}},
		{name: "all plugins", method: "GET", path: "/connector-plugins?connectorsOnly=false", status: 200,
			check: count(3)},
		{name: "connectors only explicit", method: "GET", path: "/connector-plugins?connectorsOnly=true", status: 200,
			check: count(2)},
		{name: "plugin config", method: "GET", path: "/connector-plugins/FileStreamSource/config", status: 200,
			keys: map[string][]string{"0": keysConfigKey, "1": keysConfigKey},
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if at(t, body, "0.default_value") != nil || at(t, body, "1.default_value") != "1" {
					t.Errorf("default values: %v", body)
				}
			}},
		{name: "plugin config missing", method: "GET", path: "/connector-plugins/Nope/config", status: 404},
		{name: "validate by full name", method: "PUT", path: "/connector-plugins/" +
			"org.apache.kafka.connect.file.FileStreamSourceConnector/config/validate", body: validateBody, status: 200,
			keys: map[string][]string{"": {"configs", "error_count", "groups", "name"}, "configs.0": {"definition", "value"},
				"configs.0.definition": keysConfigKey, "configs.0.value": keysConfigValue},
			check: func(t *testing.T, _ *memHerder, _ *httptest.ResponseRecorder, body any) {
				if at(t, body, "error_count") != float64(1) || at(t, body, "configs.1.value.errors.0") == nil {
					t.Errorf("validation result %v", body)
				}
			}},
		{name: "validate by simple name", method: "PUT", path: "/connector-plugins/FileStreamSourceConnector/config/validate",
			body: validateBody, status: 200},
		{name: "validate by alias", method: "PUT", path: "/connector-plugins/FileStreamSource/config/validate",
			body: validateBody, status: 200},
		{name: "validate mismatch", method: "PUT", path: "/connector-plugins/FileStreamSink/config/validate",
			body: validateBody, status: 400, message: "Included connector type " +
				"org.apache.kafka.connect.file.FileStreamSourceConnector does not match request type FileStreamSink"},
		{name: "validate without class", method: "PUT", path: "/connector-plugins/FileStreamSource/config/validate",
			body: `{"tasks.max":"1"}`, status: 400, message: "Connector config"},
		{name: "validate malformed", method: "PUT", path: "/connector-plugins/FileStreamSource/config/validate",
			body: `{"a":`, status: 400},
		{name: "validate wrong method", method: "POST", path: "/connector-plugins/FileStreamSource/config/validate",
			body: validateBody, status: 405},
	})
}

// TestHerderErrors checks how the server answers each kind of herder
// error.
func TestHerderErrors(t *testing.T) {
	cases := []struct {
		err     error
		status  int
		message string
	}{
		{NotFoundf("Connector x not found"), 404, "Connector x not found"},
		{BadRequestf("bad"), 400, "bad"},
		{AlreadyExists("x"), 409, "Connector x already exists"},
		{ErrRebalanceNeeded, 409, "Cannot complete request momentarily due to stale configuration"},
		{&Error{Kind: ErrRebalanceNeeded, Message: "rebalancing"}, 409, "rebalancing"},
		{ErrConflict, 409, "pausing connector src: conflict"},
		{errors.Join(errors.New("wrapped"), ErrNotFound), 404, "pausing connector src: wrapped"},
		{context.DeadlineExceeded, 500, "Request timed out"},
		{errors.New("disk on fire"), 500, "pausing connector src: disk on fire"},
		{&NotLeaderError{Reason: "Only the leader can set connector configs."}, 409,
			"Cannot complete request momentarily due to no known leader URL"},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			h := newMemHerder()
			h.before = func(context.Context, string) error { return tc.err }
			s, err := New(h, ServerConfig{})
			if err != nil {
				t.Fatal(err)
			}
			rec := serve(t, s, "PUT", "/connectors/src/pause", "")
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			checkError(t, checkBody(t, rec), tc.status, tc.message)
		})
	}
}

// TestHealth checks GET /health for a worker starting and one failing.
func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		state  string
	}{{ErrStarting, 503, "starting"}, {errors.New("stuck"), 500, "unhealthy"}} {
		h := newMemHerder()
		h.before = func(context.Context, string) error { return tc.err }
		s, err := New(h, ServerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		rec := serve(t, s, "GET", "/health", "")
		body := checkBody(t, rec)
		if rec.Code != tc.status || at(t, body, "status") != tc.state {
			t.Errorf("%v: %d %v, want %d %s", tc.err, rec.Code, body, tc.status, tc.state)
		}
	}
}
