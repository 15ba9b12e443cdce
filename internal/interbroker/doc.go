// Package interbroker is the client one broker uses to call another over
// the Kafka protocol: the follower fetcher's Fetch and OffsetForLeaderEpoch,
// the transaction coordinator's WriteTxnMarkers, a partition leader's
// AddPartitionsToTxn.
//
// Model. A Conn is one TCP connection to a broker. Dial connects, sends
// ApiVersions and keeps, for each API both sides know, the highest version
// both serve; RoundTrip sends one request at that version, in Kafka's
// framing with kmsg's codecs, and reads its answer. A request that fails
// midway (a write or read error, a timeout, a cancelled context, a frame
// over the size limit, an answer that does not decode) may leave half a
// frame on the stream, so the Conn is then broken for good: every later
// call fails with ErrBroken and the caller dials again. A Pool keeps one
// Conn per broker id for callers that talk to many brokers, dialling on
// first use and again after a Conn broke, with the address the resolver
// (the metadata image) gives at that moment.
//
// Concurrency. A Conn serves one request at a time; callers may share it,
// and a caller waiting its turn leaves when its context ends. A Pool is
// safe for concurrent use and serializes the requests to each broker, as
// Kafka's inter-broker channels do (one in flight per connection). Neither
// starts goroutines of its own: a request runs on its caller's goroutine,
// and the context callback that unblocks its I/O has finished before
// RoundTrip returns. Close may be called at any time; it unblocks requests
// in flight.
package interbroker
