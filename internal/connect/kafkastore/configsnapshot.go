package kafkastore

import (
	"maps"
	"slices"
)

// ConfigSnapshot is the config topic as applied up to Offset: Kafka's
// ClusterConfigState. It is a deep copy, the caller's to keep and change.
type ConfigSnapshot struct {
	// Offset is the offset after the last record read, -1 before any:
	// Kafka's config offset, which workers compare in the group protocol
	// to know they have read the same configs.
	Offset     int64
	SessionKey *SessionKey

	// ConnectorConfigs are the connectors' configurations, by name.
	ConnectorConfigs map[string]map[string]string
	// TargetStates are the connectors' target states, STARTED when a
	// connector has none. A state may be there before its connector.
	TargetStates map[string]TargetState
	// TaskConfigs are, by connector, the committed configs of tasks 0 to
	// TaskCounts-1; connectors listed in Inconsistent have none.
	TaskConfigs map[string][]map[string]string
	// TaskCounts are the task counts of the connectors' last commits.
	TaskCounts map[string]int
	// TaskCountRecords are the task counts of the last exactly-once
	// fencing of each connector (tasks-fencing-<name>).
	TaskCountRecords map[string]int
	// TaskConfigGenerations count, from 0, the commits that applied
	// task configs for each connector.
	TaskConfigGenerations map[string]int
	// AppliedConnectorConfigs are the connector configs in force when
	// each connector's task configs were last committed.
	AppliedConnectorConfigs map[string]map[string]string
	// PendingFencing are connectors whose task configs were committed
	// after their last fencing.
	PendingFencing map[string]bool
	// Inconsistent are connectors whose last commit found task configs
	// missing (compaction removed them): their tasks must be written
	// again before they run.
	Inconsistent map[string]bool
}

// snapshot copies the state.
func (s *configState) snapshot() ConfigSnapshot {
	out := ConfigSnapshot{
		Offset:                  s.offset,
		ConnectorConfigs:        cloneConfigs(s.connectorConfigs),
		TargetStates:            maps.Clone(s.targetStates),
		TaskConfigs:             map[string][]map[string]string{},
		TaskCounts:              maps.Clone(s.taskCounts),
		TaskCountRecords:        maps.Clone(s.taskCountRecords),
		TaskConfigGenerations:   maps.Clone(s.taskConfigGenerations),
		AppliedConnectorConfigs: cloneConfigs(s.appliedConfigs),
		PendingFencing:          maps.Clone(s.pendingFencing),
		Inconsistent:            maps.Clone(s.inconsistent),
	}
	if s.sessionKey != nil {
		key := *s.sessionKey
		key.Key = slices.Clone(key.Key)
		out.SessionKey = &key
	}
	for connector, count := range s.taskCounts {
		if s.inconsistent[connector] {
			continue
		}
		tasks := make([]map[string]string, count)
		for i := range count {
			tasks[i] = maps.Clone(s.taskConfigs[TaskID{Connector: connector, Task: i}])
		}
		out.TaskConfigs[connector] = tasks
	}
	return out
}

func cloneConfigs(in map[string]map[string]string) map[string]map[string]string {
	out := make(map[string]map[string]string, len(in))
	for k, v := range in {
		out[k] = maps.Clone(v)
	}
	return out
}
