package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestKeyValueSemantics(t *testing.T) {
	type step struct {
		op         string // put, del, delrange, commit, abort
		key, value []byte
		to         []byte // delrange's upper bound
	}
	tests := []struct {
		name  string
		steps []step
		key   []byte
		want  []byte // nil: absent
	}{
		{name: "absent", key: []byte("a")},
		{name: "read your writes", steps: []step{{op: "put", key: []byte("a"), value: []byte("1")}}, key: []byte("a"), want: []byte("1")},
		{name: "empty value is a value", steps: []step{{op: "put", key: []byte("a"), value: []byte{}}}, key: []byte("a"), want: []byte{}},
		{name: "nil value deletes", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "commit"}, {op: "put", key: []byte("a")},
		}, key: []byte("a")},
		{name: "empty key", steps: []step{{op: "put", key: nil, value: []byte("e")}}, key: []byte{}, want: []byte("e")},
		{name: "abort drops", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "abort"},
		}, key: []byte("a")},
		{name: "abort keeps the commit", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "commit"},
			{op: "put", key: []byte("a"), value: []byte("2")}, {op: "abort"},
		}, key: []byte("a"), want: []byte("1")},
		{name: "uncommitted delete hides the commit", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "commit"}, {op: "del", key: []byte("a")},
		}, key: []byte("a")},
		{name: "delete range hides committed and pending", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "commit"}, {op: "put", key: []byte("b"), value: []byte("2")},
			{op: "delrange", key: []byte("a"), to: []byte("c")},
		}, key: []byte("b")},
		{name: "delete range bound is exclusive", steps: []step{
			{op: "put", key: []byte("c"), value: []byte("3")}, {op: "delrange", key: []byte("a"), to: []byte("c")},
		}, key: []byte("c"), want: []byte("3")},
		{name: "prefix keys are distinct", steps: []step{
			{op: "put", key: []byte("a"), value: []byte("1")}, {op: "put", key: []byte("a\x00"), value: []byte("2")},
		}, key: []byte("a"), want: []byte("1")},
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				kv := openEngine(t, e)
				for _, s := range tt.steps {
					var err error
					switch s.op {
					case "put":
						err = kv.Put(s.key, s.value)
					case "del":
						err = kv.Delete(s.key)
					case "delrange":
						err = kv.DeleteRange(s.key, s.to)
					case "commit":
						err = kv.Commit(Checkpoint{Offset: 1})
					case "abort":
						err = kv.Abort()
					}
					must(t, err)
				}
				got, err := kv.Get(tt.key)
				must(t, err)
				if (got == nil) != (tt.want == nil) || string(got) != string(tt.want) {
					t.Fatalf("Get(%q) = %q (nil %v), want %q (nil %v)", tt.key, got, got == nil, tt.want, tt.want == nil)
				}
			})
		}
	})
}

func TestGetResultOutlivesWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		value := []byte("one")
		must(t, kv.Put([]byte("k"), value))
		value[0] = 'X' // the store copied it
		got, err := kv.Get([]byte("k"))
		must(t, err)
		must(t, kv.Put([]byte("k"), []byte("two")))
		must(t, kv.Commit(Checkpoint{Offset: 3}))
		must(t, kv.Put([]byte("k"), []byte("three")))
		if string(got) != "one" {
			t.Fatalf("Get returned %q, changed by later writes to %q", "one", got)
		}
	})
}

func TestRangeBoundsAndOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		for _, k := range []string{"", "a", "a\x00", "ab", "b", "\xff"} {
			must(t, kv.Put([]byte(k), []byte("v")))
		}
		must(t, kv.Commit(Checkpoint{Offset: 1}))
		must(t, kv.Put([]byte("aa"), []byte("v"))) // pending, between committed keys
		tests := []struct {
			from, to []byte
			reverse  bool
			want     []string
		}{
			{want: []string{"", "a", "a\x00", "aa", "ab", "b", "\xff"}},
			{reverse: true, want: []string{"\xff", "b", "ab", "aa", "a\x00", "a", ""}},
			{from: []byte("a"), to: []byte("b"), want: []string{"a", "a\x00", "aa", "ab"}},
			{from: []byte("a"), to: []byte("b"), reverse: true, want: []string{"ab", "aa", "a\x00", "a"}},
			{from: []byte("a\x00"), to: []byte("a\x01"), want: []string{"a\x00"}},
			{to: []byte{}, want: nil},
			{from: []byte("c"), want: []string{"\xff"}},
			{from: []byte("b"), to: []byte("a"), want: nil},
		}
		for _, tt := range tests {
			if got := scanKeys(t, kv, tt.from, tt.to, tt.reverse); !slices.Equal(got, tt.want) {
				t.Errorf("range [%q, %q) reverse %v = %q, want %q", tt.from, tt.to, tt.reverse, got, tt.want)
			}
		}
	})
}

