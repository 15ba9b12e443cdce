package main

import (
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

func TestWordCount(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "text-input", streams.String, streams.String)
	out := streams.NewTestOutputTopic(d, "word-counts", streams.String, streams.String)
	if err := in.Pipe("", "the cat and the hat", time.UnixMilli(1)); err != nil {
		t.Fatal(err)
	}
	got, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	final := make(map[string]string)
	for _, r := range got {
		final[r.Key] = r.Value
	}
	want := map[string]string{"the": "2", "cat": "1", "and": "1", "hat": "1"}
	for word, n := range want {
		if final[word] != n {
			t.Errorf("count of %q is %q, want %q", word, final[word], n)
		}
	}
}
