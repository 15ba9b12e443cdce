package store

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// windowModel is the naive model of a window store: a map, and the
// expiry rule stated plainly.
type windowModel struct {
	intervalMs, retentionMs int64
	duplicates              bool
	values                  map[windowID][]string // in the order put
	observedMs              int64
	expiredBeforeMs         int64
}

type windowID struct {
	key   string
	start int64
}

func (m *windowModel) put(key string, start int64, value []byte) error {
	if m.duplicates && value == nil {
		return nil
	}
	if start < m.expiredBeforeMs {
		return ErrExpired
	}
	if start > m.observedMs {
		m.observedMs = start
		m.expiredBeforeMs = max(m.expiredBeforeMs, start-m.retentionMs+1)
	}
	id := windowID{key, start}
	switch {
	case value == nil:
		delete(m.values, id)
	case m.duplicates:
		m.values[id] = append(m.values[id], string(value))
	default:
		m.values[id] = []string{string(value)}
	}
	return nil
}

// fetch returns the live windows that match, ordered as FetchAll orders
// them (segment, key, start), or as FetchRange does for one key (start).
func (m *windowModel) fetch(match func(windowID) bool) []string {
	var ids []windowID
	for id := range m.values {
		if id.start >= m.expiredBeforeMs && match(id) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b windowID) int {
		return cmp.Or(cmp.Compare(floorDiv(a.start, m.intervalMs), floorDiv(b.start, m.intervalMs)),
			cmp.Compare(a.key, b.key), cmp.Compare(a.start, b.start))
	})
	var out []string
	for _, id := range ids {
		for _, v := range m.values[id] {
			out = append(out, fmt.Sprintf("%q@%d=%s", id.key, id.start, v))
		}
	}
	return out
}

func TestWindowMatchesModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, duplicates := range []bool{false, true} {
			for seed := range 8 {
				t.Run(fmt.Sprintf("duplicates=%v/seed=%d", duplicates, seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 11))
					kv := openEngine(t, e)
					opts := WindowOptions{Retention: 40 * time.Millisecond, SegmentInterval: 15 * time.Millisecond, RetainDuplicates: duplicates}
					w := newTestWindow(t, kv, opts)
					m := &windowModel{intervalMs: 15, retentionMs: 40, duplicates: duplicates, values: map[windowID][]string{},
						observedMs: -1 << 62, expiredBeforeMs: -1 << 62}
					for step := range 400 {
						windowStep(t, kv, w, m, rng, int64(step))
					}
				})
			}
		}
	})
}

// windowStep runs one random operation on the store and the model; time
// moves forward by about a millisecond a step, with stragglers.
func windowStep(t *testing.T, kv KeyValue, w *Window, m *windowModel, rng *rand.Rand, now int64) {
	t.Helper()
	keys := []string{"", "a", "a\x00", "ab", "b"}
	key := keys[rng.IntN(len(keys))]
	start := now - 50 + rng.Int64N(60)
	switch op := rng.IntN(100); {
	case op < 50:
		var value []byte
		if rng.IntN(6) > 0 {
			value = fmt.Appendf(nil, "v%d", now)
		}
		err, want := w.Put([]byte(key), start, value), m.put(key, start, value)
		if !errors.Is(err, want) {
			t.Fatalf("t=%d: Put(%q, %d) = %v, want %v", now, key, start, err, want)
		}
	case op < 55:
		ts := now - 100 + rng.Int64N(80)
		must(t, w.ExpireBefore(ts))
		m.expiredBeforeMs = max(m.expiredBeforeMs, ts)
	case op < 75:
		from, to := start-rng.Int64N(100), start+rng.Int64N(100)
		got := windows(t)(w.FetchRange([]byte(key), from, to))
		want := m.fetch(func(id windowID) bool { return id.key == key && id.start >= from && id.start <= to })
		if !slices.Equal(got, want) {
			t.Fatalf("t=%d: FetchRange(%q, %d, %d):\n got %q\nwant %q", now, key, from, to, got, want)
		}
	case op < 85:
		from, to := start-rng.Int64N(100), start+rng.Int64N(100)
		got := windows(t)(w.FetchAll(from, to))
		want := m.fetch(func(id windowID) bool { return id.start >= from && id.start <= to })
		if !slices.Equal(got, want) {
			t.Fatalf("t=%d: FetchAll(%d, %d):\n got %q\nwant %q", now, from, to, got, want)
		}
	case op < 95:
		got, err := w.Fetch([]byte(key), start)
		must(t, err)
		var want []byte
		if vs := m.values[windowID{key, start}]; len(vs) > 0 && start >= m.expiredBeforeMs {
			want = []byte(vs[0])
		}
		if string(got) != string(want) || (got == nil) != (want == nil) {
			t.Fatalf("t=%d: Fetch(%q, %d) = %q, want %q", now, key, start, got, want)
		}
	default:
		must(t, kv.Commit(Checkpoint{Offset: now}))
	}
}
