package recordbatch

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors. Every error this package returns wraps exactly one of them
// (with context added by fmt.Errorf and %w), so callers test with errors.Is
// and the broker turns them into a protocol error code with KafkaError.
var (
	// ErrCorruptMessage: the bytes cannot be a batch (short or torn batch,
	// CRC-32C mismatch, unknown codec, a record running past the batch, a
	// malformed varint, a compressed payload that does not decode, a
	// decompressed payload past its cap). Kafka code CORRUPT_MESSAGE (2).
	ErrCorruptMessage = errors.New("corrupt record batch")

	// ErrInvalidRecord: the batch is well formed but breaks a rule Kafka
	// enforces on produce (empty batch, count and offset deltas disagree,
	// control batch from a client, producer id without a sequence).
	// Kafka code INVALID_RECORD (87).
	ErrInvalidRecord = errors.New("invalid record")

	// ErrMessageTooLarge: the batch is larger than max.message.bytes.
	// Kafka code MESSAGE_TOO_LARGE (10).
	ErrMessageTooLarge = errors.New("record batch larger than max.message.bytes")

	// ErrUnsupportedForMessageFormat: magic 0 or 1. Kafka 4 answers
	// produce v3+ carrying old magic with INVALID_RECORD; we follow the team's
	// RELIABILITY.md and answer UNSUPPORTED_FOR_MESSAGE_FORMAT (43), which
	// tells the client precisely what is wrong.
	ErrUnsupportedForMessageFormat = errors.New("record batch magic older than v2")

	// ErrUnsupportedCompressionType: the codec is valid but not allowed for
	// the request (zstd before produce v7). Validate never returns it; the
	// produce handler does. Kafka code UNSUPPORTED_COMPRESSION_TYPE (76).
	ErrUnsupportedCompressionType = errors.New("compression type not supported by this request version")
)

// KafkaError maps an error from this package to the Kafka protocol error the
// broker puts in its response. It returns nil for nil, and
// UNKNOWN_SERVER_ERROR for an error that wraps none of the sentinels, so a
// bug never passes as success.
func KafkaError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrMessageTooLarge):
		return kerr.MessageTooLarge
	case errors.Is(err, ErrUnsupportedForMessageFormat):
		return kerr.UnsupportedForMessageFormat
	case errors.Is(err, ErrUnsupportedCompressionType):
		return kerr.UnsupportedCompressionType
	case errors.Is(err, ErrInvalidRecord):
		return kerr.InvalidRecord
	case errors.Is(err, ErrCorruptMessage), errors.Is(err, ErrShortBatch):
		return kerr.CorruptMessage
	default:
		return kerr.UnknownServerError
	}
}
