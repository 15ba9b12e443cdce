package kafkastore

import (
	"encoding/json"
	"fmt"
)

// This file holds the config topic records that concern the workers
// rather than one connector's configuration: restart requests, exactly-
// once task counts (KIP-618), the session key and logger levels.

func (s *configState) applyRestart(connector string, value []byte) ([]ConfigChange, error) {
	if value == nil {
		return nil, fmt.Errorf("%w: restart request of connector %s is null", errMalformed, connector)
	}
	req, err := decodeRestart(connector, value)
	if err != nil {
		return nil, fmt.Errorf("restart request of connector %s: %w", connector, err)
	}
	return []ConfigChange{{Kind: RestartRequested, Connector: connector, Restart: req}}, nil
}

// applyTaskCount records how many tasks a connector's exactly-once
// fencing covered: once it is written after the connector's latest task
// configs, they need no new round of fencing.
func (s *configState) applyTaskCount(connector string, value []byte) error {
	if value == nil {
		return fmt.Errorf("%w: task count of connector %s is null", errMalformed, connector)
	}
	count, err := decodeCount(value, "task-count")
	if err != nil {
		return fmt.Errorf("task count of connector %s: %w", connector, err)
	}
	s.taskCountRecords[connector] = count
	delete(s.pendingFencing, connector)
	return nil
}

func (s *configState) applySessionKey(value []byte) ([]ConfigChange, error) {
	if value == nil {
		return nil, fmt.Errorf("%w: session key is null", errMalformed)
	}
	key, err := decodeSessionKey(value)
	if err != nil {
		return nil, err
	}
	s.sessionKey = &key
	return []ConfigChange{{Kind: SessionKeyUpdated}}, nil
}

// applyLoggerLevel passes a level on: Kafka keeps no logger state from
// the topic, each worker applies levels as they come.
func (s *configState) applyLoggerLevel(namespace string, value []byte) ([]ConfigChange, error) {
	if value == nil {
		return nil, fmt.Errorf("%w: level of logger %s is null", errMalformed, namespace)
	}
	level, err := decodeLoggerLevel(value)
	if err != nil {
		return nil, fmt.Errorf("level of logger %s: %w", namespace, err)
	}
	return []ConfigChange{{Kind: LoggerLevelChanged, Namespace: namespace, Level: level}}, nil
}

func validJSON(b []byte) bool { return json.Valid(b) }
