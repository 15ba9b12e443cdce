package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// The kinds of error a Herder returns. The server answers each with a
// status code: wrap one with %w, or return an *Error to choose the exact
// message clients see. Any other error is a 500.
var (
	// ErrNotFound: the connector, task or plugin does not exist (404).
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: the request is invalid, for example a configuration
	// that fails validation (400). See InvalidConfig.
	ErrBadRequest = errors.New("bad request")
	// ErrAlreadyExists: a connector of that name exists (409).
	ErrAlreadyExists = errors.New("already exists")
	// ErrRebalanceNeeded: the worker's view of the configuration is stale
	// or a rebalance is under way; the client should retry (409).
	ErrRebalanceNeeded = errors.New("rebalance needed")
	// ErrConflict: another operation conflicts with this one (409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the worker's configuration disallows the operation
	// (403), as topic.tracking.enable=false does for the topics endpoints.
	ErrForbidden = errors.New("forbidden")
	// ErrStarting: the worker has not finished starting (503 from
	// GET /health).
	ErrStarting = errors.New("worker starting")
	// ErrRequestTooLarge: the request body is over the server's limit
	// (413).
	ErrRequestTooLarge = errors.New("request too large")
)

// Kafka's messages for the conflicts the REST layer itself reports.
const (
	messageRebalanceNeeded = "Cannot complete request momentarily due to stale configuration " +
		"(typically caused by a concurrent config change)"
	messageNoLeader = "Cannot complete request momentarily due to no known leader URL, " +
		"likely because a rebalance was underway."
	messageTooManyHops = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
	messageTimedOut    = "Request timed out"
)

// Error is an error whose message is shown to REST clients as is, in the
// ErrorMessage body. Kind is one of the Err* kinds above and picks the
// status code; Cause, when set, is the underlying error (for logs and
// errors.Is). An *Error keeps its message when the runtime wraps it with
// more context: the server finds it with errors.As.
type Error struct {
	Kind    error
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

// Unwrap returns the kind and the cause, so that errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// NotFoundf returns an ErrNotFound error with Kafka's kind of message,
// such as "Connector x not found".
func NotFoundf(format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf(format, args...)}
}

// BadRequestf returns an ErrBadRequest error with the given message.
func BadRequestf(format string, args ...any) error {
	return &Error{Kind: ErrBadRequest, Message: fmt.Sprintf(format, args...)}
}

// AlreadyExists returns the error for creating a connector that exists.
func AlreadyExists(connector string) error {
	return &Error{Kind: ErrAlreadyExists, Message: "Connector " + connector + " already exists"}
}

// InvalidConfig returns the 400 error for a creation or update refused by
// validation, with Kafka's message listing every error in infos.
func InvalidConfig(infos ConfigInfos) error {
	var messages []string
	for _, config := range infos.Configs {
		if config.Value != nil {
			messages = append(messages, config.Value.Errors...)
		}
	}
	return &Error{Kind: ErrBadRequest, Message: invalidConfigMessage(infos.ErrorCount, messages)}
}

func invalidConfigMessage(count int, messages []string) string {
	var b strings.Builder
	b.WriteString("Connector configuration is invalid and contains the following ")
	b.WriteString(strconv.Itoa(count))
	b.WriteString(" error(s):")
	for _, m := range messages {
		b.WriteString("\n")
		b.WriteString(m)
	}
	b.WriteString("\nYou can also find the above list of errors at the endpoint " +
		"`/connector-plugins/{connectorType}/config/validate`")
	return b.String()
}

// OffsetsNeedStopped returns the 400 error for altering or resetting the
// offsets of a connector that is not STOPPED (KIP-875), with Kafka's
// message.
func OffsetsNeedStopped(connector string) error {
	return &Error{Kind: ErrBadRequest, Message: "Connectors must be in the STOPPED state before their offsets " +
		"can be modified. This can be done for the specified connector by issuing a 'PUT' request to the " +
		"'/connectors/" + connector + "/stop' endpoint"}
}

// NotLeaderError says that only the leader of the Connect cluster can
// serve the request. The server forwards the request to LeaderURL (the
// leader's REST base URL, such as "http://host:8083") and relays the
// answer; with no LeaderURL the client gets a 409.
type NotLeaderError struct {
	LeaderURL string
	Reason    string // for logs, as "Only the leader can set connector configs."
}

func (e *NotLeaderError) Error() string {
	if e.LeaderURL == "" {
		return "not the leader, leader unknown: " + e.Reason
	}
	return "not the leader, leader at " + e.LeaderURL + ": " + e.Reason
}

// errorAnswer returns the status code and the ErrorMessage for err.
func errorAnswer(err error) (int, ErrorMessage) {
	status := statusOf(err)
	message := err.Error()
	var restErr *Error
	switch {
	case errors.As(err, &restErr):
		message = restErr.Message
	case errors.Is(err, context.DeadlineExceeded):
		message = messageTimedOut
	case errors.Is(err, ErrRebalanceNeeded):
		message = messageRebalanceNeeded
	}
	return status, ErrorMessage{ErrorCode: status, Message: message}
}

func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrAlreadyExists), errors.Is(err, ErrRebalanceNeeded), errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrStarting):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrRequestTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed
	default:
		// Timeouts included: Kafka answers a herder operation that outlives
		// the request timeout with a 500 too.
		return http.StatusInternalServerError
	}
}

// errForwardFailed is the kind of a failure to reach the leader or to
// read its answer (500, as Kafka answers).
var errForwardFailed = errors.New("forwarding to the leader failed")

// errMethodNotAllowed is the kind of the answer to a known path with a
// method it does not serve.
var errMethodNotAllowed = errors.New("method not allowed")
