package store

import (
	"bytes"
	"unsafe"
)

// skipMaxHeight bounds the towers: with a quarter of the nodes reaching
// each next level, 16 levels keep searches logarithmic up to 4^16 (about
// four billion) keys, far more than one task's store holds in memory.
const skipMaxHeight = 16

// skipNode is one key of a skiplist. Its key and value slices are never
// modified once set: a new value replaces the slice, so slices handed to
// callers stay valid.
type skipNode struct {
	key   []byte
	value []byte
	// deleted marks a tombstone; only the memory store's overlay of
	// uncommitted writes holds them.
	deleted bool
	next    []*skipNode // next[level], len(next) is the node's height
}

// skiplist is an ordered map from byte keys to values, used by one
// goroutine at a time. Iteration follows next pointers, which insertions
// never break; removal unlinks a node but leaves its own pointers, so a
// cursor standing on it still moves on to live nodes. A hash index beside
// it answers point lookups without walking the towers, whose pointer
// chasing costs a cache miss a step once the list outgrows the caches.
type skiplist struct {
	head   skipNode
	height int // levels in use, at least 1
	length int
	seed   uint64               // xorshift state for tower heights
	index  map[string]*skipNode // by key; the strings share the nodes' key bytes
}

func newSkiplist() *skiplist {
	s := &skiplist{}
	s.reset()
	return s
}

// reset empties the list.
func (s *skiplist) reset() {
	s.head.next = make([]*skipNode, skipMaxHeight)
	s.index = map[string]*skipNode{} // not cleared: a map never shrinks
	s.height, s.length = 1, 0
	if s.seed == 0 {
		s.seed = 0x9E3779B97F4A7C15 // any nonzero constant: heights need not be secret
	}
}

// randomHeight draws a tower height: level h+1 with probability 1/4^h.
func (s *skiplist) randomHeight() int {
	s.seed ^= s.seed << 13
	s.seed ^= s.seed >> 7
	s.seed ^= s.seed << 17
	h, bits := 1, s.seed
	for h < skipMaxHeight && bits&3 == 0 {
		h++
		bits >>= 2
	}
	return h
}

// findGE returns the first node with a key >= key; if prev is not nil it
// also fills prev[level] with the last node before it at each level.
func (s *skiplist) findGE(key []byte, prev *[skipMaxHeight]*skipNode) *skipNode {
	x := &s.head
	for level := s.height - 1; level >= 0; level-- {
		for next := x.next[level]; next != nil && bytes.Compare(next.key, key) < 0; next = x.next[level] {
			x = next
		}
		if prev != nil {
			prev[level] = x
		}
	}
	return x.next[0]
}

// get returns the node of key, or nil.
func (s *skiplist) get(key []byte) *skipNode {
	return s.index[string(key)]
}

// indexKey is key as a string sharing its bytes, which is sound because a
// node's key is never modified; it spares a copy of every key.
func indexKey(key []byte) string {
	return unsafe.String(unsafe.SliceData(key), len(key))
}

// set inserts key or updates its node in place, and returns the value it
// replaced and whether there was a node. The list keeps key and value:
// callers pass slices that nobody modifies.
func (s *skiplist) set(key, value []byte, deleted bool) (old []byte, existed bool) {
	if n := s.index[string(key)]; n != nil {
		old = n.value
		n.value, n.deleted = value, deleted
		return old, true
	}
	var prev [skipMaxHeight]*skipNode
	s.findGE(key, &prev)
	h := s.randomHeight()
	for ; s.height < h; s.height++ {
		prev[s.height] = &s.head
	}
	n := &skipNode{key: key, value: value, deleted: deleted, next: make([]*skipNode, h)}
	for level := range h {
		n.next[level] = prev[level].next[level]
		prev[level].next[level] = n
	}
	s.index[indexKey(key)] = n
	s.length++
	return nil, false
}

// remove unlinks the node of key and reports whether there was one.
func (s *skiplist) remove(key []byte) bool {
	if s.index[string(key)] == nil {
		return false
	}
	var prev [skipMaxHeight]*skipNode
	n := s.findGE(key, &prev)
	for level := range n.next {
		prev[level].next[level] = n.next[level]
	}
	delete(s.index, string(key))
	s.length--
	return true
}

// seekGE returns the first node with a key >= key (nil key: the first
// node), or nil.
func (s *skiplist) seekGE(key []byte) *skipNode {
	if key == nil {
		return s.head.next[0]
	}
	return s.findGE(key, nil)
}

// seekLT returns the last node with a key < key (nil key: the last node),
// or nil. Reverse iteration calls it once a step instead of keeping back
// pointers, which keeps insertion and removal simple at O(log n) a step.
func (s *skiplist) seekLT(key []byte) *skipNode {
	x := &s.head
	for level := s.height - 1; level >= 0; level-- {
		for next := x.next[level]; next != nil && (key == nil || bytes.Compare(next.key, key) < 0); next = x.next[level] {
			x = next
		}
	}
	if x == &s.head {
		return nil
	}
	return x
}
