package streams_test

import (
	"fmt"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// Counting page views per user in tumbling one-minute windows, with ten
// seconds of grace for late records, and emitting one final count per
// window once it closes.
func ExampleWindowedBy() {
	b := streams.NewBuilder()
	views := streams.StreamFrom(b, streams.String, streams.String, []string{"page-views"})
	windows := streams.TimeWindowsOf(time.Minute).WithGrace(10 * time.Second)
	counts := streams.WindowedBy(streams.GroupByKey(views, streams.String, streams.String), windows).Count()
	final := streams.SuppressUntilWindowCloses(counts)
	final.ToStream().To("views-per-minute", streams.TimeWindowedSerde(streams.String, time.Minute), streams.Int64)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "page-views", streams.String, streams.String)
	at := func(minutes, seconds int) time.Time {
		return time.UnixMilli(0).Add(time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second)
	}
	for _, v := range []struct {
		user string
		at   time.Time
	}{
		{"alice", at(0, 5)}, {"bob", at(0, 30)}, {"alice", at(0, 50)},
		{"alice", at(1, 5)},  // stream time 1:05: [0:00, 1:00) is in its grace
		{"bob", at(0, 55)},   // late but within grace: counted in [0:00, 1:00)
		{"alice", at(1, 20)}, // stream time 1:20: [0:00, 1:00) closes
		{"bob", at(0, 59)},   // too late: dropped
		{"alice", at(2, 30)}, // [1:00, 2:00) closes
	} {
		if err := in.Pipe(v.user, "/index.html", v.at); err != nil {
			panic(err)
		}
	}
	out := streams.NewTestOutputTopic(d, "views-per-minute", streams.TimeWindowedSerde(streams.String, time.Minute), streams.Int64)
	records, err := out.ReadRecords()
	if err != nil {
		panic(err)
	}
	for _, r := range records {
		fmt.Printf("%s [%v, %v): %d\n", r.Key.Key, r.Key.Start.UTC().Format("15:04"), r.Key.End.UTC().Format("15:04"), r.Value)
	}
	fmt.Println("dropped as late:", d.Metrics().DroppedLateRecords)
	// Output:
	// alice [00:00, 00:01): 2
	// bob [00:00, 00:01): 2
	// alice [00:01, 00:02): 2
	// dropped as late: 1
}

// Grouping clicks into sessions that end after five minutes of inactivity,
// accepting clicks up to five minutes late; a late click between two
// sessions merges them, and the table deletes the merged-away sessions.
func ExampleSessionWindowedBy() {
	b := streams.NewBuilder()
	clicks := streams.StreamFrom(b, streams.String, streams.String, []string{"clicks"})
	sessions := streams.SessionWindowedBy(streams.GroupByKey(clicks, streams.String, streams.String),
		streams.SessionWindowsOf(5*time.Minute).WithGrace(5*time.Minute)).Count()
	sessions.ToStream().To("sessions", streams.SessionWindowedSerde(streams.String), streams.Int64)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "clicks", streams.String, streams.String)
	for _, minute := range []int{0, 2, 10, 6} {
		if err := in.Pipe("alice", "click", time.UnixMilli(0).Add(time.Duration(minute)*time.Minute)); err != nil {
			panic(err)
		}
	}
	out := streams.NewTestOutputTopic(d, "sessions", streams.SessionWindowedSerde(streams.String), streams.Int64)
	records, err := out.ReadRecords()
	if err != nil {
		panic(err)
	}
	for _, r := range records {
		span := fmt.Sprintf("%s [%v, %v]", r.Key.Key, r.Key.Start.UTC().Format("04"), r.Key.End.UTC().Format("04"))
		if r.Tombstone {
			fmt.Println(span, "deleted")
			continue
		}
		fmt.Println(span, r.Value)
	}
	// Output:
	// alice [00, 00] 1
	// alice [00, 00] deleted
	// alice [00, 02] 2
	// alice [10, 10] 1
	// alice [00, 02] deleted
	// alice [10, 10] deleted
	// alice [00, 10] 4
}
