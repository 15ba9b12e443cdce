package console

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
)

// apiError is the body of every failed API call: Error is the Kafka error
// name when Kafka refused (UNKNOWN_TOPIC_OR_PARTITION), else a console
// code (INVALID_REQUEST).
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// requestError is a request the console refuses before asking Kafka.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, code: "INVALID_REQUEST", msg: fmt.Sprintf(format, args...)}
}

// kafkaError is a Kafka error code with the broker's message, if any.
func kafkaError(err error, detail string) error {
	if err == nil {
		return nil
	}
	if detail == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, detail)
}

// toAPIError maps an error to an HTTP status and a body naming the Kafka
// error.
func toAPIError(err error) (int, apiError) {
	var re *requestError
	if errors.As(err, &re) {
		return re.status, apiError{Error: re.code, Message: re.msg}
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		status := http.StatusBadGateway
		switch {
		case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.GroupIDNotFound),
			errors.Is(err, kerr.UnknownTopicID):
			status = http.StatusNotFound
		case errors.Is(err, kerr.TopicAlreadyExists), errors.Is(err, kerr.NonEmptyGroup):
			status = http.StatusConflict
		case errors.Is(err, kerr.InvalidTopicException), errors.Is(err, kerr.InvalidPartitions),
			errors.Is(err, kerr.InvalidReplicationFactor), errors.Is(err, kerr.InvalidConfig),
			errors.Is(err, kerr.InvalidRequest), errors.Is(err, kerr.PolicyViolation):
			status = http.StatusBadRequest
		case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.GroupAuthorizationFailed),
			errors.Is(err, kerr.ClusterAuthorizationFailed), errors.Is(err, kerr.SecurityDisabled):
			status = http.StatusForbidden
		}
		return status, apiError{Error: ke.Message, Message: err.Error()}
	}
	return http.StatusBadGateway, apiError{Error: "KAFKA_REQUEST_FAILED", Message: err.Error()}
}

// Kafka's topic name rule: at most 249 of [a-zA-Z0-9._-], not "." or "..".
var topicNamePattern = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

func validTopic(name string) error {
	if !topicNamePattern.MatchString(name) || name == "." || name == ".." {
		return badRequest("invalid topic name %q: up to 249 of a-z A-Z 0-9 . _ -", name)
	}
	return nil
}

// maxGroupNameBytes bounds a group id: Kafka sets no limit, but a group id
// longer than this in a URL is a mistake or an attack.
const maxGroupNameBytes = 1024

func validGroup(name string) error {
	if name == "" || len(name) > maxGroupNameBytes {
		return badRequest("invalid group id: 1 to %d bytes", maxGroupNameBytes)
	}
	return nil
}

// parseInt reads an integer query or form value within [lo, hi]; empty
// yields def.
func parseInt(s, what string, def, lo, hi int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("%s must be an integer from %d to %d, got %q", what, lo, hi, s)
	}
	return n, nil
}
