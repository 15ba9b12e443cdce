package store

import "bytes"

// memory is the in-memory KeyValue: the committed data and the uncommitted
// writes are two skiplists, the second holding tombstones for deletions.
// Commit folds the second into the first. Nothing survives the process:
// after a restart the store is restored from the start of its changelog.
type memory struct {
	name      string
	committed *skiplist // no tombstones
	pending   *skiplist // writes since the last Commit
	// pendingBytes is the size of pending's keys and values.
	pendingBytes int64
	checkpoint   Checkpoint
	iterators    int // open iterators
	closed       bool
}

// NewMemory returns an empty in-memory KeyValue named name.
func NewMemory(name string) KeyValue {
	return &memory{name: name, committed: newSkiplist(), pending: newSkiplist(), checkpoint: NoCheckpoint}
}

func (m *memory) Name() string { return m.name }

func (m *memory) Get(key []byte) ([]byte, error) {
	if m.closed {
		return nil, errorf(m.name, "get", ErrClosed)
	}
	if n := m.pending.get(key); n != nil {
		if n.deleted {
			return nil, nil
		}
		return n.value, nil
	}
	if n := m.committed.get(key); n != nil {
		return n.value, nil
	}
	return nil, nil
}

func (m *memory) Put(key, value []byte) error {
	if value == nil {
		return m.Delete(key)
	}
	if m.closed {
		return errorf(m.name, "put", ErrClosed)
	}
	// One allocation holds both copies; the full slice expression keeps an
	// append to the key from running into the value.
	buf := make([]byte, len(key)+len(value))
	k, v := buf[:len(key):len(key)], buf[len(key):]
	copy(k, key)
	copy(v, value)
	m.setPending(k, v, false)
	return nil
}

func (m *memory) Delete(key []byte) error {
	if m.closed {
		return errorf(m.name, "delete", ErrClosed)
	}
	m.setPending(bytes.Clone(key), nil, true)
	return nil
}

// setPending records a write, keeping pendingBytes exact.
func (m *memory) setPending(key, value []byte, deleted bool) {
	if key == nil {
		key = []byte{} // bytes.Clone(nil) is nil, and nil means unbounded to the iterators
	}
	if old, existed := m.pending.set(key, value, deleted); existed {
		m.pendingBytes += int64(len(value) - len(old))
	} else {
		m.pendingBytes += int64(len(key) + len(value))
	}
}

func (m *memory) DeleteRange(from, to []byte) error {
	if m.closed {
		return errorf(m.name, "delete range", ErrClosed)
	}
	for n := m.pending.seekGE(from); n != nil && below(n.key, to); n = n.next[0] {
		m.pendingBytes -= int64(len(n.value))
		n.value, n.deleted = nil, true
	}
	// Committed keys are never modified, so pending can share them.
	for n := m.committed.seekGE(from); n != nil && below(n.key, to); n = n.next[0] {
		if m.pending.get(n.key) == nil {
			m.setPending(n.key, nil, true)
		}
	}
	return nil
}

// below reports whether key < to, a nil to being unbounded.
func below(key, to []byte) bool { return to == nil || bytes.Compare(key, to) < 0 }

func (m *memory) Commit(cp Checkpoint) error {
	if m.closed {
		return errorf(m.name, "commit", ErrClosed)
	}
	if m.iterators > 0 {
		return errorf(m.name, "commit", ErrIteratorsOpen)
	}
	for n := m.pending.seekGE(nil); n != nil; n = n.next[0] {
		if n.deleted {
			m.committed.remove(n.key)
		} else {
			m.committed.set(n.key, n.value, false)
		}
	}
	m.pending.reset()
	m.pendingBytes = 0
	m.checkpoint = cp
	return nil
}

func (m *memory) Abort() error {
	if m.closed {
		return errorf(m.name, "abort", ErrClosed)
	}
	if m.iterators > 0 {
		return errorf(m.name, "abort", ErrIteratorsOpen)
	}
	m.pending.reset()
	m.pendingBytes = 0
	return nil
}

func (m *memory) Checkpoint() (Checkpoint, error) {
	if m.closed {
		return NoCheckpoint, errorf(m.name, "checkpoint", ErrClosed)
	}
	return m.checkpoint, nil
}

