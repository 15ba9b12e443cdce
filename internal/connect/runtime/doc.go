// Package runtime runs Kafka Connect connectors written against the public
// package connect: the worker behind `fjord connect`.
//
// Parts, each in its own files:
//
//   - workerconfig.go: the worker's properties, with Kafka Connect's names.
//   - offsets.go: source offsets, by connector and source partition, in
//     Kafka Connect's key and value encoding; a JSON file in standalone
//     mode, the compacted offset.storage.topic in distributed mode.
//   - the task runners: a source task's loop (Poll, convert, transform,
//     produce, commit offsets once the records are acknowledged, every
//     offset.flush.interval.ms) and a sink task's (consume as member
//     "connect-<connector>" of a consumer group, transform, convert, Put,
//     Flush, commit), with errors.tolerance, retries and the dead letter
//     queue.
//   - the herders, which own connectors' configurations and target states
//     and run connectors and tasks on this worker: standalone (state in
//     memory and the offsets file) and distributed (configs and status in
//     topics, work shared by the group.id group with Kafka's connect
//     protocol); both serve the REST API of internal/connect/rest.
//
// Concurrency: each connector and each task has one goroutine that makes
// every call into it, as the connect package promises connector authors;
// the herder owns those goroutines and stops them through their contexts.
package runtime
