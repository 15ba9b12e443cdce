// Package kafkastore keeps a distributed Connect worker's state in Kafka
// topics, in Kafka Connect's own record formats, so that fjord's workers
// and Apache Kafka's Java workers can share a cluster's topics: the
// connector configurations (config.storage.topic), the connector and task
// statuses (status.storage.topic) and the source offsets
// (offset.storage.topic).
//
// # Model
//
// Each store is a cache of one compacted topic, rebuilt at start-up by
// reading the topic from its beginning and kept current by tailing it, as
// Kafka's KafkaBasedLog does. A write goes to the topic (acks=all,
// idempotent) and becomes visible in the cache only once it is read back,
// so every worker applies the same records in the same order.
// ReadToEnd is the barrier between the two: it returns once every record up
// to the end offsets of the moment of the call has been applied.
//
// The rules that turn records into state are pure functions and small
// state machines fed records (configstate.go, configworker.go,
// statusstate.go, and the codecs in configrecords.go, statusrecords.go and
// offsetkeys.go); Log (log.go, logops.go, topic.go) is the thin driver
// around them that owns the client and the goroutine.
//
// # Record formats
//
// Keys are UTF-8 strings (the offsets topic: JSON); values are JSON as
// Kafka's JsonConverter writes it with schemas.enable=false (struct fields
// in schema order, no spaces), and a null value (a tombstone) deletes.
//
//	config topic (exactly one partition)
//	  connector-<name>         {"properties":{"k":"v",...}}  null: removed
//	  target-state-<name>      {"state":"PAUSED","state.v2":"STOPPED"}
//	                           (state is STARTED or PAUSED for old workers)
//	  task-<name>-<n>          {"properties":{...}}  applied only by...
//	  commit-<name>            {"tasks":N}           ...this record
//	  tasks-fencing-<name>     {"task-count":N}
//	  session-key              {"key":"<base64>","algorithm":"HmacSHA256","creation-timestamp":ms}
//	  restart-connector-<name> {"include-tasks":bool,"only-failed":bool}
//	  logger-cluster-<ns>      {"level":"DEBUG"}
//
//	status topic (5 partitions by default)
//	  status-connector-<name>  {"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":N}
//	  status-task-<name>-<n>   same; null: the status is gone
//	  status-topic-<topic>:connector-<name>
//	                           {"topic":{"name":..,"connector":..,"task":N,"discoverTimestamp":ms}}
//
//	offsets topic (25 partitions by default)
//	  ["<connector>",{partition}]  {offset}  null: the offset is deleted
//
// # Limits
//
// Each store holds its whole topic's live records in memory, as Kafka's
// do; compaction is what bounds them. ReadToEnd counts the offsets of the
// records (and transaction markers) it reads: should the log end past the
// last batch the broker still serves, it waits until its context ends.
//
// # Concurrency
//
// A Log owns one kgo client and one goroutine, started by Start and
// stopped and joined by Close. That goroutine calls the Log's consumer
// function for every record, one at a time and in offset order within each
// partition; the stores apply records there, under the mutex that guards
// their cache, and call a ConfigStore's listener there too, after releasing
// it. Every other method may be called from any goroutine.
package kafkastore
