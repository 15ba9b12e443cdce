package kafkastore

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The config topic's record keys (Kafka's KafkaConfigBackingStore).
const (
	connectorPrefix   = "connector-"
	targetStatePrefix = "target-state-"
	taskPrefix        = "task-"
	commitPrefix      = "commit-"
	taskCountPrefix   = "tasks-fencing-"
	restartPrefix     = "restart-connector-"
	loggerPrefix      = "logger-cluster-"
	sessionKeyKey     = "session-key"
)

// TargetState is the state a connector is asked to be in.
type TargetState string

// The target states. Workers older than Kafka 3.5 know only the first
// two; a STOPPED connector is PAUSED to them.
const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

func (s TargetState) valid() bool {
	return s == TargetStarted || s == TargetPaused || s == TargetStopped
}

// TaskID names one task of a connector.
type TaskID struct {
	Connector string
	Task      int
}

func (id TaskID) String() string { return id.Connector + "-" + strconv.Itoa(id.Task) }

// SessionKey is the key workers sign their internal REST requests with
// (KIP-507), shared through the config topic by the group's leader.
type SessionKey struct {
	Key       []byte
	Algorithm string // a javax.crypto name, such as HmacSHA256
	Created   time.Time
}

// RestartRequest asks the worker running a connector to restart it
// (KIP-745).
type RestartRequest struct {
	Connector    string
	OnlyFailed   bool
	IncludeTasks bool
}

// The value records of the config topic, with Kafka's field names in
// its schemas' order.
type (
	propertiesValue struct {
		Properties map[string]string `json:"properties"`
	}
	commitValue struct {
		Tasks int32 `json:"tasks"`
	}
	targetStateValue struct {
		State   TargetState `json:"state"`
		StateV2 TargetState `json:"state.v2"`
	}
	taskCountValue struct {
		TaskCount int32 `json:"task-count"`
	}
	sessionKeyValue struct {
		Key               string `json:"key"`
		Algorithm         string `json:"algorithm"`
		CreationTimestamp int64  `json:"creation-timestamp"`
	}
	restartValue struct {
		IncludeTasks bool `json:"include-tasks"`
		OnlyFailed   bool `json:"only-failed"`
	}
	loggerLevelValue struct {
		Level string `json:"level"`
	}
)

func connectorKey(name string) []byte   { return []byte(connectorPrefix + name) }
func targetStateKey(name string) []byte { return []byte(targetStatePrefix + name) }
func taskKey(id TaskID) []byte          { return []byte(taskPrefix + id.String()) }
func commitKey(name string) []byte      { return []byte(commitPrefix + name) }

// encodeTargetState writes both fields, as Kafka 3.5 and later do: state
// for older workers (PAUSED for STOPPED, the nearest they know) and
// state.v2 for the others.
func encodeTargetState(s TargetState) ([]byte, error) {
	old := s
	if s == TargetStopped {
		old = TargetPaused
	}
	return marshalJSON(targetStateValue{State: old, StateV2: s})
}

// decodeTargetState reads state.v2 when it is a string and state
// otherwise, as Kafka does.
func decodeTargetState(b []byte) (TargetState, error) {
	o, err := decodeObject(b)
	if err != nil {
		return "", err
	}
	s, ok := o.str("state.v2")
	if !ok {
		if s, ok = o.str("state"); !ok {
			return "", fmt.Errorf("%w: no target state in %.64q", errMalformed, b)
		}
	}
	if !TargetState(s).valid() {
		return "", fmt.Errorf("%w: unknown target state %.32q", errMalformed, s)
	}
	return TargetState(s), nil
}

// decodeProperties reads a connector's or a task's configuration.
func decodeProperties(b []byte) (map[string]string, error) {
	o, err := decodeObject(b)
	if err != nil {
		return nil, err
	}
	return o.stringMap("properties")
}

// decodeCount reads the count of a commit record (field "tasks") or a
// task count record ("task-count"). Kafka reads any integer there; a
// negative count or one past int32 is refused here, as no connector can
// have it.
func decodeCount(b []byte, field string) (int, error) {
	o, err := decodeObject(b)
	if err != nil {
		return 0, err
	}
	n, ok := o.integer(field, 32)
	if !ok || n < 0 {
		return 0, fmt.Errorf("%w: %q is not a task count in %.64q", errMalformed, field, b)
	}
	return int(n), nil
}

func encodeSessionKey(k SessionKey) ([]byte, error) {
	return marshalJSON(sessionKeyValue{Key: base64.StdEncoding.EncodeToString(k.Key), Algorithm: k.Algorithm,
		CreationTimestamp: k.Created.UnixMilli()})
}

func decodeSessionKey(b []byte) (SessionKey, error) {
	o, err := decodeObject(b)
	if err != nil {
		return SessionKey{}, err
	}
	encoded, ok := o.str("key")
	algorithm, ok2 := o.str("algorithm")
	created, ok3 := o.integer("creation-timestamp", 64)
	if !ok || !ok2 || !ok3 {
		return SessionKey{}, fmt.Errorf("%w: session key %.64q", errMalformed, b)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return SessionKey{}, fmt.Errorf("%w: session key: %w", errMalformed, err)
	}
	return SessionKey{Key: key, Algorithm: algorithm, Created: time.UnixMilli(created)}, nil
}

// decodeRestart reads a restart request; a flag that is not a boolean is
// false, as Kafka defaults it.
func decodeRestart(connector string, b []byte) (RestartRequest, error) {
	o, err := decodeObject(b)
	if err != nil {
		return RestartRequest{}, err
	}
	onlyFailed, _ := o.boolean("only-failed")
	includeTasks, _ := o.boolean("include-tasks")
	return RestartRequest{Connector: connector, OnlyFailed: onlyFailed, IncludeTasks: includeTasks}, nil
}

func decodeLoggerLevel(b []byte) (string, error) {
	o, err := decodeObject(b)
	if err != nil {
		return "", err
	}
	level, ok := o.str("level")
	if !ok {
		return "", fmt.Errorf("%w: logger level %.64q", errMalformed, b)
	}
	return level, nil
}

// parseTaskKey splits the part after "task-" or "status-task-" into a
// connector and a task number the way Kafka does: split on '-' (Java's
// String.split, which drops trailing empty parts), the last part the
// number, the parts between the prefix and it the name.
func parseTaskKey(key string, prefixParts int) (TaskID, bool) {
	parts := strings.Split(key, "-")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) < prefixParts+2 {
		return TaskID{}, false
	}
	n, err := strconv.ParseInt(parts[len(parts)-1], 10, 32)
	if err != nil || n < 0 || n > math.MaxInt32 {
		return TaskID{}, false
	}
	return TaskID{Connector: strings.Join(parts[prefixParts:len(parts)-1], "-"), Task: int(n)}, true
}
