package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// kvModel is the naive model of a transactional store: two maps.
type kvModel struct {
	committed  map[string]string
	pending    map[string]*string // nil: deleted since the last commit
	checkpoint Checkpoint
}

func newKVModel() *kvModel {
	return &kvModel{committed: map[string]string{}, pending: map[string]*string{}, checkpoint: NoCheckpoint}
}

func (m *kvModel) get(key string) (string, bool) {
	if v, ok := m.pending[key]; ok {
		if v == nil {
			return "", false
		}
		return *v, true
	}
	v, ok := m.committed[key]
	return v, ok
}

func (m *kvModel) view() map[string]string {
	out := map[string]string{}
	for k, v := range m.committed {
		out[k] = v
	}
	for k, v := range m.pending {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out
}

func (m *kvModel) commit(cp Checkpoint) {
	m.committed = m.view()
	m.pending = map[string]*string{}
	m.checkpoint = cp
}

func (m *kvModel) crash(persistent bool) {
	m.pending = map[string]*string{}
	if !persistent {
		m.committed = map[string]string{}
		m.checkpoint = NoCheckpoint
	}
}

// rangeOf returns the model's entries in [from, to) in order, each as
// "key=value" in hex for readable failures. Go orders strings bytewise,
// as the stores order keys.
func (m *kvModel) rangeOf(from, to []byte, reverse bool) []string {
	view := m.view()
	var keys []string
	for k := range view {
		if (from == nil || k >= string(from)) && (to == nil || k < string(to)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%x=%x", k, view[k])
	}
	return out
}

// randomKey draws from a small alphabet of the edge bytes, so that keys
// collide, nest as prefixes and hold zeros.
func randomKey(rng *rand.Rand) []byte {
	alphabet := []byte{0x00, 0x01, 'a', 0xFF}
	key := make([]byte, rng.IntN(4))
	for i := range key {
		key[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return key
}

func randomBound(rng *rand.Rand) []byte {
	if rng.IntN(4) == 0 {
		return nil
	}
	return randomKey(rng)
}

func scan(t *testing.T, kv KeyValue, from, to []byte, reverse bool) []string {
	t.Helper()
	open := kv.Range
	if reverse {
		open = kv.ReverseRange
	}
	it, err := open(from, to)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKeyValueMatchesModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		seeds, steps := 40, 500
		if e.persistent {
			seeds = 20
		}
		for seed := range seeds {
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 7))
				kv, crash := e.open(t, rng)
				m := newKVModel()
				for step := range steps {
					kv = kvStep(t, e, kv, crash, m, rng, step)
				}
				checkAll(t, kv, m)
			})
		}
	})
}

// kvStep runs one random operation on the store and the model and
// compares what they return; it returns the store, reopened if it crashed.
func kvStep(t *testing.T, e engine, kv KeyValue, crash func(KeyValue) KeyValue, m *kvModel, rng *rand.Rand, step int) KeyValue {
	t.Helper()
	switch op := rng.IntN(100); {
	case op < 30:
		key, value := randomKey(rng), make([]byte, rng.IntN(3))
		for i := range value {
			value[i] = byte(rng.IntN(256))
		}
		must(t, kv.Put(key, value))
		v := string(value)
		m.pending[string(key)] = &v
	case op < 40:
		key := randomKey(rng)
		must(t, kv.Delete(key))
		m.pending[string(key)] = nil
	case op < 43:
		from, to := randomBound(rng), randomBound(rng)
		must(t, kv.DeleteRange(from, to))
		for k := range m.view() {
			if (from == nil || k >= string(from)) && (to == nil || k < string(to)) {
				m.pending[k] = nil
			}
		}
	case op < 58:
		key := randomKey(rng)
		got, err := kv.Get(key)
		must(t, err)
		want, ok := m.get(string(key))
		if ok != (got != nil) || string(got) != want {
			t.Fatalf("step %d: Get(%x) = %x, want %x (present %v)", step, key, got, want, ok)
		}
	case op < 73:
		from, to, reverse := randomBound(rng), randomBound(rng), rng.IntN(3) == 0
		got := scan(t, kv, from, to, reverse)
		want := m.rangeOf(from, to, reverse)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: range [%x, %x) reverse %v:\n got %v\nwant %v", step, from, to, reverse, got, want)
		}
	case op < 83:
		cp := Checkpoint{Offset: int64(step)}
		must(t, kv.Commit(cp))
		m.commit(cp)
		if n := kv.UncommittedBytes(); n != 0 {
			t.Fatalf("step %d: %d uncommitted bytes after commit", step, n)
		}
	case op < 88:
		must(t, kv.Abort())
		m.pending = map[string]*string{}
	case op < 91:
		kv = crash(kv)
		m.crash(e.persistent)
		checkAll(t, kv, m)
	case op < 95:
		deleteWhileIterating(t, kv, m)
	default:
		checkAll(t, kv, m)
	}
	return kv
}

// deleteWhileIterating deletes every other key under an open iterator,
// which must still return what the store held when it was opened.
func deleteWhileIterating(t *testing.T, kv KeyValue, m *kvModel) {
	t.Helper()
	want := m.rangeOf(nil, nil, false)
	it, err := kv.Range(nil, nil)
	must(t, err)
	var got []string
	for i := 0; it.Next(); i++ {
		got = append(got, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
		if i%2 == 0 {
			key := bytes.Clone(it.Key())
			must(t, kv.Delete(key))
			m.pending[string(key)] = nil
		}
	}
	must(t, it.Err())
	must(t, it.Close())
	if !slices.Equal(got, want) {
		t.Fatalf("iterating while deleting:\n got %v\nwant %v", got, want)
	}
}

// checkAll compares the whole store, its checkpoint and its count.
func checkAll(t *testing.T, kv KeyValue, m *kvModel) {
	t.Helper()
	got, want := scan(t, kv, nil, nil, false), m.rangeOf(nil, nil, false)
	if !slices.Equal(got, want) {
		t.Fatalf("store:\n got %v\nwant %v", got, want)
	}
	cp, err := kv.Checkpoint()
	must(t, err)
	if cp != m.checkpoint {
		t.Fatalf("checkpoint %+v, want %+v", cp, m.checkpoint)
	}
	if _, isMemory := kv.(*memory); isMemory {
		if n := kv.ApproximateNumEntries(); n != int64(len(want)) {
			t.Fatalf("ApproximateNumEntries = %d, want %d", n, len(want))
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
