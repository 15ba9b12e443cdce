package streams_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// The property tests below run random inputs, out of order and late
// records included, through each join in the TestDriver and compare what
// it emits with a brute-force model of the join's definition.

const joinModelSeeds = 250

// joinKind names inner, left and outer joins in the tests.
type joinKind int

const (
	innerJoin joinKind = iota
	leftJoin
	outerJoin
)

func (k joinKind) String() string { return [...]string{"inner", "left", "outer"}[k] }

// joinedText is the joiner of the tests: both values, "null" for a
// missing one.
func joinedText(l, r *string) string {
	text := func(v *string) string {
		if v == nil {
			return "null"
		}
		return *v
	}
	return text(l) + "|" + text(r)
}

// streamEvent is a record of a stream-stream or stream-table test.
type streamEvent struct {
	left      bool // the left stream; false: the right stream or the table
	key       string
	value     string
	ts        int64
	tombstone bool
}

// randomStreamEvents makes n records on three keys whose timestamps
// mostly grow, some out of order by up to 9ms, so that with small windows
// some are late.
func randomStreamEvents(rng *rand.Rand, n int) []streamEvent {
	events := make([]streamEvent, n)
	now := int64(1000)
	for i := range events {
		now += rng.Int64N(4)
		ts := now
		if rng.IntN(3) == 0 {
			ts -= rng.Int64N(10)
		}
		events[i] = streamEvent{
			left:      rng.IntN(2) == 0,
			key:       string(rune('a' + rng.IntN(3))),
			value:     fmt.Sprintf("v%d", i),
			ts:        ts,
			tombstone: rng.IntN(20) == 0,
		}
	}
	if rng.IntN(2) == 0 { // a record far ahead closes every window
		events = append(events, streamEvent{left: rng.IntN(2) == 0, key: "z", value: "end", ts: now + 1000})
	}
	return events
}

func randomJoinWindows(rng *rand.Rand) streams.JoinWindows {
	before := rng.IntN(8) - 2
	after := max(rng.IntN(6), -before)
	return streams.JoinWindows{
		Before: time.Duration(before) * time.Millisecond,
		After:  time.Duration(after) * time.Millisecond,
		Grace:  time.Duration(rng.IntN(5)) * time.Millisecond,
	}
}

// modelStreamJoin is the definition of a stream-stream join: stream time
// is the largest timestamp seen; a record is late when its window (left:
// ts+After+Grace, right: ts+Before+Grace) has closed on arrival; two
// records join when within the window and neither's window had closed
// when the second arrived; an outer side's record that never joined is
// emitted when its window closes.
func modelStreamJoin(events []streamEvent, w streams.JoinWindows, kind joinKind) []string {
	before, after, grace := w.Before.Milliseconds(), w.After.Milliseconds(), w.Grace.Milliseconds()
	type kept struct {
		streamEvent
		joined, emitted bool
	}
	closesAt := func(e streamEvent) int64 {
		if e.left {
			return e.ts + after + grace
		}
		return e.ts + before + grace
	}
	outer := func(e streamEvent) bool { return e.left && kind != innerJoin || !e.left && kind == outerJoin }
	var out []string
	var stored []*kept
	streamTime := int64(math.MinInt64)
	for _, e := range events {
		streamTime = max(streamTime, e.ts)
		if e.tombstone {
			continue
		}
		for _, y := range stored {
			if outer(y.streamEvent) && !y.joined && !y.emitted && closesAt(y.streamEvent) < streamTime {
				y.emitted = true
				if y.left {
					out = append(out, fmt.Sprintf("%s=%s@%d", y.key, joinedText(&y.value, nil), y.ts))
				} else {
					out = append(out, fmt.Sprintf("%s=%s@%d", y.key, joinedText(nil, &y.value), y.ts))
				}
			}
		}
		if closesAt(e) < streamTime {
			continue // late
		}
		x := &kept{streamEvent: e}
		for _, y := range stored {
			if y.left == x.left || y.key != x.key || closesAt(y.streamEvent) < streamTime {
				continue
			}
			l, r := x.streamEvent, y.streamEvent
			if !x.left {
				l, r = r, l
			}
			if r.ts < l.ts-before || r.ts > l.ts+after {
				continue
			}
			x.joined, y.joined = true, true
			out = append(out, fmt.Sprintf("%s=%s@%d", x.key, joinedText(&l.value, &r.value), max(l.ts, r.ts)))
		}
		stored = append(stored, x)
	}
	return out
}

