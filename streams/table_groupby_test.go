package streams_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// groupByTopology regroups a table of amounts by region ("<region>:<n>"
// values) and writes the count, the sum by TableAggregate and the sum by
// TableReduce of each region.
func groupByTopology(t *testing.T, opts ...streams.StoreOption) *streams.Topology {
	t.Helper()
	b := streams.NewBuilder()
	accounts := streams.TableFrom(b, "accounts", streams.String, streams.String)
	byRegion := streams.TableGroupBy(accounts, func(_ string, v string) (string, int64) {
		region, amount := parseAccount(v)
		return region, amount
	}, streams.String, streams.Int64)
	streams.TableCount(byRegion, append([]streams.StoreOption{streams.As("count")}, opts...)...).
		ToStream().To("count", streams.String, streams.Int64)
	streams.TableAggregate(byRegion, func() int64 { return 0 },
		func(_ string, v, agg int64) int64 { return agg + v },
		func(_ string, v, agg int64) int64 { return agg - v },
		streams.Int64, append([]streams.StoreOption{streams.As("sum")}, opts...)...).
		ToStream().To("sum", streams.String, streams.Int64)
	streams.TableReduce(byRegion,
		func(agg, v int64) int64 { return agg + v },
		func(agg, v int64) int64 { return agg - v }, opts...).
		ToStream().To("reduced", streams.String, streams.Int64)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func parseAccount(v string) (string, int64) {
	region, amount, _ := strings.Cut(v, ":")
	var n int64
	fmt.Sscan(amount, &n)
	return region, n
}

func TestTableGroupByScenario(t *testing.T) {
	d, err := streams.NewTestDriver(groupByTopology(t), streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "accounts", streams.String, streams.String)
	count := streams.NewTestOutputTopic(d, "count", streams.String, streams.Int64)
	sum := streams.NewTestOutputTopic(d, "sum", streams.String, streams.Int64)
	ts := time.UnixMilli(1000)
	for _, step := range []struct{ key, value string }{
		{"a", "eu:5"}, {"b", "eu:7"}, {"a", "eu:6"}, {"a", "us:1"}, {"b", ""},
	} {
		if step.value == "" {
			err = in.PipeTombstone(step.key, ts)
		} else {
			err = in.Pipe(step.key, step.value, ts)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// An update within a group is one record (eu 12 -> 13); a move is a
	// subtraction from the old group, then an addition to the new.
	for _, tc := range []struct {
		out  *streams.TestOutputTopic[string, int64]
		want string
	}{
		{count, "eu=1 eu=2 eu=2 eu=1 us=1 eu=0"},
		{sum, "eu=5 eu=12 eu=13 eu=7 us=1 eu=0"},
	} {
		records, err := tc.out.ReadRecords()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range records {
			got = append(got, fmt.Sprintf("%s=%d", r.Key, r.Value))
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("got  %s\nwant %s", g, tc.want)
		}
	}
	desc := groupByTopology(t).Describe()
	for _, want := range []string{"Processor: KTABLE-SELECT-", "<application.id>-count-repartition (repartition)", "Processor: KTABLE-REDUCE-"} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
}

// groupModel is what the aggregations hold: per region that ever had a
// row, the count and sum of the rows now in it.
func groupModel(rows map[string]string, seen map[string]bool) (counts, sums map[string]int64) {
	counts, sums = map[string]int64{}, map[string]int64{}
	for region := range seen {
		counts[region], sums[region] = 0, 0
	}
	for _, v := range rows {
		region, amount := parseAccount(v)
		counts[region]++
		sums[region] += amount
	}
	return counts, sums
}

// TestTableGroupByModel checks, over many seeds, that after every insert,
// update (within a group or to another) and delete the count, aggregate
// and reduce equal the model's.
func TestTableGroupByModel(t *testing.T) {
	seeds := 240
	if testing.Short() {
		seeds = 40
	}
	for seed := range seeds {
		cfg := streams.TestDriverConfig{}
		var opts []streams.StoreOption
		if seed%2 == 1 {
			cfg.CacheMaxBytes = 1 << 20
			opts = append(opts, streams.InMemory())
		}
		runGroupByModel(t, uint64(seed), groupByTopology(t, opts...), cfg)
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}

func runGroupByModel(t *testing.T, seed uint64, topo *streams.Topology, cfg streams.TestDriverConfig) {
	rng := rand.New(rand.NewPCG(seed, 11))
	d, err := streams.NewTestDriver(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "accounts", streams.String, streams.String)
	outs := map[string]*streams.TestOutputTopic[string, int64]{}
	views := map[string]map[string]int64{}
	for _, name := range []string{"count", "sum", "reduced"} {
		outs[name] = streams.NewTestOutputTopic(d, name, streams.String, streams.Int64)
		views[name] = map[string]int64{}
	}
	rows, seen := map[string]string{}, map[string]bool{}
	for step := range 60 {
		key := fmt.Sprintf("k%d", rng.IntN(6))
		ts := time.UnixMilli(int64(1000 + rng.IntN(500)))
		if rng.IntN(4) == 0 {
			delete(rows, key)
			err = in.PipeTombstone(key, ts)
		} else {
			v := fmt.Sprintf("r%d:%d", rng.IntN(3), rng.IntN(10)-3)
			rows[key] = v
			region, _ := parseAccount(v)
			seen[region] = true
			err = in.Pipe(key, v, ts)
		}
		if err != nil {
			t.Fatal(err)
		}
		for name, out := range outs {
			records, err := out.ReadRecords()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range records {
				views[name][r.Key] = r.Value
			}
		}
		counts, sums := groupModel(rows, seen)
		for name, want := range map[string]map[string]int64{"count": counts, "sum": sums, "reduced": sums} {
			if !maps.Equal(views[name], want) {
				t.Errorf("step %d: %s\n got %v\nwant %v", step, name, views[name], want)
				return
			}
		}
	}
}
