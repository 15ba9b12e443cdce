package kafkastore

import (
	"fmt"
	"strings"
	"time"
)

// The status topic's record keys (Kafka's KafkaStatusBackingStore).
const (
	connectorStatusPrefix = "status-connector-"
	taskStatusPrefix      = "status-task-"
	topicStatusPrefix     = "status-topic-"
	topicStatusSeparator  = ":connector-"
)

// StatusState is a connector's or a task's state, with Kafka's names.
type StatusState string

// The states (Kafka's AbstractStatus.State). DESTROYED is never kept:
// writing it writes a tombstone.
const (
	StateUnassigned StatusState = "UNASSIGNED"
	StateRunning    StatusState = "RUNNING"
	StatePaused     StatusState = "PAUSED"
	StateFailed     StatusState = "FAILED"
	StateDestroyed  StatusState = "DESTROYED"
	StateRestarting StatusState = "RESTARTING"
	StateStopped    StatusState = "STOPPED"
)

func (s StatusState) valid() bool {
	switch s {
	case StateUnassigned, StateRunning, StatePaused, StateFailed, StateDestroyed, StateRestarting, StateStopped:
		return true
	}
	return false
}

// Status is the state of a connector or a task as a worker reported it.
type Status struct {
	State StatusState
	// Trace is the failure's stack trace, "" when there is none.
	Trace string
	// WorkerID is the reporting worker's host:port.
	WorkerID string
	// Generation is the worker group's generation at the time of the
	// report: a later generation's report wins a conflict.
	Generation int32
}

// TaskStatus is a task's status.
type TaskStatus struct {
	ID TaskID
	Status
}

// TopicStatus records that a connector's task used a topic (KIP-558).
type TopicStatus struct {
	Topic     string
	Connector string
	Task      int32
	// Discovered is when the task first used the topic.
	Discovered time.Time
}

// statusValue is a status record's value; Trace is null when empty.
type statusValue struct {
	State      StatusState `json:"state"`
	Trace      *string     `json:"trace"`
	WorkerID   string      `json:"worker_id"`
	Generation int32       `json:"generation"`
}

type topicStatusValue struct {
	Topic topicStatusFields `json:"topic"`
}

type topicStatusFields struct {
	Name              string `json:"name"`
	Connector         string `json:"connector"`
	Task              int32  `json:"task"`
	DiscoverTimestamp int64  `json:"discoverTimestamp"`
}

func connectorStatusKey(connector string) []byte { return []byte(connectorStatusPrefix + connector) }
func taskStatusKey(id TaskID) []byte             { return []byte(taskStatusPrefix + id.String()) }
func topicStatusKey(connector, topic string) []byte {
	return []byte(topicStatusPrefix + topic + topicStatusSeparator + connector)
}

// encodeStatus returns a status record's value: nil (a tombstone) for
// DESTROYED, as Kafka writes it.
func encodeStatus(st Status) ([]byte, error) {
	if st.State == StateDestroyed {
		return nil, nil
	}
	v := statusValue{State: st.State, WorkerID: st.WorkerID, Generation: st.Generation}
	if st.Trace != "" {
		v.Trace = &st.Trace
	}
	return marshalJSON(v)
}

// decodeStatus reads a status value as Kafka does: state a known name,
// trace and worker_id strings or null, generation an integer.
func decodeStatus(b []byte) (Status, error) {
	o, err := decodeObject(b)
	if err != nil {
		return Status{}, err
	}
	state, ok := o.str("state")
	if !ok || !StatusState(state).valid() {
		return Status{}, fmt.Errorf("%w: status state in %.64q", errMalformed, b)
	}
	generation, ok := o.integer("generation", 32)
	if !ok {
		return Status{}, fmt.Errorf("%w: status generation in %.64q", errMalformed, b)
	}
	st := Status{State: StatusState(state), Generation: int32(generation)}
	for field, to := range map[string]*string{"trace": &st.Trace, "worker_id": &st.WorkerID} {
		if o.isNull(field) {
			continue
		}
		if *to, ok = o.str(field); !ok {
			return Status{}, fmt.Errorf("%w: status %s in %.64q", errMalformed, field, b)
		}
	}
	return st, nil
}

func encodeTopicStatus(t TopicStatus) ([]byte, error) {
	return marshalJSON(topicStatusValue{Topic: topicStatusFields{Name: t.Topic, Connector: t.Connector, Task: t.Task,
		DiscoverTimestamp: t.Discovered.UnixMilli()}})
}

func decodeTopicStatus(b []byte) (TopicStatus, error) {
	o, err := decodeObject(b)
	if err != nil {
		return TopicStatus{}, err
	}
	raw, ok := o["topic"]
	if !ok {
		return TopicStatus{}, fmt.Errorf("%w: no topic in topic status %.64q", errMalformed, b)
	}
	inner, err := decodeObject(raw)
	if err != nil {
		return TopicStatus{}, fmt.Errorf("topic status: %w", err)
	}
	task, ok := inner.integer("task", 32)
	discovered, ok2 := inner.integer("discoverTimestamp", 64)
	name, ok3 := inner.str("name")
	connector, ok4 := inner.str("connector")
	if !ok || !ok2 || !(ok3 || inner.isNull("name")) || !(ok4 || inner.isNull("connector")) {
		return TopicStatus{}, fmt.Errorf("%w: topic status %.64q", errMalformed, b)
	}
	return TopicStatus{Topic: name, Connector: connector, Task: int32(task), Discovered: time.UnixMilli(discovered)}, nil
}

// parseTopicStatusKey splits status-topic-<topic>:connector-<name>. As
// in Kafka, the topic ends at the first ':', which no topic name has.
func parseTopicStatusKey(key string) (topic, connector string, ok bool) {
	rest := strings.TrimPrefix(key, topicStatusPrefix)
	topic, connector, found := strings.Cut(rest, ":")
	if !found || topic == "" || !strings.HasPrefix(":"+connector, topicStatusSeparator) {
		return "", "", false
	}
	if connector = connector[len(topicStatusSeparator)-1:]; connector == "" {
		return "", "", false
	}
	return topic, connector, true
}
