// Package runtime runs Kafka Connect connectors written against the public
// package connect: the worker behind `fjord connect`.
//
// Parts, each in its own files:
//
//   - workerconfig.go: the worker's properties, with Kafka Connect's names.
//   - offsets.go: source offsets, by connector and source partition, in
//     Kafka Connect's key and value encoding; a JSON file in standalone
//     mode, the compacted offset.storage.topic in distributed mode.
//   - sourcetask.go: a source task's loop (Poll, transform, convert,
//     produce, commit offsets once the records are acknowledged, every
//     offset.flush.interval.ms).
//   - sinktask.go, sinkcommit.go, sinkcontext.go, sinkerrant.go: a sink
//     task's loop (consume as a member of group "connect-<connector>",
//     convert, transform, Put, then Flush or PreCommit and commit only
//     what was confirmed); kgo's rebalance callbacks hand partitions to the
//     task's goroutine and wait for it.
//   - errorhandling.go, dlq.go: errors.tolerance, retries with backoff and
//     the dead letter queue with Kafka's context headers.
//   - connectorconfig.go, connectorrun.go: the connector keys every
//     connector has, validation, converters, and starting and stopping a
//     connector and its tasks.
//   - standalone.go, standalone_offsets.go and (to come) the distributed
//     herder: the herders, which own connectors' configurations and target states
//     and run connectors and tasks on this worker: standalone (state in
//     memory and the offsets file) and distributed (configs and status in
//     topics, work shared by the group.id group with Kafka's connect
//     protocol); both serve the REST API of internal/connect/rest.
//
// Concurrency: each connector and each task has one goroutine that makes
// every call into it, as the connect package promises connector authors;
// the herder owns those goroutines and stops them through their contexts.
package runtime
