package streams_test

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// The windowed aggregations are checked against brute-force models over
// many random seeds: out-of-order records, records late for some of their
// windows and records late for all, several keys (one with a zero byte),
// caching off, on, and small enough to flush in the middle of a record.
// Each record's aggregate is the list of record ids it holds, so a model
// and the topology agree only if every window holds exactly the right
// records. A model recomputes the windows from the accepted records after
// every record, and says which windows changed while open: those the
// topology must forward. Suppressed output must hold each window once,
// with the value it had when it closed.

const modelSeeds = 200

// modelEvent is one input record.
type modelEvent struct {
	key string
	ts  int64
	id  int
}

// modelWindow names a window of a key, in milliseconds.
type modelWindow struct {
	key        string
	start, end int64
}

func (w modelWindow) String() string { return fmt.Sprintf("%q@[%d,%d]", w.key, w.start, w.end) }

// windowModel is a brute-force model of one windowed aggregation.
type windowModel interface {
	// step processes one record and returns the windows whose value
	// changed while they were open, with their new values (nil: deleted).
	step(e modelEvent) map[modelWindow][]int
	dropped() int64
	// closed reports whether a window is closed at the stream time seen.
	closed(w modelWindow) bool
}

var modelKeys = []string{"a", "b", "a\x00b"}

// genEvents makes records around an advancing stream time: most advance
// it, some are a little late, some very late. spread is the scale of the
// windows, so that records fall into several and some close.
func genEvents(rng *rand.Rand, n int, spread int64) []modelEvent {
	streamTime := rng.Int64N(2 * spread)
	events := make([]modelEvent, n)
	for i := range events {
		ts := streamTime
		switch p := rng.IntN(100); {
		case p < 55:
			streamTime += rng.Int64N(spread/3 + 2)
			ts = streamTime
		case p < 85:
			ts = streamTime - rng.Int64N(spread+1)
		default:
			ts = streamTime - rng.Int64N(4*spread+1)
		}
		events[i] = modelEvent{key: modelKeys[rng.IntN(len(modelKeys))], ts: max(ts, 0), id: i}
	}
	return events
}

var idsSerde = streams.JSON[[]int]()

func appendID(_ string, v int32, ids []int) []int { return append(slices.Clip(ids), int(v)) }

func mergeIDs(_ string, a, b []int) []int { return append(slices.Clip(a), b...) }

func sortedIDs(ids []int) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return fmt.Sprint(s)
}

// modelCase is one kind of windows: how to build the aggregation and its
// model for a seed.
type modelCase struct {
	name  string
	setup func(rng *rand.Rand) (build func(g streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int],
		keys streams.Serde[streams.Windowed[string]], model windowModel, spread int64)
}

func TestWindowedAggregationsMatchModels(t *testing.T) {
	cases := []modelCase{
		{name: "tumbling", setup: func(rng *rand.Rand) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
			size := 2 + rng.Int64N(20)
			return timeWindowsCase(size, size, rng.Int64N(12))
		}},
		{name: "hopping", setup: func(rng *rand.Rand) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
			size := 2 + rng.Int64N(20)
			return timeWindowsCase(size, 1+rng.Int64N(size), rng.Int64N(12))
		}},
		{name: "sliding", setup: func(rng *rand.Rand) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
			return slidingCase(1+rng.Int64N(15), rng.Int64N(12))
		}},
		{name: "session", setup: func(rng *rand.Rand) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
			return sessionCase(1+rng.Int64N(10), rng.Int64N(12))
		}},
	}
	seeds := modelSeeds
	if testing.Short() {
		seeds = 50
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := range uint64(seeds) {
				rng := rand.New(rand.NewPCG(seed, 0x5eed))
				cacheBytes := []int64{0, 1 << 20, 150}[seed%3]
				build, keys, model, spread := c.setup(rng)
				events := genEvents(rng, 40+rng.IntN(40), spread)
				if err := runModelCase(build, keys, model, events, cacheBytes); err != nil {
					t.Fatalf("seed %d, cache %d bytes: %v\nrecords (key, ts, id): %v", seed, cacheBytes, err, events)
				}
			}
		})
	}
}

