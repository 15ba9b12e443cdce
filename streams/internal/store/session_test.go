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

func newTestSession(t *testing.T, kv KeyValue, opts SessionOptions) *Session {
	t.Helper()
	s, err := NewSession(kv, nil, opts)
	must(t, err)
	return s
}

// sessions returns a function that drains an iterator and its error into
// "key@start-end=value" strings: sessions(t)(s.All()).
func sessions(t *testing.T) func(*SessionIterator, error) []string {
	return func(it *SessionIterator, err error) []string {
		t.Helper()
		must(t, err)
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, fmt.Sprintf("%q@%d-%d=%s", it.Key(), it.Start(), it.End(), it.Value()))
		}
		must(t, it.Err())
		return out
	}
}

func TestSessionFindSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		s := newTestSession(t, openEngine(t, e), SessionOptions{Retention: time.Hour, SegmentInterval: 10 * time.Millisecond})
		for _, k := range []string{"a", "a\x00", "b"} {
			for _, se := range [][2]int64{{0, 5}, {8, 12}, {20, 45}, {50, 50}, {100, 130}} {
				must(t, s.Put([]byte(k), se[0], se[1], []byte(k[:1])))
			}
		}
		tests := []struct {
			earliestEnd, latestStart int64
			want                     []string
		}{
			{earliestEnd: 10, latestStart: 50, want: []string{`"a"@8-12=a`, `"a"@20-45=a`, `"a"@50-50=a`}},
			{earliestEnd: 46, latestStart: 60, want: []string{`"a"@50-50=a`}},
			{earliestEnd: 120, latestStart: 140, want: []string{`"a"@100-130=a`}},
			{earliestEnd: 131, latestStart: 1000, want: nil},
			{earliestEnd: 0, latestStart: 7, want: []string{`"a"@0-5=a`}},
		}
		for _, tt := range tests {
			if got := sessions(t)(s.FindSessions([]byte("a"), tt.earliestEnd, tt.latestStart)); !slices.Equal(got, tt.want) {
				t.Errorf("FindSessions(a, %d, %d) = %q, want %q", tt.earliestEnd, tt.latestStart, got, tt.want)
			}
		}
		if got := sessions(t)(s.FetchKey([]byte("a\x00"))); len(got) != 5 {
			t.Errorf("FetchKey(a\\x00) = %q, want its 5 sessions", got)
		}
		if got := sessions(t)(s.All()); len(got) != 15 {
			t.Errorf("All = %d sessions, want 15", len(got))
		}
		got, err := s.FetchSession([]byte("b"), 20, 45)
		must(t, err)
		if string(got) != "b" {
			t.Errorf("FetchSession(b, 20, 45) = %q", got)
		}
		must(t, s.Put([]byte("b"), 20, 45, nil))
		if got, _ := s.FetchSession([]byte("b"), 20, 45); got != nil {
			t.Errorf("removed session still there: %q", got)
		}
		if err := s.Put([]byte("b"), 9, 8, []byte("x")); err == nil {
			t.Error("Put accepted a session ending before its start")
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		var changelog recordingLogger
		s, err := NewSession(kv, &changelog, SessionOptions{Retention: 100 * time.Millisecond, SegmentInterval: 50 * time.Millisecond})
		must(t, err)
		must(t, s.Put([]byte("k"), 0, 10, []byte("old")))
		must(t, s.Put([]byte("k"), 100, 200, []byte("new"))) // stream time 200 keeps ends from 101
		if err := s.Put([]byte("k"), 50, 100, []byte("late")); !errors.Is(err, ErrExpired) {
			t.Errorf("Put of an expired session: %v, want ErrExpired", err)
		}
		if got := sessions(t)(s.FetchKey([]byte("k"))); !slices.Equal(got, []string{`"k"@100-200=new`}) {
			t.Errorf("after expiry: %q", got)
		}
		if n := len(scanKeys(t, kv, nil, nil, false)); n != 1 {
			t.Errorf("%d raw entries, want 1: the old session's segment is dropped", n)
		}
		if len(changelog.records) != 2 {
			t.Errorf("logged %d changes, want the 2 puts (expiry is not logged)", len(changelog.records))
		}
	})
}

// sessionModel is the naive model of a session store.
type sessionModel struct {
	retentionMs, observedMs, expiredBeforeMs int64
	values                                   map[sessionID]string
}

type sessionID struct {
	key        string
	start, end int64
}

func (m *sessionModel) put(id sessionID, value []byte) error {
	if id.end < m.expiredBeforeMs {
		return ErrExpired
	}
	if id.end > m.observedMs {
		m.observedMs = id.end
		m.expiredBeforeMs = max(m.expiredBeforeMs, id.end-m.retentionMs+1)
	}
	if value == nil {
		delete(m.values, id)
	} else {
		m.values[id] = string(value)
	}
	return nil
}

func (m *sessionModel) find(key string, earliestEnd, latestStart int64) []string {
	var ids []sessionID
	for id := range m.values {
		if id.key == key && id.end >= max(earliestEnd, m.expiredBeforeMs) && id.start <= latestStart {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b sessionID) int { return cmp.Or(cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start)) })
	var out []string
	for _, id := range ids {
		out = append(out, fmt.Sprintf("%q@%d-%d=%s", id.key, id.start, id.end, m.values[id]))
	}
	return out
}

func TestSessionMatchesModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		for seed := range 8 {
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(seed), 13))
				s := newTestSession(t, openEngine(t, e), SessionOptions{Retention: 60 * time.Millisecond, SegmentInterval: 20 * time.Millisecond})
				m := &sessionModel{retentionMs: 60, observedMs: -1 << 62, expiredBeforeMs: -1 << 62, values: map[sessionID]string{}}
				keys := []string{"", "a", "a\x00", "b"}
				for now := range int64(400) {
					key := keys[rng.IntN(len(keys))]
					start := now - 40 + rng.Int64N(40)
					id := sessionID{key: key, start: start, end: start + rng.Int64N(30)}
					switch op := rng.IntN(10); {
					case op < 5:
						var value []byte
						if op > 0 {
							value = fmt.Appendf(nil, "v%d", now)
						}
						if err, want := s.Put([]byte(key), id.start, id.end, value), m.put(id, value); !errors.Is(err, want) {
							t.Fatalf("t=%d: Put(%+v) = %v, want %v", now, id, err, want)
						}
					case op < 6:
						ts := now - 80 + rng.Int64N(60)
						must(t, s.ExpireBefore(ts))
						m.expiredBeforeMs = max(m.expiredBeforeMs, ts)
					default:
						earliestEnd, latestStart := now-rng.Int64N(80), now-rng.Int64N(80)
						got := sessions(t)(s.FindSessions([]byte(key), earliestEnd, latestStart))
						if want := m.find(key, earliestEnd, latestStart); !slices.Equal(got, want) {
							t.Fatalf("t=%d: FindSessions(%q, %d, %d):\n got %q\nwant %q", now, key, earliestEnd, latestStart, got, want)
						}
					}
				}
			})
		}
	})
}