func TestCommitWaitsForIterators(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		must(t, kv.Put([]byte("a"), []byte("1")))
		it, err := kv.Range(nil, nil)
		must(t, err)
		if err := kv.Commit(Checkpoint{Offset: 1}); !errors.Is(err, ErrIteratorsOpen) {
			t.Fatalf("Commit with an open iterator: %v, want ErrIteratorsOpen", err)
		}
		if err := kv.Abort(); !errors.Is(err, ErrIteratorsOpen) {
			t.Fatalf("Abort with an open iterator: %v, want ErrIteratorsOpen", err)
		}
		must(t, it.Close())
		must(t, it.Close()) // twice is fine
		must(t, kv.Commit(Checkpoint{Offset: 1}))
	})
}

func TestClosedStore(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		must(t, kv.Put([]byte("a"), []byte("1")))
		it, err := kv.Range(nil, nil)
		must(t, err)
		must(t, kv.Close())
		must(t, kv.Close())
		if it.Next() || !errors.Is(it.Err(), ErrClosed) {
			t.Fatalf("iterator after the store closed: Err %v, want ErrClosed", it.Err())
		}
		must(t, it.Close())
		if _, err := kv.Get([]byte("a")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Get after Close: %v", err)
		}
		if err := kv.Put([]byte("a"), []byte("1")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Put after Close: %v", err)
		}
		if err := kv.Commit(Checkpoint{}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Commit after Close: %v", err)
		}
	})
}

func TestCheckpointAndCounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		if cp, err := kv.Checkpoint(); err != nil || cp != NoCheckpoint {
			t.Fatalf("new store checkpoint = %+v, %v", cp, err)
		}
		for i := range 100 {
			must(t, kv.Put(fmt.Appendf(nil, "key-%03d", i), []byte("value")))
		}
		if n := kv.UncommittedBytes(); n < int64(100*len("key-000value")) {
			t.Fatalf("UncommittedBytes = %d for 100 writes of 12 bytes", n)
		}
		must(t, kv.Commit(Checkpoint{Offset: 42}))
		if cp, err := kv.Checkpoint(); err != nil || cp.Offset != 42 {
			t.Fatalf("checkpoint = %+v, %v", cp, err)
		}
		if n := kv.ApproximateNumEntries(); n < 90 || n > 110 {
			t.Fatalf("ApproximateNumEntries = %d, want about 100", n)
		}
	})
}

func TestLoggedStoreLogsAndRestores(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var changelog recordingLogger
		kv := Logged(openEngine(t, e), &changelog)
		must(t, kv.Put([]byte("a"), []byte("1")))
		must(t, kv.Put([]byte("b"), []byte("2")))
		must(t, kv.Put([]byte("c"), []byte{}))
		must(t, kv.Delete([]byte("a")))
		must(t, kv.Put([]byte("d"), []byte("4")))
		must(t, kv.DeleteRange([]byte("d"), nil))
		want := []string{`"a"="1"`, `"b"="2"`, `"c"=""`, `"a"=<nil>`, `"d"="4"`, `"d"=<nil>`}
		if !slices.Equal(changelog.changes(), want) {
			t.Fatalf("logged %q, want %q", changelog.changes(), want)
		}
		restored := openEngine(t, e)
		for _, c := range changelog.records {
			must(t, Restore(restored, c.key, c.value))
		}
		if got, want := scan(t, restored, nil, nil, false), scan(t, kv, nil, nil, false); !slices.Equal(got, want) {
			t.Fatalf("restored %v, want %v", got, want)
		}
	})
}

func scanKeys(t *testing.T, kv KeyValue, from, to []byte, reverse bool) []string {
	t.Helper()
	open := kv.Range
	if reverse {
		open = kv.ReverseRange
	}
	it, err := open(from, to)
	must(t, err)
	defer it.Close()
	var keys []string
	for it.Next() {
		keys = append(keys, string(it.Key()))
	}
	must(t, it.Err())
	return keys
}

// recordingLogger is a changelog in memory.
type recordingLogger struct {
	records []struct{ key, value []byte }
}

func (l *recordingLogger) LogChange(key, value []byte) {
	r := struct{ key, value []byte }{key: append([]byte(nil), key...)}
	if value != nil {
		r.value = append([]byte{}, value...)
	}
	l.records = append(l.records, r)
}

func (l *recordingLogger) changes() []string {
	var out []string
	for _, r := range l.records {
		if r.value == nil {
			out = append(out, fmt.Sprintf("%q=<nil>", r.key))
		} else {
			out = append(out, fmt.Sprintf("%q=%q", r.key, r.value))
		}
	}
	return out
}
