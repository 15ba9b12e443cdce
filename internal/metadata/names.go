package metadata

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// MaxTopicNameLength is Kafka's limit: a partition directory is
// "name-partition" and must fit in 255 bytes.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic name rules: non-empty, at most 249
// characters from [a-zA-Z0-9._-], and not "." or "..". The error wraps
// kerr.InvalidTopicException.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return newError(kerr.InvalidTopicException, "topic name is empty")
	case name == "." || name == "..":
		return newError(kerr.InvalidTopicException, fmt.Sprintf("topic name cannot be %q", name))
	case len(name) > MaxTopicNameLength:
		return newError(kerr.InvalidTopicException,
			fmt.Sprintf("topic name is %d characters long, longer than the limit of %d", len(name), MaxTopicNameLength))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return newError(kerr.InvalidTopicException,
				fmt.Sprintf("topic name %q contains a character other than ASCII alphanumerics, '.', '_' and '-'", name))
		}
	}
	return nil
}

// collisionKey maps '.' to '_': Kafka's metric names cannot tell the two
// apart, so two topics differing only there are refused.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// Error is a controller error: a Kafka error code with a message for the
// response's error_message field. errors.Is(err, kerr.X) holds for its code.
type Error struct {
	Code    *kerr.Error
	Message string
}

func newError(code *kerr.Error, message string) *Error { return &Error{Code: code, Message: message} }

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code.Message
	}
	return e.Message
}

// Unwrap returns the Kafka error code.
func (e *Error) Unwrap() error { return e.Code }
