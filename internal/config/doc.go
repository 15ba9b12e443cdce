// Package config defines fjord's broker and topic configuration with Kafka's
// names, types, defaults and validation rules, reads Java-style .properties
// files, and resolves the effective configuration of a topic.
//
// Model. A configuration is a map from Kafka config name to its string value,
// exactly as a client sends it in CreateTopics, AlterConfigs or
// IncrementalAlterConfigs and as an operator writes it in a properties file.
// Typed views (Broker, Topic) are derived from such maps and never stored.
// A topic's effective value is chosen in Kafka's order:
//
//	topic override (DynamicTopic)
//	> per-broker dynamic value of the broker synonym (DynamicBroker)
//	> cluster-wide dynamic value of the broker synonym (DynamicDefaultBroker)
//	> static broker property of the synonym (StaticBroker)
//	> the built-in default (Default)
//
// where a topic config may have several broker synonyms in precedence order
// (retention.ms <- log.retention.ms, log.retention.minutes, log.retention.hours),
// each converted to the topic's unit.
//
// fjord differs from Kafka on purpose in one default: flush.messages (and its
// broker synonym log.flush.interval.messages) defaults to 1, so a produce is
// acknowledged only after its bytes are fsynced (DESIGN.md decision 4).
//
// Concurrency. The package holds no mutable state: the definition tables are
// built by functions on each call, and every function is safe for concurrent
// use. Callers own the maps they pass in; functions never modify them.
package config
