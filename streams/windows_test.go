package streams

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams/internal/store"
)

// RestartTestDriver closes d and starts a driver of the same topology whose
// stores are restored from d's changelog topics, as an application instance
// restarting without its state directory would be; the changelogs carry
// over, so that it can restart again.
func RestartTestDriver(d *TestDriver, cfg TestDriverConfig) (*TestDriver, error) {
	if err := d.Close(); err != nil {
		return nil, err
	}
	next, err := NewTestDriver(d.env.topology, cfg)
	if err != nil {
		return nil, err
	}
	for _, tk := range next.tasks {
		for _, ts := range tk.stores {
			if ts.changelogTopic == "" {
				continue
			}
			log := d.topics[ts.changelogTopic]
			for _, rec := range log {
				if err := store.Restore(ts.raw, rec.key, rec.value); err != nil {
					return nil, err
				}
			}
			if err := ts.raw.Commit(store.Checkpoint{Offset: int64(len(log))}); err != nil {
				return nil, err
			}
			next.topics[ts.changelogTopic] = slices.Clone(log)
		}
	}
	return next, nil
}

// capture adds a node that records the changes a table forwards.
func capture[K, V any](t Table[K, V], into *[]Record[K, change[V]]) {
	addStatelessNode(t.b, "CAPTURE-", func(forwarder[K, change[V]]) receiver[K, change[V]] {
		return receiverFunc[K, change[V]](func(r Record[K, change[V]]) { *into = append(*into, r) })
	}, t.n)
}

func describeChange[V any](c change[V]) string {
	var b strings.Builder
	if c.hasNew {
		fmt.Fprint(&b, c.newValue)
	} else {
		b.WriteString("-")
	}
	b.WriteString("<-")
	if c.hasOld {
		fmt.Fprint(&b, c.oldValue)
	} else {
		b.WriteString("-")
	}
	return b.String()
}

func TestWindowedChangesCarryOldValues(t *testing.T) {
	for _, cacheBytes := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cacheBytes), func(t *testing.T) {
			b := NewBuilder()
			s := StreamFrom(b, String, String, []string{"in"})
			counts := WindowedBy(GroupByKey(s, String, String), TimeWindowsOf(10*time.Millisecond).AdvanceBy(5*time.Millisecond)).Count()
			var got []Record[Windowed[string], change[int64]]
			capture(counts, &got)
			d := mustDriver(t, b, cacheBytes)
			in := NewTestInputTopic(d, "in", String, String)
			for _, ts := range []int64{3, 7, 12} {
				if err := in.Pipe("k", "v", time.UnixMilli(ts)); err != nil {
					t.Fatal(err)
				}
			}
			var lines []string
			for _, r := range got {
				lines = append(lines, fmt.Sprintf("%v=%s@%d", r.Key, describeChange(r.Value), toMillis(r.Timestamp)))
			}
			want := "k@[0,10]=1<--@3 k@[0,10]=2<-1@7 k@[5,15]=1<--@7 k@[5,15]=2<-1@12 k@[10,20]=1<--@12"
			if strings.Join(lines, " ") != want {
				t.Fatalf("changes\n got %s\nwant %s", strings.Join(lines, " "), want)
			}
		})
	}
}

