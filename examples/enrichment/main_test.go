package main

import (
	"testing"
	"time"

	"github.com/fjordhq/fjord/streams"
)

func TestEnrichment(t *testing.T) {
	topo, err := Topology()
	if err != nil {
		t.Fatal(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	customers := streams.NewTestInputTopic(d, "customers", streams.String, streams.JSON[Customer]())
	orders := streams.NewTestInputTopic(d, "orders", streams.String, streams.JSON[Order]())
	out := streams.NewTestOutputTopic(d, "enriched-orders", streams.String, streams.JSON[EnrichedOrder]())
	now := time.UnixMilli(1_000)
	for _, step := range []error{
		orders.Pipe("c2", Order{Item: "pen", Cents: 150}, now),
		customers.Pipe("c1", Customer{Name: "Ada", Tier: "gold"}, now),
		orders.Pipe("c1", Order{Item: "book", Cents: 1250}, now.Add(time.Second)),
		customers.Pipe("c1", Customer{Name: "Ada", Tier: "platinum"}, now.Add(2*time.Second)),
		orders.Pipe("c1", Order{Item: "lamp", Cents: 4000}, now.Add(3*time.Second)),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	got, err := out.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d enriched orders, want 3: %+v", len(got), got)
	}
	if got[0].Value.Customer != nil {
		t.Errorf("an order of an unknown customer got %+v", got[0].Value.Customer)
	}
	if c := got[1].Value.Customer; c == nil || c.Tier != "gold" {
		t.Errorf("second order got customer %+v, want the gold profile", c)
	}
	if c := got[2].Value.Customer; c == nil || c.Tier != "platinum" {
		t.Errorf("third order got customer %+v, want the updated profile", c)
	}
}
