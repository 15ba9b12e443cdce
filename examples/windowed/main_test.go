package main

import (
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

func TestWindowedCounts(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "page-views", streams.String, streams.String)
	out := streams.NewTestOutputTopic(d, "views-per-minute", streams.String, streams.String)
	at := func(s string) time.Time {
		ts, err := time.Parse("2006-01-02 15:04:05", "2026-12-04 "+s)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	for _, v := range []struct{ user, at string }{
		{"ada", "12:00:05"}, {"ada", "12:00:40"}, {"bob", "12:00:50"},
		{"ada", "12:01:05"}, // opens the next window
		{"ada", "12:00:59"}, // late but within the grace period: counts
		{"ada", "12:01:11"}, // stream time passes 12:01:00 + 10 s: the first window closes
		{"ada", "12:00:30"}, // too late: dropped
		{"bob", "12:02:30"}, // closes 12:01 for ada
	} {
		if err := in.Pipe(v.user, "/home", at(v.at)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ada@12:00:00=3", "bob@12:00:00=1", "ada@12:01:00=2"}
	if len(got) != len(want) {
		t.Fatalf("got %d final counts %+v, want %v", len(got), got, want)
	}
	for i, r := range got {
		if r.Key+"="+r.Value != want[i] {
			t.Errorf("final count %d is %s=%s, want %s", i, r.Key, r.Value, want[i])
		}
	}
}
