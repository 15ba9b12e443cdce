// Package rest is the REST API of a fjord Connect worker: Kafka Connect's
// endpoints, status codes and JSON bodies, served over a Herder that the
// worker runtime (standalone or distributed) implements.
//
// # Model
//
// The package knows nothing of connectors, tasks or the cluster: it turns
// HTTP requests into Herder calls and their results into Kafka's answers.
// Compatibility is the point (DESIGN.md, "Compatible outside the wire
// too"): the paths, query parameters, status codes, JSON field names and
// the wording of the errors that scripts match on are Kafka's, so curl
// scripts, UIs and operators written for a Kafka Connect worker work
// unchanged. Where Kafka's documentation and its code disagree, the code
// wins (PUT /connectors/{name}/stop answers 204, as Kafka's does).
//
//	GET    /                                          ServerInfo
//	GET    /health                                    WorkerStatus (KIP-1017)
//	GET    /connectors[?expand=status&expand=info]    names, or name -> expansions
//	POST   /connectors                                201 ConnectorInfo
//	GET    /connectors/{name}                         ConnectorInfo
//	DELETE /connectors/{name}                         204
//	GET    /connectors/{name}/config                  map of strings
//	PUT    /connectors/{name}/config                  201 created or 200 updated, ConnectorInfo
//	PATCH  /connectors/{name}/config                  200 ConnectorInfo (KIP-477)
//	GET    /connectors/{name}/status                  ConnectorStateInfo
//	PUT    /connectors/{name}/pause|resume            202
//	PUT    /connectors/{name}/stop                    204 (KIP-875)
//	POST   /connectors/{name}/restart                 204, or 202 ConnectorStateInfo (KIP-745)
//	GET    /connectors/{name}/tasks                   []TaskInfo
//	GET    /connectors/{name}/tasks/{id}/status       TaskState
//	POST   /connectors/{name}/tasks/{id}/restart      204
//	GET    /connectors/{name}/topics                  ActiveTopics (KIP-558)
//	PUT    /connectors/{name}/topics/reset            202
//	GET    /connectors/{name}/offsets                 ConnectorOffsets (KIP-875)
//	PATCH  /connectors/{name}/offsets                 200 Message
//	DELETE /connectors/{name}/offsets                 200 Message
//	GET    /connector-plugins[?connectorsOnly=false]  []PluginInfo
//	GET    /connector-plugins/{type}/config           []ConfigKeyInfo
//	PUT    /connector-plugins/{type}/config/validate  ConfigInfos
//
// Every error is an ErrorMessage {"error_code", "message"} whose code is
// the HTTP status: an unknown path 404, a known path with another method
// 405, a malformed body 400, a body over ServerConfig.MaxRequestBytes 413. The
// Herder's errors choose the status (errors.go). A *NotLeaderError makes
// the server forward the request to the leader's URL and relay the answer,
// with Kafka's forward=true/false query parameter bounding the hops to
// two; the forwarding client is ServerConfig.ForwardClient.
//
// Request bodies are read as Kafka's JSON mapper reads them: a number or
// a boolean in a configuration map becomes its text, unknown fields are
// ignored, and the Content-Type is not checked. Connector names follow
// Kafka's rule (KIP-212): not empty once trimmed, no control characters;
// a slash is allowed and addressed as %2F. Non-canonical paths ("//",
// "..") get a 404 instead of a redirect.
//
// # Concurrency
//
// net/http serves each connection on a goroutine of its own, and each
// request calls the Herder from that goroutine: Herder methods run
// concurrently and must be safe for it. The Server holds no state about
// connectors; its only shared state is the shutdown bookkeeping in
// Server.mu (requests in flight, whether it is closing), under one mutex
// taken for a few instructions and never held across a call.
//
// Every request's context ends when its client goes away, when
// ServerConfig.RequestTimeout passes, or when shutdown gives up waiting; the
// Herder must return promptly then. Serve runs the http.Server on one
// goroutine it owns and joins; Shutdown (or the end of Serve's context)
// stops admitting requests (new ones get a 503), lets those in flight
// finish until its context ends (ServerConfig.ShutdownTimeout for Serve),
// cancels the rest, and returns only once every handler has returned. No
// goroutine of the package outlives Serve. The server never reads the
// wall clock: timeouts are context deadlines.
package rest