// runModelCase pipes events through the aggregation and its suppression
// and compares both outputs and the count of late records with the model.
func runModelCase(build func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int],
	keys streams.Serde[streams.Windowed[string]], model windowModel, events []modelEvent, cacheBytes int64) error {
	b := streams.NewBuilder()
	in := streams.StreamFrom(b, streams.String, streams.Int32, []string{"in"})
	table := build(streams.GroupByKey(in, streams.String, streams.Int32))
	table.ToStream().To("updates", keys, idsSerde)
	streams.SuppressUntilWindowCloses(table).ToStream().To("final", keys, idsSerde)
	topo, err := b.Build()
	if err != nil {
		return err
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{CacheMaxBytes: cacheBytes})
	if err != nil {
		return err
	}
	defer d.Close()
	input := streams.NewTestInputTopic(d, "in", streams.String, streams.Int32)
	latest := make(map[modelWindow][]int) // the model's table: windows forwarded and not deleted
	everForwarded := make(map[modelWindow][]int)
	final := make(map[modelWindow][]int) // the model's suppressed output
	for _, e := range events {
		if err := input.Pipe(e.key, int32(e.id), time.UnixMilli(e.ts)); err != nil {
			return err
		}
		for w, ids := range model.step(e) {
			everForwarded[w] = ids
			if ids == nil {
				delete(latest, w)
			} else {
				latest[w] = ids
			}
		}
		for w, ids := range latest {
			if _, done := final[w]; !done && model.closed(w) {
				final[w] = ids
			}
		}
	}
	if got, want := d.Metrics().DroppedLateRecords, model.dropped(); got != want {
		return fmt.Errorf("%d records dropped as late, the model drops %d", got, want)
	}
	updates, err := readWindows(d, "updates", keys, false)
	if err != nil {
		return err
	}
	if err := compareWindows("updates", updates, nonNil(everForwarded)); err != nil {
		return err
	}
	finals, err := readWindows(d, "final", keys, true)
	if err != nil {
		return err
	}
	return compareWindows("final results", finals, final)
}

func nonNil(m map[modelWindow][]int) map[modelWindow][]int {
	out := make(map[modelWindow][]int, len(m))
	for w, ids := range m {
		if ids != nil {
			out[w] = ids
		}
	}
	return out
}

// readWindows returns the last value per window of a topic, tombstones
// deleting; once says each window must appear once only.
func readWindows(d *streams.TestDriver, topic string, keys streams.Serde[streams.Windowed[string]], once bool) (map[modelWindow][]int, error) {
	records, err := streams.NewTestOutputTopic(d, topic, keys, idsSerde).ReadRecords()
	if err != nil {
		return nil, err
	}
	out := make(map[modelWindow][]int)
	seen := make(map[modelWindow]bool)
	for _, r := range records {
		w := modelWindow{key: r.Key.Key, start: r.Key.Start.UnixMilli(), end: r.Key.End.UnixMilli()}
		if once && seen[w] {
			return nil, fmt.Errorf("%s: window %v emitted twice", topic, w)
		}
		seen[w] = true
		if r.Tombstone {
			delete(out, w)
			continue
		}
		out[w] = r.Value
	}
	return out, nil
}

func compareWindows(what string, got, want map[modelWindow][]int) error {
	var diffs []string
	for _, w := range slices.SortedFunc(maps.Keys(want), compareModelWindows) {
		if g, ok := got[w]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v missing, want %s", w, sortedIDs(want[w])))
		} else if sortedIDs(g) != sortedIDs(want[w]) {
			diffs = append(diffs, fmt.Sprintf("%v = %s, want %s", w, sortedIDs(g), sortedIDs(want[w])))
		}
	}
	for _, w := range slices.SortedFunc(maps.Keys(got), compareModelWindows) {
		if _, ok := want[w]; !ok {
			diffs = append(diffs, fmt.Sprintf("%v = %s, not in the model", w, sortedIDs(got[w])))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%s differ from the model:\n  %s", what, strings.Join(diffs, "\n  "))
	}
	return nil
}

func compareModelWindows(a, b modelWindow) int {
	switch {
	case a.key != b.key:
		return strings.Compare(a.key, b.key)
	case a.start != b.start:
		return int(a.start - b.start)
	}
	return int(a.end - b.end)
}

