package storage

import (
	"hash/maphash"
)

// offsetMapEntryBytes is what one key costs the offset map: a 16-byte key
// digest and an 8-byte offset, plus the Go map's own overhead (buckets,
// control bytes, load factor), which roughly doubles it. The dedupe buffer
// budget is divided by it, so the budget bounds real memory, not just the
// payload.
const offsetMapEntryBytes = 48

// DefaultDedupeBufferBytes is fjord's default for
// log.cleaner.dedupe.buffer.size: Kafka uses 128 MiB shared by its cleaner
// threads; one cleaner on a small broker does well with 32 MiB (about
// 700,000 keys per pass). Logs with more keys are cleaned in several passes.
const DefaultDedupeBufferBytes = 32 << 20

// minDedupeBufferBytes keeps at least a few keys per pass, so every pass
// makes progress.
const minDedupeBufferBytes = 1024

// offsetMap is Kafka's SkimpyOffsetMap: key digest -> offset of the latest
// record with that key in the part of the log the map covers. Keys are
// stored as 128-bit digests, so memory per key is fixed whatever the key's
// size; two keys sharing a digest (odds about 2^-128 per pair) would lose
// the older one's latest value, the risk Kafka accepts with MD5.
//
// An offsetMap is used by one cleaning pass on one goroutine.
type offsetMap struct {
	seeds      [2]maphash.Seed
	offsets    map[[2]uint64]Offset
	maxEntries int
}

func newOffsetMap(budgetBytes int64) *offsetMap {
	budgetBytes = max(budgetBytes, minDedupeBufferBytes)
	return &offsetMap{
		seeds:      [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		offsets:    make(map[[2]uint64]Offset),
		maxEntries: int(budgetBytes / offsetMapEntryBytes),
	}
}

func (m *offsetMap) digest(key []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(m.seeds[0], key), maphash.Bytes(m.seeds[1], key)}
}

// fits reports whether n more keys surely fit; an empty map takes anything
// (at least one batch per pass, so a pass always makes progress).
func (m *offsetMap) fits(n int) bool {
	return len(m.offsets) == 0 || len(m.offsets)+n <= m.maxEntries
}

// put records offset as the latest for key; offsets come in increasing
// order.
func (m *offsetMap) put(key []byte, offset Offset) { m.offsets[m.digest(key)] = offset }

// latest returns the latest offset recorded for key.
func (m *offsetMap) latest(key []byte) (Offset, bool) {
	o, ok := m.offsets[m.digest(key)]
	return o, ok
}

func (m *offsetMap) len() int { return len(m.offsets) }
