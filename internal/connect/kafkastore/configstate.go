package kafkastore

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ConfigChangeKind says what a config topic record changed.
type ConfigChangeKind int8

// The kinds of changes, as Kafka's ConfigBackingStore.UpdateListener
// hears them.
const (
	ConnectorConfigUpdated ConfigChangeKind = iota + 1
	ConnectorConfigRemoved
	TargetStateChanged
	TaskConfigsUpdated
	RestartRequested
	SessionKeyUpdated
	LoggerLevelChanged
)

// ConfigChange is one change a config topic record made.
type ConfigChange struct {
	Kind      ConfigChangeKind
	Connector string
	// Tasks are the tasks whose configs a commit applied
	// (TaskConfigsUpdated); empty when the commit found them incomplete.
	Tasks []TaskID
	// Restart is the request (RestartRequested).
	Restart RestartRequest
	// Namespace and Level are a logger's new level (LoggerLevelChanged).
	Namespace, Level string
}

// configState is the config topic applied record by record: Kafka's
// KafkaConfigBackingStore's rules, as a pure state machine (no clock, no
// I/O) that tests drive with records directly.
type configState struct {
	// offset is the offset after the last record read, -1 before any.
	offset     int64
	sessionKey *SessionKey

	connectorConfigs map[string]map[string]string
	targetStates     map[string]TargetState
	// taskConfigs are the applied configs; a connector whose task count
	// went down keeps its old tasks' here, as Kafka does, so readers go
	// by taskCounts.
	taskConfigs           map[TaskID]map[string]string
	taskCounts            map[string]int
	taskCountRecords      map[string]int
	taskConfigGenerations map[string]int
	appliedConfigs        map[string]map[string]string
	pendingFencing        map[string]bool
	inconsistent          map[string]bool
	// deferred are task configs read but not yet committed.
	deferred map[string]map[TaskID]map[string]string
}

func newConfigState() *configState {
	return &configState{
		offset:                -1,
		connectorConfigs:      map[string]map[string]string{},
		targetStates:          map[string]TargetState{},
		taskConfigs:           map[TaskID]map[string]string{},
		taskCounts:            map[string]int{},
		taskCountRecords:      map[string]int{},
		taskConfigGenerations: map[string]int{},
		appliedConfigs:        map[string]map[string]string{},
		pendingFencing:        map[string]bool{},
		inconsistent:          map[string]bool{},
		deferred:              map[string]map[TaskID]map[string]string{},
	}
}

// apply applies one record and returns what it changed; an error says
// why the record was skipped (it changed nothing but the offset).
func (s *configState) apply(r Record) ([]ConfigChange, error) {
	if r.Value != nil && !validJSON(r.Value) {
		// Kafka skips a value its converter cannot read before it
		// counts the record.
		return nil, fmt.Errorf("%w: value of %.64q is not JSON", errMalformed, r.Key)
	}
	s.offset = r.Offset + 1
	key := string(r.Key)
	switch {
	case r.Key == nil:
		return nil, fmt.Errorf("%w: record without a key at offset %d", errMalformed, r.Offset)
	case strings.HasPrefix(key, targetStatePrefix):
		return s.applyTargetState(key[len(targetStatePrefix):], r.Value)
	case strings.HasPrefix(key, connectorPrefix):
		return s.applyConnectorConfig(key[len(connectorPrefix):], r.Value)
	case strings.HasPrefix(key, taskPrefix):
		return nil, s.applyTaskConfig(key, r.Value)
	case strings.HasPrefix(key, commitPrefix):
		return s.applyCommit(key[len(commitPrefix):], r.Value)
	case strings.HasPrefix(key, restartPrefix):
		return s.applyRestart(key[len(restartPrefix):], r.Value)
	case strings.HasPrefix(key, taskCountPrefix):
		return nil, s.applyTaskCount(key[len(taskCountPrefix):], r.Value)
	case key == sessionKeyKey:
		return s.applySessionKey(r.Value)
	case strings.HasPrefix(key, loggerPrefix):
		return s.applyLoggerLevel(key[len(loggerPrefix):], r.Value)
	}
	return nil, fmt.Errorf("%w: unknown key %.64q", errMalformed, key)
}