// timeModel: a record belongs to every window [start, start+size) holding
// it, starting at a multiple of advance, 0 or later; it is added to those
// whose end plus grace has not passed stream time, and counted once for
// each other.
type timeModel struct {
	size, advance, grace int64
	observed             int64
	windows              map[modelWindow][]int
	drops                int64
}

func timeWindowsCase(size, advance, grace int64) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
	ms := time.Millisecond
	windows := streams.TimeWindowsOf(time.Duration(size) * ms).AdvanceBy(time.Duration(advance) * ms).WithGrace(time.Duration(grace) * ms)
	build := func(g streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int] {
		return streams.WindowedAggregate(streams.WindowedBy(g, windows), func() []int { return nil }, appendID, idsSerde)
	}
	model := &timeModel{size: size, advance: advance, grace: grace, observed: -1, windows: make(map[modelWindow][]int)}
	return build, streams.TimeWindowedSerde(streams.String, time.Duration(size)*ms), model, size
}

func (m *timeModel) step(e modelEvent) map[modelWindow][]int {
	m.observed = max(m.observed, e.ts)
	changed := make(map[modelWindow][]int)
	for start := int64(0); start <= e.ts; start += m.advance {
		w := modelWindow{key: e.key, start: start, end: start + m.size}
		if e.ts >= w.end {
			continue
		}
		if w.end+m.grace <= m.observed {
			m.drops++
			continue
		}
		m.windows[w] = append(slices.Clip(m.windows[w]), e.id)
		changed[w] = m.windows[w]
	}
	return changed
}

func (m *timeModel) dropped() int64 { return m.drops }

func (m *timeModel) closed(w modelWindow) bool { return w.end+m.grace <= m.observed }

// slidingModel follows KIP-450's definition: for every accepted record at
// t the window [t-d, t] ([0, d] for records before d), and [t+1, t+1+d]
// when an accepted record falls into it; each window holds the accepted
// records in it, both ends included. A record is dropped when even its
// newest possible window, ending at t+d, ended before stream time minus
// grace; otherwise it is accepted, and windows change only while open.
type slidingModel struct {
	d, grace int64
	observed int64
	accepted map[string][]modelEvent
	windows  map[string]map[modelWindow][]int
	drops    int64
}

func slidingCase(d, grace int64) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
	ms := time.Millisecond
	windows := streams.SlidingWindowsOf(time.Duration(d) * ms).WithGrace(time.Duration(grace) * ms)
	build := func(g streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int] {
		return streams.WindowedAggregate(streams.SlidingWindowedBy(g, windows), func() []int { return nil }, appendID, idsSerde)
	}
	model := &slidingModel{d: d, grace: grace, observed: -1, accepted: make(map[string][]modelEvent), windows: make(map[string]map[modelWindow][]int)}
	return build, streams.TimeWindowedSerde(streams.String, time.Duration(d)*ms), model, d
}

func (m *slidingModel) step(e modelEvent) map[modelWindow][]int {
	m.observed = max(m.observed, e.ts)
	closeTime := m.observed - m.grace
	if e.ts+m.d < closeTime {
		m.drops++
		return nil
	}
	m.accepted[e.key] = append(m.accepted[e.key], e)
	recs := m.accepted[e.key]
	now := make(map[modelWindow][]int)
	add := func(start int64) {
		w := modelWindow{key: e.key, start: start, end: start + m.d}
		if _, done := now[w]; done {
			return
		}
		ids := []int{}
		for _, r := range recs {
			if r.ts >= w.start && r.ts <= w.end {
				ids = append(ids, r.id)
			}
		}
		now[w] = ids
	}
	for _, r := range recs {
		add(max(r.ts-m.d, 0))
		for _, later := range recs {
			if later.ts > r.ts && later.ts <= r.ts+1+m.d {
				add(r.ts + 1)
				break
			}
		}
	}
	changed := make(map[modelWindow][]int)
	for w, ids := range now {
		if w.end >= closeTime && sortedIDs(ids) != sortedIDs(m.windows[e.key][w]) {
			changed[w] = ids
		}
	}
	m.windows[e.key] = now
	return changed
}

