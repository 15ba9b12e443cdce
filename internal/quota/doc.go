// Package quota enforces Kafka's client quotas and connection limits: the
// byte-rate quotas of KIP-13/KIP-55, the request-time quota of KIP-124, the
// controller-mutation quota of KIP-599 and the connection limits of
// ConnectionQuotas (max.connections, max.connections.per.ip and its
// overrides, max.connection.creation.rate and the per-IP
// connection_creation_rate quota of KIP-612).
//
// # Model
//
// A Store holds the quota configs the metadata quorum replays
// (ClientQuotaRecord-like Records: an Entity, a Key, a value or a removal).
// It also plans AlterClientQuotas requests (PlanAlter validates each
// alteration as Kafka's controller does and returns the records to commit)
// and answers DescribeClientQuotas filters (Describe).
//
// A Manager measures what each client consumes and answers with a throttle
// time. For every record it resolves, with KIP-55's eight levels of
// user/client-id precedence, the quota that applies and the quota entity
// (the "metric tags" user and client-id) whose sensor carries the rate:
// clients that resolve to the same entity share one rate. Rates are Kafka's
// sampled rates (quota.window.num samples of quota.window.size.seconds) and
// a violation yields Kafka's throttle time, (observed-quota)/quota*window.
// Following KIP-219 the caller puts that time in the response's
// throttle_time_ms at once and mutes the channel for it. Controller
// mutations use a token bucket whose burst is quota*samples*window.
//
// ConnectionQuotas admits or refuses accepted sockets; it tells the accept
// loop to accept, to delay, to close (now or after a delay) or to wait for a
// free slot, and counts open connections until Release.
//
// # Time and goroutines
//
// Nothing here starts a goroutine or reads a clock: every call that depends
// on time takes now. Sensors idle for an hour (Kafka's sensor expiration)
// are dropped by Expire, which the owner calls from its ticker; each quota
// type also has a cap on live sensors (Config.MaxSensors) beyond which new
// quota entities share one overflow sensor per shard, so a flood of client
// ids cannot grow memory without bound before the next Expire.
//
// # Concurrency
//
// Store readers (every request) load an immutable table through an atomic
// pointer; writers (Apply) copy the table under Store.mu, so records should
// be applied in batches. Manager sensors live in shards, each a map behind
// its own mutex (sensorShard.mu); a record locks exactly one shard.
// ConnectionQuotas keeps all its state behind one mutex (ConnectionQuotas.mu)
// as Kafka does, and reads the Store without holding any other lock. No
// lock is held while another is taken, so there is no lock order.
package quota