func (s *configState) applyTargetState(connector string, value []byte) ([]ConfigChange, error) {
	if value == nil {
		// The tombstone written with a connector's; the connector's
		// own removal is what tells the herder.
		delete(s.targetStates, connector)
		if _, ok := s.connectorConfigs[connector]; ok {
			s.targetStates[connector] = TargetStarted
		}
		return nil, nil
	}
	state, err := decodeTargetState(value)
	if err != nil {
		return nil, fmt.Errorf("target state of connector %s: %w", connector, err)
	}
	previous, had := s.targetStates[connector]
	s.targetStates[connector] = state
	// A state written before its connector (an initial state) is news
	// only once the connector exists.
	if _, exists := s.connectorConfigs[connector]; !exists || had && previous == state {
		return nil, nil
	}
	return []ConfigChange{{Kind: TargetStateChanged, Connector: connector}}, nil
}

func (s *configState) applyConnectorConfig(connector string, value []byte) ([]ConfigChange, error) {
	if value == nil {
		s.removeConnector(connector)
		return []ConfigChange{{Kind: ConnectorConfigRemoved, Connector: connector}}, nil
	}
	props, err := decodeProperties(value)
	if err != nil {
		return nil, fmt.Errorf("config of connector %s: %w", connector, err)
	}
	s.connectorConfigs[connector] = props
	if _, ok := s.targetStates[connector]; !ok {
		s.targetStates[connector] = TargetStarted
	}
	return []ConfigChange{{Kind: ConnectorConfigUpdated, Connector: connector}}, nil
}

// removeConnector forgets a connector's configs; its target state goes
// with its own tombstone.
func (s *configState) removeConnector(connector string) {
	delete(s.connectorConfigs, connector)
	delete(s.taskCounts, connector)
	maps.DeleteFunc(s.taskConfigs, func(id TaskID, _ map[string]string) bool { return id.Connector == connector })
	delete(s.deferred, connector)
	delete(s.appliedConfigs, connector)
}

func (s *configState) applyTaskConfig(key string, value []byte) error {
	id, ok := parseTaskKey(key, 1)
	if !ok {
		return fmt.Errorf("%w: task config key %.64q", errMalformed, key)
	}
	if value == nil {
		return fmt.Errorf("%w: task %s config is null", errMalformed, id)
	}
	props, err := decodeProperties(value)
	if err != nil {
		return fmt.Errorf("config of task %s: %w", id, err)
	}
	if s.deferred[id.Connector] == nil {
		s.deferred[id.Connector] = map[TaskID]map[string]string{}
	}
	s.deferred[id.Connector][id] = props
	return nil
}

// applyCommit applies the task configs read since the last commit, if
// they are all there: compaction may have removed some, and then the
// connector is inconsistent until its tasks are written again.
func (s *configState) applyCommit(connector string, value []byte) ([]ConfigChange, error) {
	config, ok := s.connectorConfigs[connector]
	if !ok {
		// The connector was deleted and compaction took its records:
		// these tasks belong to nothing.
		s.removeConnector(connector)
		return nil, nil
	}
	if value == nil {
		return nil, fmt.Errorf("%w: task commit of connector %s is null", errMalformed, connector)
	}
	count, err := decodeCount(value, "tasks")
	if err != nil {
		return nil, fmt.Errorf("task commit of connector %s: %w", connector, err)
	}
	deferred := s.deferred[connector]
	var updated []TaskID
	if !completeTasks(deferred, count) {
		s.inconsistent[connector] = true
	} else {
		if deferred != nil {
			maps.Copy(s.taskConfigs, deferred)
			updated = slices.SortedFunc(maps.Keys(deferred), compareTaskIDs)
			if g, ok := s.taskConfigGenerations[connector]; ok {
				s.taskConfigGenerations[connector] = g + 1
			} else {
				s.taskConfigGenerations[connector] = 0
			}
		}
		delete(s.inconsistent, connector)
		s.appliedConfigs[connector] = config
	}
	delete(s.deferred, connector)
	s.taskCounts[connector] = count
	s.pendingFencing[connector] = true
	return []ConfigChange{{Kind: TaskConfigsUpdated, Connector: connector, Tasks: updated}}, nil
}

// completeTasks reports whether tasks 0 to count-1 all have a config.
// More is fine: after compaction, configs of tasks dropped by an earlier
// commit can still be there.
func completeTasks(configs map[TaskID]map[string]string, count int) bool {
	if len(configs) < count {
		return false
	}
	have := map[int]bool{}
	for id := range configs {
		have[id.Task] = true
	}
	for i := range count {
		if !have[i] {
			return false
		}
	}
	return true
}

func compareTaskIDs(a, b TaskID) int {
	if c := strings.Compare(a.Connector, b.Connector); c != 0 {
		return c
	}
	return a.Task - b.Task
}
