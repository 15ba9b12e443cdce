package streams

// tableCache holds a DSL store's latest updates between commits so that
// each key is written to the store and its changelog, and forwarded, once per
// commit with its latest value (Kafka's record cache). With caching off a
// DSL operator writes and forwards every update at once.
//
// It is keyed by the serialized key; entries flush in the order of their
// last update (as Kafka's cache, whose entries move to the end when
// written), and all of them flush when the cache outgrows its byte bound.
type tableCache[K, V any] struct {
	entries  map[string]*cacheEntry[K, V]
	order    []string
	bytes    int64
	maxBytes int64
}

type cacheEntry[K, V any] struct {
	key     K
	value   ValueAndTimestamp[V]
	deleted bool
	// old is the store's value before the first update since the last
	// flush: what the flushed change replaces.
	old    ValueAndTimestamp[V]
	hasOld bool
	// last is the entry's latest position in order; earlier positions of
	// the same key are skipped when draining.
	last int
}

// cacheEntryOverheadBytes estimates an entry's memory beside its key.
const cacheEntryOverheadBytes = 96

func newTableCache[K, V any](maxBytes int64) *tableCache[K, V] {
	return &tableCache[K, V]{entries: make(map[string]*cacheEntry[K, V]), maxBytes: maxBytes}
}

func (c *tableCache[K, V]) get(rawKey []byte) (*cacheEntry[K, V], bool) {
	e, ok := c.entries[string(rawKey)]
	return e, ok
}

// put records an update; old and hasOld say what the store held, and are
// kept only for the first update since the last flush.
func (c *tableCache[K, V]) put(rawKey []byte, key K, value ValueAndTimestamp[V], deleted bool, old ValueAndTimestamp[V], hasOld bool) {
	if e, ok := c.entries[string(rawKey)]; ok {
		e.value, e.deleted = value, deleted
		e.last = len(c.order)
		c.order = append(c.order, string(rawKey))
		return
	}
	k := string(rawKey)
	c.entries[k] = &cacheEntry[K, V]{key: key, value: value, deleted: deleted, old: old, hasOld: hasOld, last: len(c.order)}
	c.order = append(c.order, k)
	c.bytes += int64(len(k)) + cacheEntryOverheadBytes
}

func (c *tableCache[K, V]) full() bool { return c.bytes > c.maxBytes }

// drain hands every entry to fn in order and empties the cache.
func (c *tableCache[K, V]) drain(fn func(rawKey []byte, e *cacheEntry[K, V])) {
	order := c.order
	c.order = nil
	for i, k := range order {
		e := c.entries[k]
		if e == nil || e.last != i {
			continue
		}
		delete(c.entries, k)
		fn([]byte(k), e)
	}
	c.bytes = 0
}
