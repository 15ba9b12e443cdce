package streams_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/fjordhq/fjord/streams"
)

// joinStep pipes one record and lists what the join emits right after it.
type joinStep struct {
	topic string // "left" or "right"
	key   string
	value string // "" pipes a tombstone
	ts    int64
	want  []string // key=value@ts, in order
}

func runJoinSteps(t *testing.T, topo *streams.Topology, cfg streams.TestDriverConfig, steps []joinStep) {
	t.Helper()
	d, err := streams.NewTestDriver(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i, s := range steps {
		in := streams.NewTestInputTopic(d, s.topic, streams.String, streams.String)
		r := streams.Record[string, string]{Key: s.key, Value: s.value, Timestamp: time.UnixMilli(s.ts), Tombstone: s.value == ""}
		if err := in.PipeRecord(r); err != nil {
			t.Fatal(err)
		}
		if got := readJoined(t, d); !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%s %s=%s@%d): emitted %v, want %v", i, s.topic, s.key, s.value, s.ts, got, s.want)
		}
	}
}

func TestStreamStreamJoinSteps(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		kind  joinKind
		w     streams.JoinWindows
		steps []joinStep
	}{
		{"inner joins within the window", innerJoin, streams.JoinWithin(10*ms, 0), []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "k", "b", 105, []string{"k=a|b@105"}},
			{"right", "k", "c", 111, nil},
			{"left", "k", "d", 112, []string{"k=d|b@112", "k=d|c@112"}},
			{"right", "other", "e", 112, nil},
			{"left", "k", "", 113, nil},
		}},
		{"duplicates all join", innerJoin, streams.JoinWithin(10*ms, 0), []joinStep{
			{"left", "k", "a1", 100, nil},
			{"left", "k", "a2", 100, nil},
			{"right", "k", "b", 100, []string{"k=a1|b@100", "k=a2|b@100"}},
		}},
		{"asymmetric windows", innerJoin, streams.JoinWindows{Before: 0, After: 10 * ms}, []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "k", "b", 99, nil},
			{"right", "k", "c", 110, []string{"k=a|c@110"}},
			{"left", "k", "d", 105, []string{"k=d|c@110"}},
		}},
		{"left join emits the unjoined when the window closes", leftJoin, streams.JoinWithin(10*ms, 5*ms), []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "z", "x", 115, nil},
			{"left", "z", "y", 116, []string{"k=a|null@100", "z=y|x@116"}},
			{"right", "z", "w", 300, nil},
		}},
		{"left join: joined, never unjoined", leftJoin, streams.JoinWithin(10*ms, 0), []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "k", "b", 108, []string{"k=a|b@108"}},
			{"right", "z", "c", 500, nil},
		}},
		{"left join: within grace still joins", leftJoin, streams.JoinWithin(10*ms, 20*ms), []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "z", "x", 125, nil},
			{"right", "k", "b", 109, []string{"k=a|b@109"}},
			{"right", "z", "y", 500, nil},
		}},
		{"late records are dropped", leftJoin, streams.JoinWithin(5*ms, 0), []joinStep{
			{"left", "k", "a", 100, nil},
			{"right", "z", "x", 200, []string{"k=a|null@100"}},
			{"left", "k", "late", 150, nil},
			{"right", "k", "late", 101, nil},
			{"left", "z", "y", 400, nil},
			{"right", "z", "w", 1000, []string{"z=y|null@400"}},
		}},
		{"outer join emits both sides unjoined", outerJoin, streams.JoinWindows{Before: 2 * ms, After: 6 * ms}, []joinStep{
			{"right", "k", "b", 100, nil},
			{"left", "j", "a", 100, nil},
			{"left", "z", "x", 102, nil},
			{"left", "z", "y", 103, []string{"k=null|b@100"}},
			{"left", "z", "w", 107, []string{"j=a|null@100"}},
			{"right", "z", "v", 109, []string{"z=x|null@102", "z=y|v@109", "z=w|v@109"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runJoinSteps(t, streamJoinTopology(t, tt.kind, tt.w), streams.TestDriverConfig{}, tt.steps)
		})
	}
}

