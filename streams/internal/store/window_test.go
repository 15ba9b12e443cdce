package store

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

func newTestWindow(t *testing.T, kv KeyValue, opts WindowOptions) *Window {
	t.Helper()
	w, err := NewWindow(kv, nil, opts)
	must(t, err)
	return w
}

// windows returns a function that drains what it is given, an iterator
// and its error, into "key@start=value" strings: windows(t)(w.All()).
func windows(t *testing.T) func(*WindowIterator, error) []string {
	return func(it *WindowIterator, err error) []string {
		t.Helper()
		must(t, err)
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, fmt.Sprintf("%q@%d=%s", it.Key(), it.Start(), it.Value()))
		}
		must(t, it.Err())
		return out
	}
}

func TestWindowFetchKeepsKeysApart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		w := newTestWindow(t, openEngine(t, e), WindowOptions{Retention: time.Hour, SegmentInterval: 10 * time.Millisecond})
		keys := []string{"", "a", "a\x00", "a\x00\x01", "a\x01", "ab", "\x00", "\xff"}
		for i, k := range keys {
			must(t, w.Put([]byte(k), 100, []byte(fmt.Sprint(i))))
		}
		for i, k := range keys {
			got, err := w.Fetch([]byte(k), 100)
			must(t, err)
			if string(got) != fmt.Sprint(i) {
				t.Errorf("Fetch(%q) = %q, want %d", k, got, i)
			}
			want := []string{fmt.Sprintf("%q@100=%d", k, i)}
			if got := windows(t)(w.FetchRange([]byte(k), 0, 1000)); !slices.Equal(got, want) {
				t.Errorf("FetchRange(%q) = %q, want %q", k, got, want)
			}
		}
		if got, _ := w.Fetch([]byte("a"), 101); got != nil {
			t.Errorf("Fetch at another start = %q", got)
		}
	})
}

func TestWindowFetchRange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		w := newTestWindow(t, openEngine(t, e), WindowOptions{Retention: time.Hour, SegmentInterval: 10 * time.Millisecond})
		for _, start := range []int64{-25, -5, 5, 15, 16, 25, 35, 1000} {
			for _, k := range []string{"j", "k", "k\x00", "l"} {
				must(t, w.Put([]byte(k), start, []byte(fmt.Sprint(k[0]))))
			}
		}
		tests := []struct {
			from, to int64
			want     []int64
		}{
			{from: 10, to: 30, want: []int64{15, 16, 25}},
			{from: 15, to: 25, want: []int64{15, 16, 25}},
			{from: -30, to: 0, want: []int64{-25, -5}},
			{from: math.MinInt64, to: math.MaxInt64, want: []int64{-25, -5, 5, 15, 16, 25, 35, 1000}},
			{from: 36, to: 999, want: nil},
			{from: 30, to: 10, want: nil},
		}
		for _, tt := range tests {
			var want []string
			for _, s := range tt.want {
				want = append(want, fmt.Sprintf("%q@%d=107", "k", s))
			}
			if got := windows(t)(w.FetchRange([]byte("k"), tt.from, tt.to)); !slices.Equal(got, want) {
				t.Errorf("FetchRange(k, %d, %d) = %q, want %q", tt.from, tt.to, got, want)
			}
		}
		got := windows(t)(w.FetchAll(15, 16))
		want := []string{`"j"@15=106`, `"j"@16=106`, `"k"@15=107`, `"k"@16=107`, `"k\x00"@15=107`, `"k\x00"@16=107`, `"l"@15=108`, `"l"@16=108`}
		if !slices.Equal(got, want) {
			t.Errorf("FetchAll(15, 16) = %q, want %q", got, want)
		}
		if got := windows(t)(w.All()); len(got) != 32 {
			t.Errorf("All returned %d windows, want 32", len(got))
		}
	})
}

