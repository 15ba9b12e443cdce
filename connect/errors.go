package connect

// RetriableError marks a failure that may pass if the call is made again,
// such as a timeout of the external system (Kafka's RetriableException). A
// worker that gets one from Poll polls again, from Put hands the same
// records to Put again (after the backoff set with SinkTaskContext.Timeout),
// from Flush or PreCommit skips this commit and tries at the next one. Any
// other error fails the task.
//
// Wrap an error with Retriable; the worker finds it with errors.As, so
// further wrapping keeps the mark.
type RetriableError struct {
	Err error
}

// Retriable marks err as retriable; it returns nil for nil.
func Retriable(err error) error {
	if err == nil {
		return nil
	}
	return &RetriableError{Err: err}
}

func (e *RetriableError) Error() string { return "retriable: " + e.Err.Error() }

func (e *RetriableError) Unwrap() error { return e.Err }
