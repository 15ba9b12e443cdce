package streams_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// pipeAll pipes key@ms records, failing the test on error.
func pipeAll[V any](t *testing.T, in *streams.TestInputTopic[string, V], value V, records ...string) {
	t.Helper()
	for _, rec := range records {
		var key string
		var ms int64
		if _, err := fmt.Sscanf(strings.Replace(rec, "@", " ", 1), "%s %d", &key, &ms); err != nil {
			t.Fatalf("record %q: %v", rec, err)
		}
		if err := in.Pipe(key, value, time.UnixMilli(ms)); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll returns a topic's records as key=value strings.
func readAll[K, V any](t *testing.T, d *streams.TestDriver, topic string, keys streams.Serde[K], values streams.Serde[V]) []string {
	t.Helper()
	records, err := streams.NewTestOutputTopic(d, topic, keys, values).ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range records {
		if r.Tombstone {
			out = append(out, fmt.Sprintf("%v=deleted", r.Key))
			continue
		}
		out = append(out, fmt.Sprintf("%v=%v", r.Key, r.Value))
	}
	return out
}

func TestSuppressUntilWindowClosesSurvivesRestarts(t *testing.T) {
	ms := time.Millisecond
	keys := streams.TimeWindowedSerde(streams.String, 10*ms)
	b := streams.NewBuilder()
	in := streams.StreamFrom(b, streams.String, streams.String, []string{"in"})
	counts := streams.WindowedBy(streams.GroupByKey(in, streams.String, streams.String), streams.TimeWindowsOf(10*ms).WithGrace(5*ms)).Count()
	streams.SuppressUntilWindowCloses(counts).ToStream().To("final", keys, streams.Int64)
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var final []string
	step := func(records ...string) {
		pipeAll(t, streams.NewTestInputTopic(d, "in", streams.String, streams.String), "v", records...)
		final = append(final, readAll(t, d, "final", keys, streams.Int64)...)
	}
	restart := func() {
		if d, err = streams.RestartTestDriver(d, streams.TestDriverConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	step("a@1", "a@4", "b@6", "a@12")
	restart()
	// The counts of [0, 10) come back from the changelog; stream time 16
	// closes the window.
	step("a@16")
	restart()
	// After the restart the aggregation has seen no stream time and takes
	// the late record into the closed window; the suppression remembers
	// the window closed and does not emit it again.
	step("a@3", "a@30")
	defer d.Close()
	want := "a@[0,10]=2 b@[0,10]=1 a@[10,20]=2"
	if got := strings.Join(final, " "); got != want {
		t.Fatalf("final results\n got %s\nwant %s", got, want)
	}
}

func TestSuppressUntilWindowClosesOnSessions(t *testing.T) {
	ms := time.Millisecond
	keys := streams.SessionWindowedSerde(streams.String)
	b := streams.NewBuilder()
	in := streams.StreamFrom(b, streams.String, streams.String, []string{"in"})
	sessions := streams.SessionWindowedBy(streams.GroupByKey(in, streams.String, streams.String), streams.SessionWindowsOf(5*ms)).Count()
	streams.SuppressUntilWindowCloses(sessions).ToStream().To("final", keys, streams.Int64)
	d := driverOf(t, b, 0)
	// [0,0] is merged away into [0,3] before it closes: only [0,3] is
	// emitted, when stream time passes 3 + gap.
	pipeAll(t, streams.NewTestInputTopic(d, "in", streams.String, streams.String), "v", "a@0", "a@3", "b@8", "a@9", "a@20", "a@22", "b@40")
	want := "a@[0,3]=2 b@[8,8]=1 a@[9,9]=1 a@[20,22]=2"
	if got := strings.Join(readAll(t, d, "final", keys, streams.Int64), " "); got != want {
		t.Fatalf("final results\n got %s\nwant %s", got, want)
	}
}

func driverOf(t *testing.T, b *streams.Builder, cacheBytes int64) *streams.TestDriver {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{CacheMaxBytes: cacheBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSuppressUntilTimeLimit(t *testing.T) {
	for _, cacheBytes := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("cache=%d", cacheBytes), func(t *testing.T) {
			b := streams.NewBuilder()
			table := streams.TableFrom(b, "table", streams.String, streams.String)
			streams.SuppressUntilTimeLimit(table, 10*time.Millisecond).ToStream().To("limited", streams.String, streams.String)
			d := driverOf(t, b, cacheBytes)
			in := streams.NewTestInputTopic(d, "table", streams.String, streams.String)
			for _, u := range []struct {
				key, value string
				ms         int64
			}{
				{"k", "v1", 0}, {"k", "v2", 3}, {"j", "x", 5},
				{"k", "v3", 10}, // stream time 10 emits k, buffered at 0
				{"k", "v4", 12},
				{"j", "y", 15}, // emits j, buffered at 5
				{"k", "", 19},  // deletes k, still buffered at 12
				{"x", "z", 30}, // emits the delete of k
				{"j", "", 31},  // buffered at 31, not due
			} {
				var err error
				if u.value == "" {
					err = in.PipeTombstone(u.key, time.UnixMilli(u.ms))
				} else {
					err = in.Pipe(u.key, u.value, time.UnixMilli(u.ms))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			want := "k=v3 j=y k=deleted"
			if got := strings.Join(readAll(t, d, "limited", streams.String, streams.String), " "); got != want {
				t.Fatalf("limited updates\n got %s\nwant %s", got, want)
			}
		})
	}
}