func streamJoinTopology(t *testing.T, kind joinKind, w streams.JoinWindows) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	left := streams.StreamFrom(b, streams.String, streams.String, []string{"left"})
	right := streams.StreamFrom(b, streams.String, streams.String, []string{"right"})
	var joined streams.Stream[string, string]
	switch kind {
	case innerJoin:
		joined = streams.JoinStreams(left, right, func(_, l, r string) string { return joinedText(&l, &r) }, w)
	case leftJoin:
		joined = streams.LeftJoinStreams(left, right, func(_, l string, r *string) string { return joinedText(&l, r) }, w)
	case outerJoin:
		joined = streams.OuterJoinStreams(left, right, func(_ string, l, r *string) string { return joinedText(l, r) }, w)
	}
	joined.To("joined", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// pipeStreamEvents pipes the events into the "left" and "right" topics
// (the right one, or a table's, per its serde) and returns what "joined"
// received as key=value@ts.
func pipeStreamEvents(t *testing.T, d *streams.TestDriver, rightTopic string, events []streamEvent) []string {
	t.Helper()
	left := streams.NewTestInputTopic(d, "left", streams.String, streams.String)
	right := streams.NewTestInputTopic(d, rightTopic, streams.String, streams.String)
	for _, e := range events {
		in := right
		if e.left {
			in = left
		}
		r := streams.Record[string, string]{Key: e.key, Value: e.value, Timestamp: time.UnixMilli(e.ts), Tombstone: e.tombstone}
		if err := in.PipeRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	return readJoined(t, d)
}

func readJoined(t *testing.T, d *streams.TestDriver) []string {
	t.Helper()
	records, err := streams.NewTestOutputTopic(d, "joined", streams.String, streams.String).ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(records))
	for i, r := range records {
		out[i] = fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Timestamp.UnixMilli())
	}
	return out
}

func TestStreamStreamJoinModel(t *testing.T) {
	for _, kind := range []joinKind{innerJoin, leftJoin, outerJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(joinModelSeeds) {
				rng := rand.New(rand.NewPCG(seed, uint64(kind)))
				w := randomJoinWindows(rng)
				events := randomStreamEvents(rng, 10+rng.IntN(40))
				d, err := streams.NewTestDriver(streamJoinTopology(t, kind, w), streams.TestDriverConfig{})
				if err != nil {
					t.Fatal(err)
				}
				got := pipeStreamEvents(t, d, "right", events)
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				want := modelStreamJoin(events, w, kind)
				// Records emitted by one input come out in an order the
				// model does not define; compare them as multisets.
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d, windows %+v, events %+v:\n got %v\nwant %v", seed, w, events, got, want)
				}
			}
		})
	}
}

// modelStreamTableJoin joins each stream record with the table as the
// records before it left it.
func modelStreamTableJoin(events []streamEvent, left bool) []string {
	table := make(map[string]string)
	var out []string
	for _, e := range events {
		if !e.left {
			if e.tombstone {
				delete(table, e.key)
			} else {
				table[e.key] = e.value
			}
			continue
		}
		if e.tombstone {
			continue
		}
		v, ok := table[strings.ToLower(e.key)]
		switch {
		case ok:
			out = append(out, fmt.Sprintf("%s=%s@%d", strings.ToLower(e.key), joinedText(&e.value, &v), e.ts))
		case left:
			out = append(out, fmt.Sprintf("%s=%s@%d", strings.ToLower(e.key), joinedText(&e.value, nil), e.ts))
		}
	}
	return out
}

