// Package connect is the connector API of fjord's Kafka Connect-compatible
// worker: what a connector written in Go implements and uses. It follows
// Kafka Connect's Java API (org.apache.kafka.connect.*) in its model, names
// and formats, so that connectors, configurations and tools carry over.
//
// # Model
//
// Data is Kafka Connect's: a value has a Schema (a Type, optional or
// required, a default, a name and version, parameters; fields for a
// struct, key and value schemas for a map, an element schema for an
// array), and each schema type has exactly one Go type (see ValidateValue):
// int8 to int64, float32, float64, bool, string, []byte, []any,
// map[any]any and *Struct, plus Decimal and time.Time for Kafka's logical
// types Decimal, Date, Time and Timestamp. Schemas are built with
// SchemaBuilder and immutable; a nil schema means schemaless data.
//
// A source connector's tasks read an external system and return
// SourceRecords, each with a source partition and offset that the worker
// commits and gives back after a restart. A sink connector's tasks receive
// SinkRecords read from Kafka and write them out; the worker commits the
// consumer offsets once the task has flushed. Converters (the Converter
// interface; the standard ones are in package converters) turn keys and
// values between Kafka's bytes and this data model, as key.converter and
// value.converter configure.
//
// # Writing a connector
//
// Implement SourceConnector and SourceTask, or SinkConnector and SinkTask:
//
//   - Connector.Config returns a ConfigDef: the configuration keys, their
//     types, defaults, validators and documentation. The worker validates a
//     configuration against it (ConfigDef.Validate) before Start, and
//     answers PUT /connector-plugins/{type}/config/validate with it
//     (NewConfigInfos). Parse it in Start to get typed values.
//   - Connector.TaskConfigs splits the work into at most maxTasks task
//     configurations; the worker starts a task for each.
//   - SourceTask.Poll returns records, or nil after waiting briefly when
//     there are none; SinkTask.Put writes records and Flush makes them
//     durable before offsets are committed.
//   - Optional interfaces add Kafka's other hooks: ConnectorValidator,
//     ExactlyOnceSupporter and TransactionBoundaryDefiner (KIP-618),
//     SourceOffsetAlterer and SinkOffsetAlterer (KIP-875), Committer and
//     RecordCommitter for source tasks, PreCommitter and
//     PartitionOpenCloser for sink tasks.
//   - Return a RetriableError (Retriable(err)) for failures that a retry
//     may cure; any other error fails the task, as in Kafka.
//
// Connectors run inside the worker's process, compiled in: a program
// creates a Registry, registers each connector with its Kafka-style class
// name and a factory, and hands the registry to the worker, which finds
// connectors by the connector.class of their configuration (class name or
// alias) and lists them in GET /connector-plugins:
//
//	plugins := connect.NewRegistry()
//	err := plugins.Register(connect.Plugin{
//		Class: "com.example.CounterConnector", // alias "Counter" comes free
//		New:   func() connect.Connector { return &CounterConnector{} },
//	})
//
// Package worker (github.com/fjordhq/fjord/connect/worker) takes the
// registry and runs the worker: `fjord connect` is that package with
// fjord's built-in connectors (package file, and more to come) and Kafka's
// single message transforms (package transforms). The runnable example
// shows a connector run by hand.
//
// # Transformations
//
// Transformations and Predicates (Kafka's single message transforms) see a
// Record, the part of a SourceRecord or SinkRecord they may change; the
// worker builds a connector's Chain from its "transforms" and "predicates"
// configuration (Registry.NewChain) and validates their keys with the
// connector's (Registry.EnrichConfigDef).
//
// # Concurrency
//
// The worker calls a connector's Start, TaskConfigs and Stop from one
// goroutine, and each task's methods from one goroutine, one call at a
// time: connectors and tasks need no locks unless they start goroutines of
// their own. To stop a task the worker cancels the context of the call in
// progress (Poll, Put...) and calls Stop after it returns. The contexts the
// worker passes (ConnectorContext, SourceTaskContext, SinkTaskContext) are
// safe for use from any goroutine. Schemas, ConfigDefs after definition,
// Configs and Registries are safe for concurrent use; a Struct is not safe
// for concurrent writes.
//
// # Compatibility
//
// Names and formats are Kafka's: schema type names, logical type names and
// encodings, configuration types and the messages of their errors, the JSON
// of the REST API's validation and plugin answers. Where fjord is stricter
// than Kafka it says so (ValidateValue checks a Decimal's scale and a
// Date's time of day when a value is set, not when it is written; struct
// schemas take no default, which Kafka cannot use either). Nothing in the
// package holds global mutable state.
package connect