func TestWindowExpiry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		w := newTestWindow(t, kv, WindowOptions{Retention: 100 * time.Millisecond, SegmentInterval: 50 * time.Millisecond})
		for _, start := range []int64{0, 30, 60, 120} {
			must(t, w.Put([]byte("k"), start, []byte("v")))
		}
		// Stream time 120 keeps starts from 21.
		if got, _ := w.Fetch([]byte("k"), 0); got != nil {
			t.Errorf("expired window still fetched: %q", got)
		}
		if err := w.Put([]byte("k"), 20, []byte("late")); !errors.Is(err, ErrExpired) {
			t.Errorf("Put of an expired window: %v, want ErrExpired", err)
		}
		must(t, w.Put([]byte("k"), 21, []byte("v")))
		if got := windows(t)(w.FetchRange([]byte("k"), 0, 200)); len(got) != 4 {
			t.Errorf("FetchRange after stream time 120 = %q, want starts 21, 30, 60, 120", got)
		}
		// Expiring before 90 drops segment 0 (starts 0 to 49) whole and
		// hides 60, which segment 1 keeps until it expires whole.
		must(t, w.ExpireBefore(90))
		if got := windows(t)(w.All()); len(got) != 1 {
			t.Errorf("All after ExpireBefore(90) = %q, want the window at 120", got)
		}
		if err := w.Put([]byte("k"), 89, []byte("v")); !errors.Is(err, ErrExpired) {
			t.Errorf("Put below ExpireBefore: %v, want ErrExpired", err)
		}
		if n := len(scanKeys(t, kv, nil, nil, false)); n != 2 {
			t.Errorf("%d raw entries left, want 2 (60 and 120)", n)
		}
		must(t, w.ExpireBefore(100))
		if n := len(scanKeys(t, kv, nil, nil, false)); n != 1 {
			t.Errorf("%d raw entries left after ExpireBefore(100), want 1 (120)", n)
		}
	})
}

func TestWindowRetainsDuplicates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		kv := openEngine(t, e)
		opts := WindowOptions{Retention: time.Hour, RetainDuplicates: true}
		w := newTestWindow(t, kv, opts)
		for _, v := range []string{"first", "second", "third"} {
			must(t, w.Put([]byte("k"), 7, []byte(v)))
		}
		must(t, w.Put([]byte("k"), 7, nil)) // ignored with duplicates
		must(t, w.Put([]byte("k\x00"), 7, []byte("other key")))
		must(t, kv.Commit(Checkpoint{Offset: 1}))
		// A restarted task makes a new Window: numbering goes on from the data.
		w = newTestWindow(t, kv, opts)
		must(t, w.Put([]byte("k"), 7, []byte("fourth")))
		want := []string{`"k"@7=first`, `"k"@7=second`, `"k"@7=third`, `"k"@7=fourth`}
		if got := windows(t)(w.FetchRange([]byte("k"), 0, 10)); !slices.Equal(got, want) {
			t.Fatalf("duplicates = %q, want %q", got, want)
		}
		if got, _ := w.Fetch([]byte("k"), 7); string(got) != "first" {
			t.Fatalf("Fetch with duplicates = %q, want the first", got)
		}
	})
}

func TestWindowChangelogRestores(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var changelog recordingLogger
		opts := WindowOptions{Retention: 100 * time.Millisecond, SegmentInterval: 50 * time.Millisecond}
		w, err := NewWindow(openEngine(t, e), &changelog, opts)
		must(t, err)
		must(t, w.Put([]byte("a"), 10, []byte("1")))
		must(t, w.Put([]byte("b\x00"), 60, []byte("2")))
		must(t, w.Put([]byte("a"), 10, nil))
		must(t, w.Put([]byte("c"), 70, []byte("3")))
		must(t, w.ExpireBefore(60)) // not logged
		if len(changelog.records) != 4 {
			t.Fatalf("logged %d changes, want the 4 writes", len(changelog.records))
		}
		restoredKV := openEngine(t, e)
		for _, r := range changelog.records {
			must(t, Restore(restoredKV, r.key, r.value))
		}
		restored := newTestWindow(t, restoredKV, opts)
		if got, want := windows(t)(restored.All()), windows(t)(w.All()); !slices.Equal(got, want) {
			t.Fatalf("restored %q, want %q", got, want)
		}
	})
}

func TestWindowRecoversStreamTime(t *testing.T) {
	kv := NewMemory("w")
	opts := WindowOptions{Retention: 100 * time.Millisecond, SegmentInterval: 50 * time.Millisecond}
	w := newTestWindow(t, kv, opts)
	must(t, w.Put([]byte("k"), 10, []byte("v")))
	must(t, w.Put([]byte("k"), 260, []byte("v"))) // segment 5: stream time at least 250
	w = newTestWindow(t, kv, opts)
	if err := w.Put([]byte("k"), 150, []byte("v")); !errors.Is(err, ErrExpired) {
		t.Fatalf("after reopening, Put below 250-100: %v, want ErrExpired", err)
	}
	must(t, w.Put([]byte("k"), 151, []byte("v")))
}

func TestWindowOptionsValidated(t *testing.T) {
	for _, opts := range []WindowOptions{{}, {Retention: -time.Second}, {Retention: time.Hour, SegmentInterval: time.Microsecond}, {Retention: time.Microsecond}} {
		if _, err := NewWindow(NewMemory("w"), nil, opts); err == nil {
			t.Errorf("NewWindow accepted %+v", opts)
		}
	}
}