func (m *slidingModel) dropped() int64 { return m.drops }

func (m *slidingModel) closed(w modelWindow) bool { return w.end+m.grace < m.observed }

// sessionModel keeps each key's sessions as lists of records. A record
// joins every session within the gap of it; if the merged session ends
// before stream time minus grace minus gap it is dropped, otherwise the
// merged sessions are replaced by one. Sessions that ended more than the
// store's retention (gap + grace + 1ms) before the newest session end are
// forgotten: nothing merges with them any more.
type sessionModel struct {
	gap, grace int64
	observed   int64
	newestEnd  int64
	sessions   map[string][]modelSession
	drops      int64
}

type modelSession struct {
	start, end int64
	ids        []int
}

func sessionCase(gap, grace int64) (func(streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int], streams.Serde[streams.Windowed[string]], windowModel, int64) {
	ms := time.Millisecond
	windows := streams.SessionWindowsOf(time.Duration(gap) * ms).WithGrace(time.Duration(grace) * ms)
	build := func(g streams.Grouped[string, int32]) streams.Table[streams.Windowed[string], []int] {
		return streams.SessionAggregate(streams.SessionWindowedBy(g, windows), func() []int { return nil }, appendID, mergeIDs, idsSerde)
	}
	model := &sessionModel{gap: gap, grace: grace, observed: -1, newestEnd: math.MinInt64, sessions: make(map[string][]modelSession)}
	return build, streams.SessionWindowedSerde(streams.String), model, gap + grace
}

func (m *sessionModel) step(e modelEvent) map[modelWindow][]int {
	m.observed = max(m.observed, e.ts)
	forgottenBefore := int64(math.MinInt64)
	if m.newestEnd != math.MinInt64 {
		forgottenBefore = m.newestEnd - (m.gap + m.grace + 1) + 1
	}
	merged := modelSession{start: e.ts, end: e.ts, ids: []int{e.id}}
	var keep []modelSession
	var joined []modelSession
	for _, s := range m.sessions[e.key] {
		if s.end >= forgottenBefore && s.end >= e.ts-m.gap && s.start <= e.ts+m.gap {
			joined = append(joined, s)
			merged.start, merged.end = min(merged.start, s.start), max(merged.end, s.end)
			merged.ids = append(merged.ids, s.ids...)
			continue
		}
		keep = append(keep, s)
	}
	if merged.end < m.observed-m.grace-m.gap {
		m.drops++
		return nil
	}
	changed := make(map[modelWindow][]int)
	for _, s := range joined {
		changed[modelWindow{key: e.key, start: s.start, end: s.end}] = nil
	}
	changed[modelWindow{key: e.key, start: merged.start, end: merged.end}] = merged.ids
	m.sessions[e.key] = append(keep, merged)
	m.newestEnd = max(m.newestEnd, merged.end)
	return changed
}

func (m *sessionModel) dropped() int64 { return m.drops }

func (m *sessionModel) closed(w modelWindow) bool { return w.end+m.gap+m.grace < m.observed }

// TestSessionModelInvariant checks the session model itself: sessions of a
// key that are still remembered never lie within the gap of each other.
func TestSessionModelInvariant(t *testing.T) {
	for seed := range uint64(modelSeeds) {
		rng := rand.New(rand.NewPCG(seed, 1))
		_, _, model, spread := sessionCase(1+rng.Int64N(10), rng.Int64N(12))
		m := model.(*sessionModel)
		for _, e := range genEvents(rng, 60, spread) {
			m.step(e)
		}
		for key, sessions := range m.sessions {
			live := slices.DeleteFunc(slices.Clone(sessions), func(s modelSession) bool { return s.end < m.newestEnd-m.gap-m.grace })
			sort.Slice(live, func(i, j int) bool { return live[i].start < live[j].start })
			for i := 1; i < len(live); i++ {
				if live[i].start-live[i-1].end <= m.gap {
					t.Fatalf("seed %d: sessions %v and %v of %q are within the gap %d", seed, live[i-1], live[i], key, m.gap)
				}
			}
		}
	}
}
