// Package store holds the byte-level state stores of the Streams library:
// a transactional key-value store (KIP-892) in memory or on pebble, window
// and session stores laid out over it in time segments, the changelog hook,
// and the application's state directory. Serdes, caching and the public
// store API live above it.
//
// # Transactions
//
// A KeyValue buffers the writes since its last Commit and shows them to its
// own reads (read-your-writes). Commit makes them durable atomically with a
// Checkpoint, the next changelog offset to restore from; Abort drops them.
// So under exactly-once the store never holds writes of a transaction that
// did not commit, and a restart restores only the changelog past the
// checkpoint, instead of wiping the store.
//
// The memory store keeps committed data and uncommitted writes in two
// skiplists. The pebble store keeps the uncommitted writes in an indexed
// batch that reads go through, and Commit applies the batch together with
// the checkpoint, synced; nothing reaches pebble between commits, so a crash
// leaves exactly the last commit.
//
// # Pebble layout
//
//	0x00 "format"       layout version: 0x01
//	0x00 "checkpoint"   0x01, then the offset, int64 BE
//	0x01 <user key>     the user's value
//
// User keys live under 0x01 and cannot collide with the store's own keys.
//
// # Window and session keys
//
// Window and session stores own a KeyValue each and write keys that sort by
// segment first, so that expiring the oldest windows is one range deletion:
//
//	window:   segment(start) | escaped key | 0x00 0x01 | start | [seq]
//	session:  segment(end)   | escaped key | 0x00 0x01 | end | start
//
//	segment   floor(t / segment interval), int64 BE with the sign bit flipped
//	key       the user key, each 0x00 written 0x00 0xFF
//	0x00 0x01 the key's terminator
//	start/end milliseconds, int64 BE with the sign bit flipped
//	seq       uint32 BE, with RetainDuplicates only: one more than the
//	          highest already stored under the same key and start
//
// Flipping the sign bit makes negative numbers sort before positive ones.
// The escaping keeps the order of user keys, and the terminator sorts below
// every escaped byte, so no key's entries fall inside another's even when
// one key is a prefix of the other. Segments go by window start and by
// session end: those are what retention and lookups bound.
//
// # Changelog
//
// A Logger receives every write as the exact key and value bytes written to
// the KeyValue, a nil value being a tombstone. Restoring any kind of store
// is therefore Restore(kv, key, value) on its raw KeyValue, and the window
// and session stores take their data's timing back from the keys. Expiry is
// not logged: the changelog topic has its own retention.
//
// # Concurrency
//
// A store, and a Window or Session over it, is used by one goroutine at a
// time: the task that owns it, or the thread restoring it. Nothing in them
// locks. Close may be called from another goroutine once the task has
// stopped using the store (the handover that stopped it orders the two).
// Pebble runs its own goroutines for flushes and compactions, which Close
// stops. A StateDir may be used from any goroutine: it locks for itself.
package store