// streamTableTopology joins the "left" stream with the table of topic
// "right"; with rekey the stream's keys are upper case and lower-cased by
// SelectKey, so the join repartitions the stream first.
func streamTableTopology(t *testing.T, left, rekey bool) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	s := streams.StreamFrom(b, streams.String, streams.String, []string{"left"})
	if rekey {
		s = streams.SelectKey(s, func(k, _ string) string { return strings.ToLower(k) })
	}
	table := streams.TableFrom(b, "right", streams.String, streams.String)
	cfg := streams.Joined[string, string]{Keys: streams.String, Values: streams.String}
	var joined streams.Stream[string, string]
	if left {
		joined = streams.LeftJoinStreamTable(s, table, func(_, v string, tv *string) string { return joinedText(&v, tv) }, cfg)
	} else {
		joined = streams.JoinStreamTable(s, table, func(_, v, tv string) string { return joinedText(&v, &tv) }, cfg)
	}
	joined.To("joined", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestStreamTableJoinModel(t *testing.T) {
	for _, kind := range []joinKind{innerJoin, leftJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(joinModelSeeds) {
				rng := rand.New(rand.NewPCG(seed, uint64(kind)))
				rekey := rng.IntN(2) == 0
				cache := int64(rng.IntN(2)) * 1 << 20
				events := randomStreamEvents(rng, 10+rng.IntN(40))
				if rekey {
					for i := range events {
						if events[i].left {
							events[i].key = strings.ToUpper(events[i].key)
						}
					}
				}
				topo := streamTableTopology(t, kind == leftJoin, rekey)
				d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{CacheMaxBytes: cache})
				if err != nil {
					t.Fatal(err)
				}
				got := pipeStreamEvents(t, d, "right", events)
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				if want := modelStreamTableJoin(events, kind == leftJoin); !slices.Equal(got, want) {
					t.Fatalf("seed %d (rekey %v), events %+v:\n got %v\nwant %v", seed, rekey, events, got, want)
				}
			}
		})
	}
}

// tableEvent is an update of the left or right table, or a probe: a
// stream record that looks the joined table up.
type tableEvent struct {
	side   string // "left", "right" or "probe"
	key    string
	value  string
	delete bool
}

func randomTableEvents(rng *rand.Rand, n int) []tableEvent {
	events := make([]tableEvent, n)
	for i := range events {
		events[i] = tableEvent{
			side:   [...]string{"left", "right", "probe"}[rng.IntN(3)],
			key:    string(rune('a' + rng.IntN(4))),
			value:  fmt.Sprintf("v%d", i),
			delete: rng.IntN(4) == 0,
		}
	}
	return events
}

// modelTableJoin is the joined table of two tables' current contents.
func modelTableJoin(left, right map[string]string, kind joinKind) map[string]string {
	out := make(map[string]string)
	for _, k := range slices.Concat(slices.Collect(maps.Keys(left)), slices.Collect(maps.Keys(right))) {
		l, hasLeft := left[k]
		r, hasRight := right[k]
		if !hasLeft && kind != outerJoin || !hasRight && kind == innerJoin {
			continue
		}
		lp, rp := &l, &r
		if !hasLeft {
			lp = nil
		}
		if !hasRight {
			rp = nil
		}
		out[k] = joinedText(lp, rp)
	}
	return out
}

