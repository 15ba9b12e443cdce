package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/fjordhq/fjord/internal/recordbatch"
	"github.com/fjordhq/fjord/internal/storage"
)

// errorCode maps an error from any layer to the Kafka error code sent to
// clients. It is the one place where internal errors become protocol codes.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	switch {
	case errors.Is(err, storage.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, storage.ErrClosed):
		// The replica went away (topic deleted) while the request ran.
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, storage.ErrCorruption), errors.Is(err, storage.ErrLogFailed):
		return kerr.KafkaStorageError.Code
	}
	// Record batch validation errors, or UNKNOWN_SERVER_ERROR for anything
	// unexpected, so a bug never passes as success.
	if errors.As(recordbatch.KafkaError(err), &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}

// errorMessage is the text for a response's ErrorMessage field: nil when
// there is no error, so clients print the code's standard description.
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	msg := err.Error()
	return &msg
}
