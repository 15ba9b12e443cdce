package kafkastore

import (
	"context"
	"fmt"
	"log/slog"
)

// storeLog is what the config, offset and status stores have in common:
// their topic's Log, its logger, and Start, Close and ReadToEnd with errors
// naming the store.
type storeLog struct {
	log    *Log
	logger *slog.Logger
	name   string // "config store", ...
}

func newStoreLog(name string, options LogOptions, consume func(Record)) storeLog {
	log := NewLog(options, consume)
	return storeLog{log: log, logger: log.logger, name: name}
}

// Start creates or checks the topic and reads it to its end.
func (s *storeLog) Start(ctx context.Context) error {
	if err := s.log.Start(ctx); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}

// Close stops reading the topic.
func (s *storeLog) Close() { s.log.Close() }

// ReadToEnd returns once every record written before the call has been
// applied: Kafka's refresh.
func (s *storeLog) ReadToEnd(ctx context.Context) error {
	if err := s.log.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
