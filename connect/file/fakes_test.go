package file_test

import (
	"context"
	"sync"
	"time"

	"github.com/fjordhq/fjord/connect"
)

// offsetStore stands in for the worker's offset store: offsets by the
// "filename" of their partition, as committed.
type offsetStore struct {
	mu      sync.Mutex
	offsets map[string]map[string]any
	err     error
}

func (s *offsetStore) Offset(_ context.Context, partition map[string]any) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	name, _ := partition["filename"].(string)
	return s.offsets[name], nil
}

func (s *offsetStore) Offsets(ctx context.Context, partitions []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, len(partitions))
	for i, p := range partitions {
		o, err := s.Offset(ctx, p)
		if err != nil {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// commit stores the offset of the last record, as the worker does once
// the records are written.
func (s *offsetStore) commit(records []connect.SourceRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offsets == nil {
		s.offsets = map[string]map[string]any{}
	}
	for _, r := range records {
		s.offsets[r.SourcePartition["filename"].(string)] = r.SourceOffset
	}
}

// sourceContext is the worker's side of a source task.
type sourceContext struct{ offsets *offsetStore }

func (c sourceContext) Config() map[string]string                      { return nil }
func (c sourceContext) OffsetReader() connect.OffsetReader             { return c.offsets }
func (c sourceContext) TransactionContext() connect.TransactionContext { return nil }

// sinkContext is the worker's side of a sink task; the file sink uses
// none of it.
type sinkContext struct{}

func (sinkContext) Config() map[string]string                          { return nil }
func (sinkContext) Assignment() []connect.TopicPartition               { return nil }
func (sinkContext) Offset(connect.TopicPartition, int64)               {}
func (sinkContext) Timeout(time.Duration)                              {}
func (sinkContext) Pause(...connect.TopicPartition)                    {}
func (sinkContext) Resume(...connect.TopicPartition)                   {}
func (sinkContext) RequestCommit()                                     {}
func (sinkContext) ErrantRecordReporter() connect.ErrantRecordReporter { return nil }

// done is a context that has ended: Poll then returns at once when there
// is nothing to read, instead of waiting its second.
func done() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