// tableJoinTopology joins the tables of "left" and "right", writes the
// result's changes to "joined" and joins the "probe" stream with it, to
// "probed". materialized keeps the result in store "joined".
func tableJoinTopology(t *testing.T, kind joinKind, materialized bool) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	left := streams.TableFrom(b, "left", streams.String, streams.String)
	right := streams.TableFrom(b, "right", streams.String, streams.String)
	var opts []streams.StoreOption
	if materialized {
		opts = append(opts, streams.As("joined"))
	}
	var joined streams.Table[string, string]
	switch kind {
	case innerJoin:
		joined = streams.JoinTables(left, right, func(_, l, r string) string { return joinedText(&l, &r) }, streams.String, opts...)
	case leftJoin:
		joined = streams.LeftJoinTables(left, right, func(_, l string, r *string) string { return joinedText(&l, r) }, streams.String, opts...)
	case outerJoin:
		joined = streams.OuterJoinTables(left, right, func(_ string, l, r *string) string { return joinedText(l, r) }, streams.String, opts...)
	}
	joined.ToStream().To("joined", streams.String, streams.String)
	probe := streams.StreamFrom(b, streams.String, streams.String, []string{"probe"})
	streams.LeftJoinStreamTable(probe, joined, func(_, _ string, v *string) string {
		if v == nil {
			return "none"
		}
		return *v
	}).To("probed", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestTableTableJoinModel(t *testing.T) {
	for _, kind := range []joinKind{innerJoin, leftJoin, outerJoin} {
		t.Run(kind.String(), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(joinModelSeeds) {
				rng := rand.New(rand.NewPCG(seed, uint64(kind)))
				materialized := rng.IntN(2) == 0
				cache := int64(rng.IntN(2)) * 1 << 20
				d, err := streams.NewTestDriver(tableJoinTopology(t, kind, materialized), streams.TestDriverConfig{CacheMaxBytes: cache})
				if err != nil {
					t.Fatal(err)
				}
				runTableJoinModel(t, d, kind, randomTableEvents(rng, 10+rng.IntN(40)))
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// runTableJoinModel pipes the events and checks, after each, that the
// table the join's changes build equals the model's joined table, and that
// a probe reads the model's value.
func runTableJoinModel(t *testing.T, d *streams.TestDriver, kind joinKind, events []tableEvent) {
	t.Helper()
	tables := map[string]map[string]string{"left": {}, "right": {}}
	joined := make(map[string]string)
	out := streams.NewTestOutputTopic(d, "joined", streams.String, streams.String)
	probed := streams.NewTestOutputTopic(d, "probed", streams.String, streams.String)
	for i, e := range events {
		in := streams.NewTestInputTopic(d, e.side, streams.String, streams.String)
		ts := time.UnixMilli(int64(1000 + i))
		var err error
		switch {
		case e.side == "probe":
			err = in.Pipe(e.key, "", ts)
		case e.delete:
			delete(tables[e.side], e.key)
			err = in.PipeTombstone(e.key, ts)
		default:
			tables[e.side][e.key] = e.value
			err = in.Pipe(e.key, e.value, ts)
		}
		if err != nil {
			t.Fatal(err)
		}
		records, err := out.ReadRecords()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			if r.Tombstone {
				delete(joined, r.Key)
			} else {
				joined[r.Key] = r.Value
			}
		}
		want := modelTableJoin(tables["left"], tables["right"], kind)
		if !maps.Equal(joined, want) {
			t.Fatalf("%s join, after event %d of %+v:\n got %v\nwant %v", kind, i, events, joined, want)
		}
		if e.side == "probe" {
			checkProbe(t, probed, e.key, want)
		}
	}
}

func checkProbe(t *testing.T, probed *streams.TestOutputTopic[string, string], key string, want map[string]string) {
	t.Helper()
	r, ok, err := probed.ReadRecord()
	if err != nil || !ok {
		t.Fatalf("probe of %q: no result (%v)", key, err)
	}
	wantValue, found := want[key]
	if !found {
		wantValue = "none"
	}
	if r.Key != key || r.Value != wantValue {
		t.Fatalf("probe of %q read %s=%s, want %s", key, r.Key, r.Value, wantValue)
	}
}