func mustDriver(t *testing.T, b *Builder, cacheBytes int64) *TestDriver {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewTestDriver(topo, TestDriverConfig{CacheMaxBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestWindowedChangelogConfigs(t *testing.T) {
	b := NewBuilder()
	s := StreamFrom(b, String, String, []string{"in"})
	g := GroupByKey(s, String, String)
	WindowedBy(g, TimeWindowsOf(time.Minute).WithGrace(time.Minute)).Count(As("tumbling"))
	WindowedBy(g, TimeWindowsOf(time.Minute)).Count(As("kept"), WithRetention(time.Hour))
	SessionWindowedBy(g, SessionWindowsOf(time.Minute)).Count(As("sessions"))
	WindowedBy(g, TimeWindowsOf(time.Minute)).Count(As("configured"), WithLoggingConfig(map[string]string{"retention.ms": "5"}))
	for _, tc := range []struct {
		store, policy, retention string
	}{
		{"tumbling", "compact,delete", fmt.Sprint((2*time.Minute + 24*time.Hour).Milliseconds())},
		{"kept", "compact,delete", fmt.Sprint((time.Hour + 24*time.Hour).Milliseconds())},
		{"sessions", "compact,delete", fmt.Sprint((time.Minute + time.Millisecond + 24*time.Hour).Milliseconds())},
		{"configured", "compact,delete", "5"},
	} {
		topic := b.t.internalTopics[tc.store+"-changelog"]
		if topic == nil {
			t.Fatalf("no changelog for %s", tc.store)
		}
		if got := topic.configs["cleanup.policy"]; got != tc.policy {
			t.Errorf("%s: cleanup.policy %q, want %q", tc.store, got, tc.policy)
		}
		if got := topic.configs["retention.ms"]; got != tc.retention {
			t.Errorf("%s: retention.ms %q, want %q", tc.store, got, tc.retention)
		}
	}
}

func TestInvalidWindowsFailTheTopology(t *testing.T) {
	for name, build := range map[string]func(g Grouped[string, string]){
		"zero size": func(g Grouped[string, string]) { WindowedBy(g, TimeWindowsOf(0)).Count() },
		"advance > size": func(g Grouped[string, string]) {
			WindowedBy(g, TimeWindowsOf(time.Second).AdvanceBy(time.Minute)).Count()
		},
		"negative grace":   func(g Grouped[string, string]) { WindowedBy(g, TimeWindowsOf(time.Second).WithGrace(-1)).Count() },
		"sliding zero":     func(g Grouped[string, string]) { SlidingWindowedBy(g, SlidingWindowsOf(0)).Count() },
		"session zero gap": func(g Grouped[string, string]) { SessionWindowedBy(g, SessionWindowsOf(0)).Count() },
		"suppress unwindowed": func(g Grouped[string, string]) {
			byWindow := GroupBy(g.s, func(k, _ string) Windowed[string] { return Windowed[string]{Key: k} },
				TimeWindowedSerde(String, time.Second), String)
			SuppressUntilWindowCloses(Count(byWindow))
		},
	} {
		b := NewBuilder()
		build(GroupByKey(StreamFrom(b, String, String, []string{"in"}), String, String))
		if _, err := b.Build(); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
}

func TestWindowedSerdesUseKafkaFormats(t *testing.T) {
	w := Windowed[string]{Key: "k", Start: time.UnixMilli(0x0102), End: time.UnixMilli(0x0304)}
	timeBytes, err := TimeWindowedSerde(String, 5*time.Millisecond).Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{'k', 0, 0, 0, 0, 0, 0, 1, 2}; !bytes.Equal(timeBytes, want) {
		t.Errorf("time-windowed key %x, want %x", timeBytes, want)
	}
	back, err := TimeWindowedSerde(String, 5*time.Millisecond).Deserialize("t", timeBytes)
	if err != nil || back.Key != "k" || toMillis(back.Start) != 0x0102 || toMillis(back.End) != 0x0102+5 {
		t.Errorf("time-windowed key read back as %v, %v", back, err)
	}
	sessionBytes, err := SessionWindowedSerde(String).Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{'k', 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 1, 2}; !bytes.Equal(sessionBytes, want) {
		t.Errorf("session key %x, want %x", sessionBytes, want)
	}
	back, err = SessionWindowedSerde(String).Deserialize("t", sessionBytes)
	if err != nil || back != w {
		t.Errorf("session key read back as %v, %v", back, err)
	}
	for _, short := range [][]byte{{1, 2, 3}, {}} {
		if _, err := TimeWindowedSerde(String, time.Second).Deserialize("t", short); err == nil {
			t.Errorf("time-windowed key of %d bytes read", len(short))
		}
		if _, err := SessionWindowedSerde(String).Deserialize("t", short); err == nil {
			t.Errorf("session key of %d bytes read", len(short))
		}
	}
}

// windowStoreProcessor keeps the last value per key and 10ms window in a
// window store, and forwards what the window held.
type windowStoreProcessor struct {
	ctx   ProcessorContext[string, string]
	store WindowStore[string, string]
}

func (p *windowStoreProcessor) Init(ctx ProcessorContext[string, string]) error {
	p.ctx = ctx
	var err error
	p.store, err = WindowStoreOf[string, string](ctx, "last")
	return err
}

func (p *windowStoreProcessor) Process(r Record[string, string]) error {
	start := time.UnixMilli(toMillis(r.Timestamp) / 10 * 10)
	old, ok, err := p.store.Fetch(r.Key, start)
	if err != nil {
		return err
	}
	if !ok {
		old = "none"
	}
	p.ctx.Forward(Record[string, string]{Key: r.Key, Value: old, Timestamp: r.Timestamp})
	return p.store.Put(r.Key, r.Value, start)
}

func (p *windowStoreProcessor) Close() error { return nil }

func TestWindowStoreInProcessorAPI(t *testing.T) {
	topo := NewTopology()
	src := AddSource(topo, "src", String, String, "in")
	proc := AddProcessor(topo, "proc", func() Processor[string, string, string, string] { return &windowStoreProcessor{} }, src)
	topo.AddStateStore(WindowStoreBuilder("last", String, String, 10*time.Millisecond, 30*time.Millisecond), "proc")
	AddSink(topo, "sink", "out", String, String, proc)
	d, err := NewTestDriver(topo, TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := NewTestInputTopic(d, "in", String, String)
	for _, p := range []struct {
		value string
		ts    int64
	}{{"a", 1}, {"b", 5}, {"c", 12}, {"d", 50}, {"e", 3}} {
		if err := in.Pipe("k", p.value, time.UnixMilli(p.ts)); err != nil {
			t.Fatal(err)
		}
	}
	records, err := NewTestOutputTopic(d, "out", String, String).ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, r.Value)
	}
	// "e" at 3 goes to window 0, which retention dropped at stream time 50:
	// it finds nothing and its put is ignored.
	if want := "none a none none none"; strings.Join(got, " ") != want {
		t.Fatalf("forwarded %q, want %q", strings.Join(got, " "), want)
	}
	s, err := d.StateStore("last")
	if err != nil {
		t.Fatal(err)
	}
	ws, err := WindowStoreOf[string, string](d, "last")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "last" || !s.Persistent() {
		t.Errorf("store %q persistent %v", s.Name(), s.Persistent())
	}
	it, err := ws.All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	got = got[:0]
	for it.Next() {
		got = append(got, fmt.Sprintf("%v=%s", it.Key(), it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "k@[50,60]=d"; strings.Join(got, " ") != want {
		t.Fatalf("store holds %q, want %q", strings.Join(got, " "), want)
	}
}

func TestSessionStoreInProcessorAPI(t *testing.T) {
	topo := NewTopology()
	src := AddSource(topo, "src", String, String, "in")
	AddProcessorFunc(topo, "proc", func(ctx ProcessorContext[string, string], r Record[string, string]) error {
		sessions, err := SessionStoreOf[string, string](ctx, "sessions")
		if err != nil {
			return err
		}
		ts := r.Timestamp
		return sessions.Put(Windowed[string]{Key: r.Key, Start: ts.Add(-time.Duration(len(r.Value)) * time.Millisecond), End: ts}, r.Value)
	}, src)
	topo.AddStateStore(SessionStoreBuilder("sessions", String, String, time.Second), "proc")
	d, err := NewTestDriver(topo, TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := NewTestInputTopic(d, "in", String, String)
	for _, p := range []struct {
		key, value string
		ts         int64
	}{{"a", "xx", 10}, {"a", "xxxxx", 40}, {"b", "x", 20}, {"a", "x", 100}} {
		if err := in.Pipe(p.key, p.value, time.UnixMilli(p.ts)); err != nil {
			t.Fatal(err)
		}
	}
	ss, err := SessionStoreOf[string, string](d, "sessions")
	if err != nil {
		t.Fatal(err)
	}
	read := func(it KeyValueIterator[Windowed[string], string], err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, fmt.Sprintf("%v=%s", it.Key(), it.Value()))
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	if got, want := read(ss.Fetch("a")), "a@[8,10]=xx a@[35,40]=xxxxx a@[99,100]=x"; got != want {
		t.Errorf("Fetch(a) = %q, want %q", got, want)
	}
	if got, want := read(ss.FindSessions("a", time.UnixMilli(20), time.UnixMilli(50))), "a@[35,40]=xxxxx"; got != want {
		t.Errorf("FindSessions(a, 20, 50) = %q, want %q", got, want)
	}
	if err := ss.Remove(Windowed[string]{Key: "a", Start: time.UnixMilli(35), End: time.UnixMilli(40)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := ss.FetchSession("a", time.UnixMilli(35), time.UnixMilli(40)); ok || err != nil {
		t.Errorf("removed session still there (%v)", err)
	}
	if v, ok, err := ss.FetchSession("b", time.UnixMilli(19), time.UnixMilli(20)); !ok || err != nil || v != "x" {
		t.Errorf("FetchSession(b) = %q, %v, %v", v, ok, err)
	}
}

// pipeBatch processes several records before committing once, as a stream
// thread does between commits, so that caches hold several records'
// updates when the next record reads them.
func pipeBatch(d *TestDriver, topic string, records []Record[string, int32]) error {
	for _, r := range records {
		key, _ := String.Serialize(topic, r.Key)
		value, _ := Int32.Serialize(topic, r.Value)
		d.send(topic, 0, key, value, nil, toMillis(r.Timestamp))
	}
	for {
		for len(d.pending) > 0 {
			rec := d.pending[0]
			d.pending = d.pending[1:]
			if err := d.readers[rec.topic].process(rec); err != nil {
				return err
			}
		}
		if err := d.commit(); err != nil {
			return err
		}
		if len(d.pending) == 0 {
			return nil
		}
	}
}

// windowedOutcome is what a run of a windowed topology produced: the last
// value per window of the updates topic, the suppressed output, and the
// count of late records.
type windowedOutcome struct {
	updates, final map[string]string
	dropped        int64
}

func runBatched(t *testing.T, build func(g Grouped[string, int32]) (Table[Windowed[string], []int], Serde[Windowed[string]]),
	records []Record[string, int32], cacheBytes int64, batches []int) windowedOutcome {
	t.Helper()
	b := NewBuilder()
	g := GroupByKey(StreamFrom(b, String, Int32, []string{"in"}), String, Int32)
	table, keys := build(g)
	ids := JSON[[]int]()
	table.ToStream().To("updates", keys, ids)
	SuppressUntilWindowCloses(table).ToStream().To("final", keys, ids)
	d := mustDriver(t, b, cacheBytes)
	for _, n := range batches {
		if err := pipeBatch(d, "in", records[:n]); err != nil {
			t.Fatal(err)
		}
		records = records[n:]
	}
	read := func(topic string) map[string]string {
		out, err := NewTestOutputTopic(d, topic, keys, ids).ReadRecords()
		if err != nil {
			t.Fatal(err)
		}
		m := make(map[string]string)
		for _, r := range out {
			if _, dup := m[r.Key.String()]; dup && topic == "final" {
				t.Fatalf("%v emitted twice", r.Key)
			}
			if r.Tombstone {
				delete(m, r.Key.String())
				continue
			}
			slices.Sort(r.Value)
			m[r.Key.String()] = fmt.Sprint(r.Value)
		}
		return m
	}
	return windowedOutcome{updates: read("updates"), final: read("final"), dropped: d.Metrics().DroppedLateRecords}
}

// TestCachingAndBatchingDoNotChangeResults runs random records through
// each kind of windows once record by record without a cache, and once in
// random batches between commits with caches of random sizes: the results
// must be the same.
func TestCachingAndBatchingDoNotChangeResults(t *testing.T) {
	appendID := func(_ string, v int32, ids []int) []int { return append(slices.Clip(ids), int(v)) }
	ids := JSON[[]int]()
	ms := time.Millisecond
	kinds := map[string]func(g Grouped[string, int32]) (Table[Windowed[string], []int], Serde[Windowed[string]]){
		"hopping": func(g Grouped[string, int32]) (Table[Windowed[string], []int], Serde[Windowed[string]]) {
			w := TimeWindowsOf(10 * ms).AdvanceBy(3 * ms).WithGrace(4 * ms)
			return WindowedAggregate(WindowedBy(g, w), func() []int { return nil }, appendID, ids), TimeWindowedSerde(String, 10*ms)
		},
		"sliding": func(g Grouped[string, int32]) (Table[Windowed[string], []int], Serde[Windowed[string]]) {
			w := SlidingWindowsOf(6 * ms).WithGrace(3 * ms)
			return WindowedAggregate(SlidingWindowedBy(g, w), func() []int { return nil }, appendID, ids), TimeWindowedSerde(String, 6*ms)
		},
		"session": func(g Grouped[string, int32]) (Table[Windowed[string], []int], Serde[Windowed[string]]) {
			w := SessionWindowsOf(4 * ms).WithGrace(3 * ms)
			merge := func(_ string, a, b []int) []int { return append(slices.Clip(a), b...) }
			return SessionAggregate(SessionWindowedBy(g, w), func() []int { return nil }, appendID, merge, ids), SessionWindowedSerde(String)
		},
	}
	for name, build := range kinds {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(100) {
				rng := rand.New(rand.NewPCG(seed, 7))
				records := randomRecords(rng, 60)
				ones := make([]int, len(records))
				for i := range ones {
					ones[i] = 1
				}
				var batches []int
				for left := len(records); left > 0; {
					n := min(left, 1+rng.IntN(12))
					batches, left = append(batches, n), left-n
				}
				want := runBatched(t, build, records, 0, ones)
				got := runBatched(t, build, records, []int64{150, 600, 1 << 20}[seed%3], batches)
				if !maps.Equal(got.updates, want.updates) || !maps.Equal(got.final, want.final) || got.dropped != want.dropped {
					t.Fatalf("seed %d, batches %v: batched and cached, against record by record: dropped %d, %d\nupdates: %s\nfinal: %s",
						seed, batches, got.dropped, want.dropped, mapDiff(got.updates, want.updates), mapDiff(got.final, want.final))
				}
			}
		})
	}
}

func randomRecords(rng *rand.Rand, n int) []Record[string, int32] {
	streamTime := rng.Int64N(10)
	out := make([]Record[string, int32], n)
	for i := range out {
		ts := streamTime - rng.Int64N(12)
		if rng.IntN(2) == 0 {
			streamTime += rng.Int64N(4)
			ts = streamTime
		}
		out[i] = Record[string, int32]{Key: []string{"a", "b"}[rng.IntN(2)], Value: int32(i), Timestamp: time.UnixMilli(max(ts, 0))}
	}
	return out
}

func mapDiff(got, want map[string]string) string {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			diffs = append(diffs, fmt.Sprintf("%s=%s want %s", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s=%s not wanted", k, g))
		}
	}
	slices.Sort(diffs)
	return strings.Join(diffs, "; ")
}

func TestSuppressedTableReadsWhatItEmitted(t *testing.T) {
	b := NewBuilder()
	s := StreamFrom(b, String, String, []string{"in"})
	// Retention past the window's close, for the parent store to answer
	// once the window is emitted.
	counts := WindowedBy(GroupByKey(s, String, String), TimeWindowsOf(10*time.Millisecond)).Count(WithRetention(time.Minute))
	final := SuppressUntilWindowCloses(counts)
	d := mustDriver(t, b, 0)
	get, err := final.getter(d.tasks[0])
	if err != nil {
		t.Fatal(err)
	}
	first, second := windowed("a", 0, 10), windowed("a", 10, 20)
	in := NewTestInputTopic(d, "in", String, String)
	for _, step := range []struct {
		ts          int64
		read        Windowed[string]
		want        int64
		wantPresent bool
	}{
		{1, first, 0, false}, // buffered: nothing emitted yet
		{2, first, 0, false},
		{12, first, 2, true}, // emitted
		{13, second, 0, false},
		{25, second, 2, true},
	} {
		if err := in.Pipe("a", "v", time.UnixMilli(step.ts)); err != nil {
			t.Fatal(err)
		}
		v, ok, err := get(step.read)
		if err != nil || ok != step.wantPresent || v.Value != step.want {
			t.Errorf("after %d: %v reads %d, %v, %v; want %d, %v", step.ts, step.read, v.Value, ok, err, step.want, step.wantPresent)
		}
	}
}

func TestWindowedCountAfterGroupByRepartitions(t *testing.T) {
	b := NewBuilder()
	s := StreamFrom(b, String, String, []string{"in"})
	g := GroupBy(s, func(_, v string) string { return v }, String, String)
	counts := WindowedBy(g, TimeWindowsOf(10*time.Millisecond)).Count(As("by-value"))
	counts.ToStream().To("out", TimeWindowedSerde(String, 10*time.Millisecond), Int64)
	desc := b.t.Describe()
	for _, want := range []string{"by-value-repartition (repartition)", "by-value-changelog (changelog)", "(stores: [by-value])"} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
	d := mustDriver(t, b, 0)
	in := NewTestInputTopic(d, "in", String, String)
	for i, v := range []string{"x", "y", "x"} {
		if err := in.Pipe(fmt.Sprint(i), v, time.UnixMilli(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	records, err := NewTestOutputTopic(d, "out", TimeWindowedSerde(String, 10*time.Millisecond), Int64).ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, fmt.Sprintf("%v=%d", r.Key, r.Value))
	}
	if want := "x@[0,10]=1 y@[0,10]=1 x@[0,10]=2"; strings.Join(got, " ") != want {
		t.Fatalf("counts %q, want %q", strings.Join(got, " "), want)
	}
}
