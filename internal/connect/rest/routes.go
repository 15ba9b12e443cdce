package rest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// routes registers every endpoint: Kafka Connect's REST API as of Kafka
// 4.0, but the logging endpoints (/admin/loggers) and the deprecated
// tasks-config endpoint.
func (s *Server) routes() {
	s.handle("GET /{$}", s.serverInfo)
	s.handle("GET /health", s.health)

	s.handle("GET /connectors", s.listConnectors)
	s.handle("POST /connectors", s.createConnector)
	s.handle("GET /connectors/{name}", s.getConnector)
	s.handle("DELETE /connectors/{name}", s.deleteConnector)
	s.handle("GET /connectors/{name}/config", s.getConnectorConfig)
	s.handle("PUT /connectors/{name}/config", s.putConnectorConfig)
	s.handle("PATCH /connectors/{name}/config", s.patchConnectorConfig)
	s.handle("GET /connectors/{name}/status", s.getConnectorStatus)
	s.handle("PUT /connectors/{name}/pause", s.pauseConnector)
	s.handle("PUT /connectors/{name}/resume", s.resumeConnector)
	s.handle("PUT /connectors/{name}/stop", s.stopConnector)
	s.handle("POST /connectors/{name}/restart", s.restartConnector)
	s.handle("GET /connectors/{name}/tasks", s.getTaskConfigs)
	s.handle("GET /connectors/{name}/tasks/{task}/status", s.getTaskStatus)
	s.handle("POST /connectors/{name}/tasks/{task}/restart", s.restartTask)
	s.handle("GET /connectors/{name}/topics", s.getActiveTopics)
	s.handle("PUT /connectors/{name}/topics/reset", s.resetActiveTopics)
	s.handle("GET /connectors/{name}/offsets", s.getOffsets)
	s.handle("PATCH /connectors/{name}/offsets", s.alterOffsets)
	s.handle("DELETE /connectors/{name}/offsets", s.resetOffsets)

	s.handle("GET /connector-plugins", s.listPlugins)
	s.handle("GET /connector-plugins/{plugin}/config", s.getPluginConfig)
	s.handle("PUT /connector-plugins/{plugin}/config/validate", s.validateConfig)
}

// call is one request to an endpoint, its body read already.
type call struct {
	request *http.Request
	body    []byte
}

// name returns the request's {name} path segment, unescaped: a connector
// named "a/b" is addressed as /connectors/a%2Fb.
func (c *call) name() string { return c.request.PathValue("name") }

// query reports a boolean query parameter as JAX-RS reads a Boolean:
// "true" in any case is true, any other value false, absence def.
func (c *call) query(key string, def bool) bool {
	values, ok := c.request.URL.Query()[key]
	if !ok || len(values) == 0 {
		return def
	}
	return strings.EqualFold(values[0], "true")
}

// taskID returns the request's connector and {task} segment. A task
// number that is not an integer matches no resource: 404, as in Kafka.
func (c *call) taskID() (ConnectorTaskID, error) {
	raw := c.request.PathValue("task")
	task, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		return ConnectorTaskID{}, NotFoundf("Unknown task: %s-%s", c.name(), raw)
	}
	return ConnectorTaskID{Connector: c.name(), Task: int(task)}, nil
}

// answer is an endpoint's successful result.
type answer struct {
	status   int
	body     any    // nil: no body
	location string // the Location header of a 201, if any
}

type endpoint func(ctx context.Context, c *call) (answer, error)

// handle registers fn for pattern: it reads the bounded body, runs fn
// under the request timeout, and writes the answer, the error, or what
// the leader answered when fn says this worker is not the leader.
func (s *Server) handle(pattern string, fn endpoint) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r, s.cfg.MaxRequestBytes)
		if err != nil {
			s.writeError(w, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		c := &call{request: r, body: body}
		result, err := fn(ctx, c)
		var notLeader *NotLeaderError
		switch {
		case errors.As(err, &notLeader):
			s.forward(ctx, w, c, notLeader)
		case err != nil:
			s.writeError(w, err)
		default:
			s.writeAnswer(w, result)
		}
	})
}

func (s *Server) writeAnswer(w http.ResponseWriter, a answer) {
	if a.location != "" {
		w.Header().Set("Location", a.location)
	}
	if a.body == nil {
		w.WriteHeader(a.status)
		return
	}
	s.writeJSON(w, a.status, a.body)
}

// connectorLocation is the Location of a created connector.
func connectorLocation(name string) string {
	return "/connectors/" + url.PathEscape(name)
}
