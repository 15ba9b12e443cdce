package kafkastore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// DefaultStatusPartitions is Kafka's status.storage.partitions default.
const DefaultStatusPartitions = 5

// StatusStore keeps connector, task and topic statuses in the status
// topic (status.storage.topic), as Kafka's KafkaStatusBackingStore. A
// status written is visible once read back (ReadToEnd).
type StatusStore struct {
	storeLog

	mu struct {
		sync.Mutex
		state *statusState
	}
}

// NewStatusStore returns a store of options.Topic; zero Partitions is
// Kafka's default, 5.
func NewStatusStore(options StoreOptions) *StatusStore {
	if options.Topic.Partitions == 0 {
		options.Topic.Partitions = DefaultStatusPartitions
	}
	s := &StatusStore{}
	s.mu.state = newStatusState()
	s.storeLog = newStoreLog("status store", LogOptions{Topic: options.Topic, Setting: "status.storage.topic",
		Purpose: "connector and task statuses", ClientOpts: options.ClientOpts, Logger: options.Logger}, s.consume)
	return s
}

func (s *StatusStore) consume(r Record) {
	s.mu.Lock()
	err := s.mu.state.apply(r)
	s.mu.Unlock()
	if err != nil {
		s.logger.Warn("kafkastore: skipping status record", "partition", r.Partition, "offset", r.Offset, "error", err)
	}
}

// PutConnector writes a connector's status (DESTROYED: a tombstone,
// which removes its tasks' statuses too) and returns once acknowledged.
func (s *StatusStore) PutConnector(ctx context.Context, connector string, st Status) error {
	return s.put(ctx, "status of connector "+connector, connectorStatusKey(connector), st)
}

// PutConnectorSafe writes a connector's status unless the status read
// last is another worker's of a later generation (Kafka's putSafe); it
// reports whether it wrote.
func (s *StatusStore) PutConnectorSafe(ctx context.Context, connector string, st Status) (bool, error) {
	s.mu.Lock()
	current, exists := s.mu.state.connectors[connector]
	s.mu.Unlock()
	if !canWriteSafely(current, exists, st) {
		return false, nil
	}
	return true, s.PutConnector(ctx, connector, st)
}

// PutTask writes a task's status and returns once acknowledged.
func (s *StatusStore) PutTask(ctx context.Context, id TaskID, st Status) error {
	return s.put(ctx, "status of task "+id.String(), taskStatusKey(id), st)
}

// PutTaskSafe is PutConnectorSafe for a task.
func (s *StatusStore) PutTaskSafe(ctx context.Context, id TaskID, st Status) (bool, error) {
	s.mu.Lock()
	current, exists := s.mu.state.tasks[id.Connector][id.Task]
	s.mu.Unlock()
	if !canWriteSafely(current, exists, st) {
		return false, nil
	}
	return true, s.PutTask(ctx, id, st)
}

func (s *StatusStore) put(ctx context.Context, what string, key []byte, st Status) error {
	if !st.State.valid() {
		return fmt.Errorf("%s: unknown state %q", what, st.State)
	}
	value, err := encodeStatus(st)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := s.log.Send(ctx, key, value); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// PutTopic records that a connector's task used a topic.
func (s *StatusStore) PutTopic(ctx context.Context, t TopicStatus) error {
	value, err := encodeTopicStatus(t)
	if err != nil {
		return fmt.Errorf("status of topic %s: %w", t.Topic, err)
	}
	if _, err := s.log.Send(ctx, topicStatusKey(t.Connector, t.Topic), value); err != nil {
		return fmt.Errorf("status of topic %s of connector %s: %w", t.Topic, t.Connector, err)
	}
	return nil
}

// DeleteTopic forgets that a connector used a topic (a tombstone).
func (s *StatusStore) DeleteTopic(ctx context.Context, connector, topic string) error {
	if _, err := s.log.Send(ctx, topicStatusKey(connector, topic), nil); err != nil {
		return fmt.Errorf("status of topic %s of connector %s: %w", topic, connector, err)
	}
	return nil
}

// Connector returns a connector's status as last read.
func (s *StatusStore) Connector(connector string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.mu.state.connectors[connector]
	return st, ok
}

// Task returns a task's status as last read.
func (s *StatusStore) Task(id TaskID) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.mu.state.tasks[id.Connector][id.Task]
	return st, ok
}

// Tasks returns the statuses of a connector's tasks, by task number
// (Kafka's getAll).
func (s *StatusStore) Tasks(connector string) []TaskStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	tasks := s.mu.state.tasks[connector]
	out := make([]TaskStatus, 0, len(tasks))
	for _, n := range slices.Sorted(maps.Keys(tasks)) {
		out = append(out, TaskStatus{ID: TaskID{Connector: connector, Task: n}, Status: tasks[n]})
	}
	return out
}

// Connectors returns the names of the connectors with a status, sorted.
func (s *StatusStore) Connectors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.mu.state.connectors))
}

// Topics returns the topics a connector used, sorted by name.
func (s *StatusStore) Topics(connector string) []TopicStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	topics := s.mu.state.topics[connector]
	out := make([]TopicStatus, 0, len(topics))
	for _, name := range slices.Sorted(maps.Keys(topics)) {
		out = append(out, topics[name])
	}
	return out
}