func TestStreamTableJoinSteps(t *testing.T) {
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			unjoined := func(s string) []string {
				if left {
					return []string{s}
				}
				return nil
			}
			runJoinSteps(t, streamTableTopology(t, left, false), streams.TestDriverConfig{}, []joinStep{
				{"left", "k", "a", 100, unjoined("k=a|null@100")},
				{"right", "k", "t1", 50, nil},
				{"left", "k", "b", 90, []string{"k=b|t1@90"}},
				{"right", "k", "t2", 200, nil},
				{"left", "k", "", 210, nil},
				{"left", "k", "c", 80, []string{"k=c|t2@80"}},
				{"right", "k", "", 300, nil},
				{"left", "k", "d", 310, unjoined("k=d|null@310")},
			})
		})
	}
}

func TestTableTableJoinSteps(t *testing.T) {
	steps := map[joinKind][]string{
		innerJoin: {"", "k=a|x@200", "k=b|x@300", "k=b|y@400", "k=<deleted>@500", "", ""},
		leftJoin:  {"k=a|null@100", "k=a|x@200", "k=b|x@300", "k=b|y@400", "k=<deleted>@500", "", "k=c|null@700"},
		outerJoin: {"k=a|null@100", "k=a|x@200", "k=b|x@300", "k=b|y@400", "k=null|y@500", "k=<deleted>@600", "k=c|null@700"},
	}
	for kind, want := range steps {
		t.Run(kind.String(), func(t *testing.T) {
			d, err := streams.NewTestDriver(tableJoinTopology(t, kind, false), streams.TestDriverConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			out := streams.NewTestOutputTopic(d, "joined", streams.String, streams.String)
			for i, s := range []struct{ topic, value string }{
				{"left", "a"}, {"right", "x"}, {"left", "b"}, {"right", "y"}, {"left", ""}, {"right", ""}, {"left", "c"},
			} {
				in := streams.NewTestInputTopic(d, s.topic, streams.String, streams.String)
				r := streams.Record[string, string]{Key: "k", Value: s.value, Timestamp: time.UnixMilli(int64(100 * (i + 1))), Tombstone: s.value == ""}
				if err := in.PipeRecord(r); err != nil {
					t.Fatal(err)
				}
				records, err := out.ReadRecords()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range records {
					if r.Tombstone {
						r.Value = "<deleted>"
					}
					got = append(got, fmt.Sprintf("%s=%s@%d", r.Key, r.Value, r.Timestamp.UnixMilli()))
				}
				if strings.Join(got, " ") != want[i] {
					t.Fatalf("step %d: emitted %v, want %q", i, got, want[i])
				}
			}
		})
	}
}

// TestTableTableJoinTimestamp checks that a joined row carries the later
// of its two sides' timestamps, whichever side changed.
func TestTableTableJoinTimestamp(t *testing.T) {
	d, err := streams.NewTestDriver(tableJoinTopology(t, innerJoin, true), streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := streams.NewTestInputTopic(d, "right", streams.String, streams.String).Pipe("k", "x", time.UnixMilli(500)); err != nil {
		t.Fatal(err)
	}
	if err := streams.NewTestInputTopic(d, "left", streams.String, streams.String).Pipe("k", "a", time.UnixMilli(100)); err != nil {
		t.Fatal(err)
	}
	if got := readJoined(t, d); !slices.Equal(got, []string{"k=a|x@500"}) {
		t.Fatalf("emitted %v", got)
	}
	st, err := d.StateStore("joined")
	if err != nil {
		t.Fatal(err)
	}
	kv, err := streams.KeyValueStoreOf[string, streams.ValueAndTimestamp[string]](d, st.Name())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := kv.Get("k"); err != nil || !ok || v.Value != "a|x" || v.Timestamp != 500 {
		t.Fatalf("store holds %+v %v %v", v, ok, err)
	}
}

// TestStreamTableJoinReadsThroughCache joins a stream with its own running
// count: with caching on, the count updated by a record is in the cache,
// not yet in the store, when the same record looks it up.
func TestStreamTableJoinReadsThroughCache(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.StreamFrom(b, streams.String, streams.String, []string{"in"})
	counts := streams.Count(streams.GroupByKey(s, streams.String, streams.String))
	streams.JoinStreamTable(s, counts, func(_, v string, n int64) string { return fmt.Sprintf("%s#%d", v, n) }).
		To("joined", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{CacheMaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "in", streams.String, streams.String)
	for i, v := range []string{"a", "b", "c"} {
		if err := in.Pipe("k", v, time.UnixMilli(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := readJoined(t, d); !slices.Equal(got, []string{"k=a#1@0", "k=b#2@1", "k=c#3@2"}) {
		t.Fatalf("emitted %v", got)
	}
}

func TestStreamStreamSelfJoin(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.StreamFrom(b, streams.String, streams.String, []string{"left"})
	streams.JoinStreams(s, s, func(_, l, r string) string { return l + "|" + r }, streams.JoinWithin(time.Second, 0)).
		To("joined", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	runJoinSteps(t, topo, streams.TestDriverConfig{}, []joinStep{
		{"left", "k", "a", 100, []string{"k=a|a@100"}},
		{"left", "k", "b", 200, []string{"k=b|a@200", "k=a|b@200", "k=b|b@200"}},
	})
}

func TestJoinTopology(t *testing.T) {
	b := streams.NewBuilder()
	left := streams.StreamFrom(b, streams.String, streams.String, []string{"left"})
	right := streams.StreamFrom(b, streams.String, streams.String, []string{"right"})
	rekeyed := streams.SelectKey(right, func(_, v string) string { return v })
	joined := streams.OuterJoinStreams(left, rekeyed, func(_ string, l, r *string) string { return joinedText(l, r) },
		streams.JoinWithin(time.Minute, time.Second), streams.StreamJoined[string, string, string]{StoreName: "orders"})
	table := streams.TableFrom(b, "table", streams.String, streams.String)
	streams.JoinStreamTable(joined, table, func(_, v, tv string) string { return v + tv }).To("out", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	desc := topo.Describe()
	for _, want := range []string{
		"Sink: orders-right-sink (topic: orders-right-repartition)",
		"Source: orders-right-source (topics: [orders-right-repartition])",
		"stores: [orders-outer-this-join-store, orders-outer-other-join-store, orders-outer-shared-join-store]",
		"<application.id>-orders-outer-this-join-store-changelog (changelog)",
		"<application.id>-orders-outer-shared-join-store-changelog (changelog)",
		"<application.id>-orders-right-repartition (repartition)",
		"--> KSTREAM-MERGE-",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
	// The join, the table and both inputs of the join are one
	// sub-topology, whose topics must be co-partitioned; the right input
	// before its repartition is another.
	if n := strings.Count(desc, "Sub-topology:"); n != 2 {
		t.Errorf("%d sub-topologies, want 2:\n%s", n, desc)
	}
	if strings.Contains(desc, "orders-left") {
		t.Errorf("the left side was repartitioned though its key did not change:\n%s", desc)
	}
}

func TestJoinBuildErrors(t *testing.T) {
	joiner := func(_, l, r string) string { return l + r }
	tests := map[string]func(b *streams.Builder){
		"negative grace": func(b *streams.Builder) {
			l := streams.StreamFrom(b, streams.String, streams.String, []string{"l"})
			r := streams.StreamFrom(b, streams.String, streams.String, []string{"r"})
			streams.JoinStreams(l, r, joiner, streams.JoinWindows{Before: time.Second, After: time.Second, Grace: -1})
		},
		"negative size": func(b *streams.Builder) {
			l := streams.StreamFrom(b, streams.String, streams.String, []string{"l"})
			r := streams.StreamFrom(b, streams.String, streams.String, []string{"r"})
			streams.JoinStreams(l, r, joiner, streams.JoinWindows{Before: -2 * time.Second, After: time.Second})
		},
		"no value serde after Map": func(b *streams.Builder) {
			l := streams.StreamFrom(b, streams.String, streams.String, []string{"l"})
			r := streams.Map(streams.StreamFrom(b, streams.String, streams.String, []string{"r"}), func(k, v string) (string, string) { return v, k })
			streams.JoinStreams(l, r, joiner, streams.JoinWithin(time.Second, 0))
		},
		"re-keyed stream joined with a table, no serdes": func(b *streams.Builder) {
			s := streams.Map(streams.StreamFrom(b, streams.String, streams.String, []string{"s"}), func(k, v string) (string, string) { return v, k })
			streams.JoinStreamTable(s, streams.TableFrom(b, "t", streams.String, streams.String), joiner)
		},
		"materialized table join without a value serde": func(b *streams.Builder) {
			l := streams.TableFrom(b, "l", streams.String, streams.String)
			r := streams.TableFrom(b, "r", streams.String, streams.String)
			streams.JoinTables[string, string, string, string](l, r, joiner, nil, streams.As("j"))
		},
	}
	for name, build := range tests {
		t.Run(name, func(t *testing.T) {
			b := streams.NewBuilder()
			build(b)
			if _, err := b.Build(); !errors.Is(err, streams.ErrTopology) {
				t.Fatalf("Build: %v, want ErrTopology", err)
			}
		})
	}
}

// TestJoinCoPartitioning runs joins in an application against a broker:
// the inputs of a join must have as many partitions, and the repartition
// topics of re-keyed sides get the count of the other side, or the larger
// of both sides' when both are re-keyed. The last join then runs, with its
// window stores on disk.
func TestJoinCoPartitioning(t *testing.T) {
	addr := startBroker(t, map[string]int32{"orders": 2, "customers": 3, "payments": 4, "joined": 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func(appID string, build func(b *streams.Builder)) (*streams.App, error) {
		b := streams.NewBuilder()
		build(b)
		topo, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		cfg := streams.NewConfig(appID, addr)
		cfg.StateDir = t.TempDir()
		cfg.CommitInterval = 100 * time.Millisecond
		app, err := streams.NewApp(topo, cfg, streams.WithLogger(t.Logf))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := app.Close(context.Background()); err != nil {
				t.Errorf("close %s: %v", appID, err)
			}
		})
		return app, app.Start(ctx)
	}
	joiner := func(_, l, r string) string { return l + "+" + r }
	_, err := start("not-copartitioned", func(b *streams.Builder) {
		orders := streams.StreamFrom(b, streams.String, streams.String, []string{"orders"})
		streams.JoinStreamTable(orders, streams.TableFrom(b, "customers", streams.String, streams.String), joiner).To("joined", streams.String, streams.String)
	})
	if !errors.Is(err, streams.ErrTopology) {
		t.Fatalf("joining topics of 2 and 3 partitions: %v, want ErrTopology", err)
	}
	_, err = start("rekeyed-stream", func(b *streams.Builder) {
		orders := streams.SelectKey(streams.StreamFrom(b, streams.String, streams.String, []string{"orders"}), func(_, v string) string { return v })
		streams.JoinStreamTable(orders, streams.TableFrom(b, "customers", streams.String, streams.String), joiner,
			streams.Joined[string, string]{Keys: streams.String, Name: "by-customer"}).To("joined", streams.String, streams.String)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = start("rekeyed-both", func(b *streams.Builder) {
		orders := streams.SelectKey(streams.StreamFrom(b, streams.String, streams.String, []string{"orders"}), func(_, v string) string { return v })
		payments := streams.SelectKey(streams.StreamFrom(b, streams.String, streams.String, []string{"payments"}), func(_, v string) string { return v })
		streams.JoinStreams(orders, payments, joiner, streams.JoinWithin(time.Hour, 0),
			streams.StreamJoined[string, string, string]{Keys: streams.String, StoreName: "paid"}).To("joined", streams.String, streams.String)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkPartitions(ctx, t, addr, map[string]int{
		"rekeyed-stream-by-customer-repartition":      3,
		"rekeyed-both-paid-left-repartition":          4,
		"rekeyed-both-paid-right-repartition":         4,
		"rekeyed-both-paid-this-join-store-changelog": 4,
	})
	produceJoinInputs(ctx, t, addr)
	var got []string
	for _, r := range readCommitted(t, addr, "joined", 6, 30*time.Second) {
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	slices.Sort(got)
	want := []string{"c0=c0+c0", "c1=c1+c1", "c2=c2+c2", "c3=c3+c3", "c4=c4+c4", "c5=c5+c5"}
	if !slices.Equal(got, want) {
		t.Fatalf("joined %v, want %v", got, want)
	}
}

// produceJoinInputs writes orders and payments of six customers, keyed by
// order and payment ids that spread them over the partitions.
func produceJoinInputs(ctx context.Context, t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	now := time.UnixMilli(1_700_000_000_000)
	for i := range 6 {
		customer := fmt.Sprintf("c%d", i)
		for _, topic := range []string{"orders", "payments"} {
			r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("%s-%d", topic, i)), Value: []byte(customer), Timestamp: now.Add(time.Duration(i) * time.Second)}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func checkPartitions(ctx context.Context, t *testing.T, addr string, want map[string]int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics := make([]string, 0, len(want))
	for topic := range want {
		topics = append(topics, topic)
	}
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		t.Fatal(err)
	}
	for topic, n := range want {
		d, ok := details[topic]
		if !ok || d.Err != nil {
			t.Errorf("topic %s: %v", topic, d.Err)
			continue
		}
		if len(d.Partitions) != n {
			t.Errorf("topic %s has %d partitions, want %d", topic, len(d.Partitions), n)
		}
	}
}
