package kafkastore

import (
	"context"
	"fmt"
	"math"
)

// PutSessionKey writes the workers' session key and waits until the
// store has read it back. Only the group's leader writes it.
func (s *ConfigStore) PutSessionKey(ctx context.Context, key SessionKey) error {
	value, err := encodeSessionKey(key)
	if err != nil {
		return fmt.Errorf("session key: %w", err)
	}
	return s.writeAndRead(ctx, "session key", []KeyValue{{Key: []byte(sessionKeyKey), Value: value}})
}

// PutTaskCountRecord writes how many tasks of a connector the latest
// exactly-once fencing covered, and waits until the store has read it.
func (s *ConfigStore) PutTaskCountRecord(ctx context.Context, connector string, count int) error {
	if count < 0 || count > math.MaxInt32 {
		return fmt.Errorf("task count of connector %s: %d is out of range", connector, count)
	}
	value, err := marshalJSON(taskCountValue{TaskCount: int32(count)})
	if err != nil {
		return fmt.Errorf("task count of connector %s: %w", connector, err)
	}
	return s.writeAndRead(ctx, "task count of connector "+connector,
		[]KeyValue{{Key: []byte(taskCountPrefix + connector), Value: value}})
}

// PutRestartRequest writes a restart request, which the worker running
// the connector hears of through its listener, and waits until the store
// has read it.
func (s *ConfigStore) PutRestartRequest(ctx context.Context, req RestartRequest) error {
	value, err := marshalJSON(restartValue{IncludeTasks: req.IncludeTasks, OnlyFailed: req.OnlyFailed})
	if err != nil {
		return fmt.Errorf("restart request of connector %s: %w", req.Connector, err)
	}
	return s.writeAndRead(ctx, "restart request of connector "+req.Connector,
		[]KeyValue{{Key: []byte(restartPrefix + req.Connector), Value: value}})
}

// PutLoggerLevel writes a logger level for every worker of the cluster
// (KIP-976) and returns once it is acknowledged.
func (s *ConfigStore) PutLoggerLevel(ctx context.Context, namespace, level string) error {
	value, err := marshalJSON(loggerLevelValue{Level: level})
	if err != nil {
		return fmt.Errorf("level of logger %s: %w", namespace, err)
	}
	if _, err := s.log.SendAll(ctx, []KeyValue{{Key: []byte(loggerPrefix + namespace), Value: value}}); err != nil {
		return fmt.Errorf("level of logger %s: %w", namespace, err)
	}
	return nil
}
