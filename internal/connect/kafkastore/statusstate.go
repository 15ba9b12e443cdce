package kafkastore

import (
	"fmt"
	"strings"
)

// statusState is the status topic applied record by record, with Kafka's
// KafkaStatusBackingStore's rules: each record replaces the status it
// names, in topic order, except a task's UNASSIGNED that would hide a
// RUNNING of the same or a later generation.
type statusState struct {
	connectors map[string]Status
	tasks      map[string]map[int]Status         // by connector, then task
	topics     map[string]map[string]TopicStatus // by connector, then topic
}

func newStatusState() *statusState {
	return &statusState{connectors: map[string]Status{}, tasks: map[string]map[int]Status{},
		topics: map[string]map[string]TopicStatus{}}
}

// apply applies one record; an error says why it was skipped.
func (s *statusState) apply(r Record) error {
	key := string(r.Key)
	switch {
	case strings.HasPrefix(key, connectorStatusPrefix):
		return s.applyConnector(key[len(connectorStatusPrefix):], r.Value)
	case strings.HasPrefix(key, taskStatusPrefix):
		return s.applyTask(key, r.Value)
	case strings.HasPrefix(key, topicStatusPrefix):
		return s.applyTopic(key, r.Value)
	}
	return fmt.Errorf("%w: unknown status key %.64q", errMalformed, key)
}

func (s *statusState) applyConnector(connector string, value []byte) error {
	if connector == "" {
		return fmt.Errorf("%w: connector status key without a name", errMalformed)
	}
	if value == nil {
		// Kafka forgets the connector's tasks' statuses with its own.
		delete(s.connectors, connector)
		delete(s.tasks, connector)
		return nil
	}
	st, err := decodeStatus(value)
	if err != nil {
		return fmt.Errorf("status of connector %s: %w", connector, err)
	}
	s.connectors[connector] = st
	return nil
}

func (s *statusState) applyTask(key string, value []byte) error {
	id, ok := parseTaskKey(key, 2)
	if !ok {
		return fmt.Errorf("%w: task status key %.64q", errMalformed, key)
	}
	if value == nil {
		delete(s.tasks[id.Connector], id.Task)
		if len(s.tasks[id.Connector]) == 0 {
			delete(s.tasks, id.Connector)
		}
		return nil
	}
	st, err := decodeStatus(value)
	if err != nil {
		return fmt.Errorf("status of task %s: %w", id, err)
	}
	current, ok := s.tasks[id.Connector][id.Task]
	// During rebalances a worker that has not yet read another's
	// RUNNING may report the task UNASSIGNED; Kafka keeps the RUNNING.
	if ok && st.State == StateUnassigned && current.State == StateRunning && current.Generation >= st.Generation {
		return nil
	}
	if s.tasks[id.Connector] == nil {
		s.tasks[id.Connector] = map[int]Status{}
	}
	s.tasks[id.Connector][id.Task] = st
	return nil
}

func (s *statusState) applyTopic(key string, value []byte) error {
	topic, connector, ok := parseTopicStatusKey(key)
	if !ok {
		return fmt.Errorf("%w: topic status key %.64q", errMalformed, key)
	}
	if value == nil {
		delete(s.topics[connector], topic)
		if len(s.topics[connector]) == 0 {
			delete(s.topics, connector)
		}
		return nil
	}
	st, err := decodeTopicStatus(value)
	if err != nil {
		return fmt.Errorf("status of topic %s of connector %s: %w", topic, connector, err)
	}
	if s.topics[connector] == nil {
		s.topics[connector] = map[string]TopicStatus{}
	}
	s.topics[connector][topic] = st
	return nil
}

// canWriteSafely is Kafka's putSafe rule: a status may replace the one
// read when there is none, when the same worker wrote it, or when it is
// of the same or a later generation.
func canWriteSafely(current Status, exists bool, next Status) bool {
	return !exists || current.WorkerID == next.WorkerID || current.Generation <= next.Generation
}
