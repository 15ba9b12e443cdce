// Package workergroup is the group membership of distributed Kafka Connect
// workers: Kafka's Connect group protocol (protocol type "connect"), the
// incremental cooperative assignor of KIP-415, and a Member that takes part
// in a group through a broker's classic group coordinator.
//
// Parts, each in its own files:
//
//   - protocol.go, wire.go: the byte layouts of a worker's JoinGroup
//     metadata and of the leader's SyncGroup assignments, exactly as
//     Kafka's ConnectProtocol and IncrementalCooperativeConnectProtocol
//     write them. Decoders take untrusted bytes: every length is checked
//     against the bytes left before anything is allocated, and errors are
//     marked ErrMalformed.
//   - work.go, assignor.go, balance.go: Assign, the incremental
//     cooperative assignor, a pure function of the leader's memory
//     (LeaderState), the members' running work, the configured connectors
//     and a clock value; AssignEager, the eager protocol's assignor.
//   - member.go, join.go, stable.go, leader.go, transport.go: Member, the
//     thin driver that finds the coordinator, joins, assigns as leader,
//     syncs, heartbeats, and calls its owner back.
//
// Wire format. Kafka's Struct encoding: big-endian integers, a STRING is
// an int16 length then UTF-8 bytes, an array an int32 count (-1 for null
// where nullable) then its elements, NULLABLE_BYTES an int32 length (-1
// for null) then the bytes.
//
//	worker metadata (JoinGroup)          assignment (SyncGroup)
//	  version        int16                 version        int16
//	  url            string                error          int16   0 none, 1 config mismatch
//	  config offset  int64                 leader         string  member id
//	  allocation     nullable bytes  V1+   leader url     string
//	    = an assignment, V1/V2 header      config offset  int64
//	      (what the worker runs)           assigned       [connector assignment]
//	                                       revoked        [connector assignment]  V1+
//	connector assignment                   delay          int32 ms                V1+
//	  connector      string
//	  tasks          [int32]   -1 is the connector itself
//
// Protocol names are "default" (eager, V0), "compatible" (V1) and
// "sessioned" (V2); a member offers its connect.protocol and every older
// one, newest first, and the coordinator picks the newest all share.
//
// Concurrency. Run's goroutine owns the member's state and makes every
// callback. While the member is in a stable generation, a heartbeat
// goroutine sends heartbeats on a copy of the generation, so that they go
// on while callbacks run; Run starts it, and cancels and waits for it
// before doing anything else with the group. RequestRejoin only fills a
// one-slot channel and is safe from any goroutine.
package workergroup
