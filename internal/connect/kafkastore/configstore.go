package kafkastore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// StoreOptions configure a store's topic and clients.
type StoreOptions struct {
	Topic TopicSpec
	// ClientOpts are the seed brokers, TLS, SASL and client id; see
	// LogOptions.ClientOpts.
	ClientOpts []kgo.Opt
	// Logger gets the records the store skips; nil discards them.
	Logger *slog.Logger
}

// ConfigStore keeps connector configurations, target states and task
// configurations in the config topic (config.storage.topic), as Kafka's
// KafkaConfigBackingStore: one partition, so that every worker applies
// the same records in the same order.
type ConfigStore struct {
	storeLog
	listener func(ConfigChange)

	mu struct {
		sync.Mutex
		state *configState
		// started is set once Start has read the topic: changes read
		// before are in the first snapshot and not told to the listener.
		started bool
	}
}

// NewConfigStore returns a store of options.Topic (whose Partitions are
// ignored: the config topic has one). listener, which may be nil, hears
// of each change read after Start returned, on the log's goroutine, in
// topic order; it must return quickly and must not call the store's
// methods that wait (ReadToEnd and the Puts), but may take a Snapshot.
func NewConfigStore(options StoreOptions, listener func(ConfigChange)) *ConfigStore {
	s := &ConfigStore{listener: listener}
	s.mu.state = newConfigState()
	s.storeLog = newStoreLog("config store", LogOptions{Topic: options.Topic, SinglePartition: true,
		Setting: "config.storage.topic", Purpose: "connector configurations", ClientOpts: options.ClientOpts,
		Logger: options.Logger}, s.consume)
	return s
}

// Start creates or checks the topic and reads it to its end.
func (s *ConfigStore) Start(ctx context.Context) error {
	if err := s.storeLog.Start(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.mu.started = true
	s.mu.Unlock()
	return nil
}

// Snapshot returns the configurations applied so far.
func (s *ConfigStore) Snapshot() ConfigSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.state.snapshot()
}

// consume applies a record; it runs on the log's goroutine.
func (s *ConfigStore) consume(r Record) {
	s.mu.Lock()
	changes, err := s.mu.state.apply(r)
	notify := s.mu.started && s.listener != nil
	s.mu.Unlock()
	if err != nil {
		s.logger.Warn("kafkastore: skipping config record", "offset", r.Offset, "error", err)
	}
	if notify {
		for _, c := range changes {
			s.listener(c)
		}
	}
}

// PutConnectorConfig writes a connector's configuration, and first its
// target state unless initial is empty (a connector without one starts),
// then waits until the store has read them back.
func (s *ConfigStore) PutConnectorConfig(ctx context.Context, connector string, config map[string]string, initial TargetState) error {
	value, err := marshalJSON(propertiesValue{Properties: config})
	if err != nil {
		return fmt.Errorf("config of connector %s: %w", connector, err)
	}
	var records []KeyValue
	if initial != "" {
		state, err := s.targetStateRecord(connector, initial)
		if err != nil {
			return err
		}
		records = append(records, state)
	}
	records = append(records, KeyValue{Key: connectorKey(connector), Value: value})
	return s.writeAndRead(ctx, "config of connector "+connector, records)
}

// RemoveConnectorConfig writes the tombstones of a connector's
// configuration and target state, as Kafka does, and waits until the
// store has read them back. Its task configs go with it.
func (s *ConfigStore) RemoveConnectorConfig(ctx context.Context, connector string) error {
	return s.writeAndRead(ctx, "removal of connector "+connector, []KeyValue{
		{Key: connectorKey(connector)}, {Key: targetStateKey(connector)}})
}

// PutTaskConfigs writes a connector's task configurations and then the
// commit record that applies them, as Kafka does: readers keep task
// configs aside until the commit arrives, so none applies half of them.
func (s *ConfigStore) PutTaskConfigs(ctx context.Context, connector string, configs []map[string]string) error {
	what := "task configs of connector " + connector
	// Kafka reads to the end first: the writer should be the only one,
	// but must not lag behind records it has not applied.
	if err := s.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	records := make([]KeyValue, len(configs))
	for i, config := range configs {
		value, err := marshalJSON(propertiesValue{Properties: config})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		records[i] = KeyValue{Key: taskKey(TaskID{Connector: connector, Task: i}), Value: value}
	}
	if len(records) > 0 {
		if err := s.writeAndRead(ctx, what, records); err != nil {
			return err
		}
	}
	commit, err := marshalJSON(commitValue{Tasks: int32(len(configs))})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return s.writeAndRead(ctx, what, []KeyValue{{Key: commitKey(connector), Value: commit}})
}

// PutTargetState writes a connector's target state and returns once it
// is acknowledged; as in Kafka it is applied when read back.
func (s *ConfigStore) PutTargetState(ctx context.Context, connector string, state TargetState) error {
	record, err := s.targetStateRecord(connector, state)
	if err != nil {
		return err
	}
	if _, err := s.log.SendAll(ctx, []KeyValue{record}); err != nil {
		return fmt.Errorf("target state of connector %s: %w", connector, err)
	}
	return nil
}

func (s *ConfigStore) targetStateRecord(connector string, state TargetState) (KeyValue, error) {
	if !state.valid() {
		return KeyValue{}, fmt.Errorf("target state of connector %s: unknown state %q", connector, state)
	}
	value, err := encodeTargetState(state)
	if err != nil {
		return KeyValue{}, fmt.Errorf("target state of connector %s: %w", connector, err)
	}
	return KeyValue{Key: targetStateKey(connector), Value: value}, nil
}

// writeAndRead writes records, waits for their acknowledgement, then
// reads the topic to its end so that the store reflects them.
func (s *ConfigStore) writeAndRead(ctx context.Context, what string, records []KeyValue) error {
	if _, err := s.log.SendAll(ctx, records); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := s.log.ReadToEnd(ctx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