// ApproximateNumEntries counts exactly, in time proportional to the
// uncommitted writes: callers ask for it rarely (metrics, queries), so
// writes do not pay for keeping a count.
func (m *memory) ApproximateNumEntries() int64 {
	n := int64(m.committed.length)
	for p := m.pending.seekGE(nil); p != nil; p = p.next[0] {
		inCommitted := m.committed.get(p.key) != nil
		switch {
		case p.deleted && inCommitted:
			n--
		case !p.deleted && !inCommitted:
			n++
		}
	}
	return n
}

func (m *memory) UncommittedBytes() int64 { return m.pendingBytes }

func (m *memory) Close() error {
	m.closed = true
	m.committed, m.pending = newSkiplist(), newSkiplist()
	return nil
}

func (m *memory) Range(from, to []byte) (Iterator, error) {
	return m.newIterator(from, to, false)
}

func (m *memory) ReverseRange(from, to []byte) (Iterator, error) {
	return m.newIterator(from, to, true)
}

func (m *memory) newIterator(from, to []byte, reverse bool) (Iterator, error) {
	if m.closed {
		return nil, errorf(m.name, "range", ErrClosed)
	}
	it := &memoryIterator{store: m, from: bytes.Clone(from), to: bytes.Clone(to), reverse: reverse}
	if reverse {
		it.pending, it.committed = m.pending.seekLT(it.to), m.committed.seekLT(it.to)
	} else {
		it.pending, it.committed = m.pending.seekGE(it.from), m.committed.seekGE(it.from)
	}
	m.iterators++
	return it, nil
}

// memoryIterator merges the two skiplists of a memory store: at equal keys
// the uncommitted write wins, and tombstones are skipped. The committed list
// does not change while it is open (Commit waits for it); the pending list
// only gains nodes or changes them in place, which cursors survive.
type memoryIterator struct {
	store              *memory
	from, to           []byte
	reverse            bool
	pending, committed *skipNode // the next candidates of each list
	key, value         []byte
	closed             bool
	err                error
}

func (it *memoryIterator) Next() bool {
	if it.closed || it.err != nil {
		return false
	}
	if it.store.closed {
		it.err = errorf(it.store.name, "iterate", ErrClosed)
		return false
	}
	for it.pending != nil || it.committed != nil {
		n, fromPending := it.pick()
		if it.reverse && it.from != nil && bytes.Compare(n.key, it.from) < 0 ||
			!it.reverse && !below(n.key, it.to) {
			break
		}
		if fromPending && n.deleted {
			continue
		}
		it.key, it.value = n.key, n.value
		return true
	}
	it.pending, it.committed, it.key, it.value = nil, nil, nil, nil
	return false
}

// pick returns the next node in iteration order and moves the cursors past
// it; at equal keys the pending node wins and both cursors move.
func (it *memoryIterator) pick() (n *skipNode, fromPending bool) {
	p, c := it.pending, it.committed
	switch {
	case p == nil:
		it.committed = it.step(it.store.committed, c)
		return c, false
	case c == nil:
		it.pending = it.step(it.store.pending, p)
		return p, true
	}
	cmp := bytes.Compare(p.key, c.key)
	if it.reverse {
		cmp = -cmp
	}
	if cmp <= 0 {
		it.pending = it.step(it.store.pending, p)
		if cmp == 0 {
			it.committed = it.step(it.store.committed, c)
		}
		return p, true
	}
	it.committed = it.step(it.store.committed, c)
	return c, false
}

// step returns the node after n in iteration order.
func (it *memoryIterator) step(list *skiplist, n *skipNode) *skipNode {
	if it.reverse {
		return list.seekLT(n.key)
	}
	return n.next[0]
}

func (it *memoryIterator) Key() []byte   { return it.key }
func (it *memoryIterator) Value() []byte { return it.value }
func (it *memoryIterator) Err() error    { return it.err }

func (it *memoryIterator) Close() error {
	if !it.closed {
		it.closed = true
		it.store.iterators--
		it.pending, it.committed, it.key, it.value = nil, nil, nil, nil
	}
	return nil
}
