package streams_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

func wordCountTopology(t *testing.T, opts ...streams.StoreOption) *streams.Topology {
	t.Helper()
	topo, err := newWordCount(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// newWordCount is Kafka Streams' word count: lines in, a running count per
// word out.
func newWordCount(opts ...streams.StoreOption) (*streams.Topology, error) {
	b := streams.NewBuilder()
	lines := streams.StreamFrom(b, streams.String, streams.String, []string{"text-input"})
	words := streams.FlatMapValues(lines, func(_ string, line string) []string {
		return strings.Fields(strings.ToLower(line))
	})
	grouped := streams.GroupBy(words, func(_, word string) string { return word }, streams.String, streams.String)
	counts := streams.Count(grouped, append([]streams.StoreOption{streams.As("counts")}, opts...)...)
	counts.ToStream().To("word-counts", streams.String, streams.Int64)
	return b.Build()
}

func TestWordCountInTestDriver(t *testing.T) {
	topo := wordCountTopology(t)
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "text-input", streams.String, streams.String)
	out := streams.NewTestOutputTopic(d, "word-counts", streams.String, streams.Int64)
	base := time.UnixMilli(1_000)
	for i, line := range []string{"the quick fox", "The lazy dog", "the end"} {
		if err := in.Pipe("", line, base.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	records, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, r.Key+"="+strconv.FormatInt(r.Value, 10))
	}
	want := "the=1 quick=1 fox=1 the=2 lazy=1 dog=1 the=3 end=1"
	if strings.Join(got, " ") != want {
		t.Fatalf("counts\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	store, err := d.StateStore("counts")
	if err != nil {
		t.Fatal(err)
	}
	if store.Name() != "counts" {
		t.Fatalf("store name %q", store.Name())
	}
	repartition := streams.NewTestOutputTopic(d, "test-app-counts-repartition", streams.String, streams.String)
	if n := repartition.QueueSize(); n != 8 {
		t.Fatalf("repartition topic holds %d records, want 8", n)
	}
	changelog := streams.NewTestOutputTopic(d, "test-app-counts-changelog", streams.String, streams.Bytes)
	if n := changelog.QueueSize(); n != 8 {
		t.Fatalf("changelog holds %d records, want 8", n)
	}
}

func TestDescribeWordCount(t *testing.T) {
	desc := wordCountTopology(t).Describe()
	for _, want := range []string{
		"Sub-topology: 0", "Sub-topology: 1",
		"Source: KSTREAM-SOURCE-0000000000 (topics: [text-input])",
		"Sink: counts-sink (topic: counts-repartition)",
		"Processor: KSTREAM-AGGREGATE-0000000004 (stores: [counts])",
		"<application.id>-counts-changelog (changelog)",
		"<application.id>-counts-repartition (repartition)",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("Describe lacks %q:\n%s", want, desc)
		}
	}
}
