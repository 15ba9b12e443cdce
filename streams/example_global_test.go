package streams_test

import (
	"fmt"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// Enrich clicks with the region of their user, from a global table that
// every instance holds in full.
func ExampleJoinGlobalTable() {
	b := streams.NewBuilder()
	regions := streams.GlobalTableFrom(b, "user-regions", streams.String, streams.String)
	clicks := streams.StreamFrom(b, streams.String, streams.String, []string{"clicks"}) // page -> user
	enriched := streams.LeftJoinGlobalTable(clicks, regions,
		func(_, user string) string { return user },
		func(page, user string, region *string) string {
			if region == nil {
				return user + " (unknown region) on " + page
			}
			return user + " (" + *region + ") on " + page
		})
	enriched.To("enriched-clicks", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	users := streams.NewTestInputTopic(d, "user-regions", streams.String, streams.String)
	in := streams.NewTestInputTopic(d, "clicks", streams.String, streams.String)
	now := time.UnixMilli(1000)
	_ = users.Pipe("ann", "eu", now)
	_ = in.Pipe("/home", "ann", now)
	_ = in.Pipe("/cart", "bob", now)
	out := streams.NewTestOutputTopic(d, "enriched-clicks", streams.String, streams.String)
	records, _ := out.ReadRecords()
	for _, r := range records {
		fmt.Println(r.Value)
	}
	// Output:
	// ann (eu) on /home
	// bob (unknown region) on /cart
}

type exampleOrder struct {
	Customer string
	Total    int
}

// Join each order with its customer, found through the order's customer
// id: a table-table join on a foreign key.
func ExampleForeignKeyJoin() {
	b := streams.NewBuilder()
	orders := streams.TableFrom(b, "orders", streams.String, streams.JSON[exampleOrder]())
	customers := streams.TableFrom(b, "customers", streams.String, streams.String)
	joined := streams.ForeignKeyJoin(orders, customers,
		func(o exampleOrder) string { return o.Customer },
		func(id string, o exampleOrder, name string) string {
			return fmt.Sprintf("%s: %d for %s", id, o.Total, name)
		},
		streams.String)
	joined.ToStream().To("orders-with-names", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	orderIn := streams.NewTestInputTopic(d, "orders", streams.String, streams.JSON[exampleOrder]())
	customerIn := streams.NewTestInputTopic(d, "customers", streams.String, streams.String)
	now := time.UnixMilli(1000)
	_ = orderIn.Pipe("o1", exampleOrder{Customer: "c1", Total: 30}, now)
	_ = customerIn.Pipe("c1", "Ann", now)                                // joins o1
	_ = customerIn.Pipe("c1", "Ann B.", now)                             // updates o1's result
	_ = orderIn.Pipe("o1", exampleOrder{Customer: "c2", Total: 30}, now) // no c2: deleted
	out := streams.NewTestOutputTopic(d, "orders-with-names", streams.String, streams.String)
	records, _ := out.ReadRecords()
	for _, r := range records {
		if r.Tombstone {
			fmt.Println(r.Key, "deleted")
		} else {
			fmt.Println(r.Value)
		}
	}
	// Output:
	// o1: 30 for Ann
	// o1: 30 for Ann B.
	// o1 deleted
}

// Count the users of each region from a table of user -> region: a user
// who moves leaves the old region's count and joins the new one's.
func ExampleTableCount() {
	b := streams.NewBuilder()
	userRegions := streams.TableFrom(b, "user-regions", streams.String, streams.String)
	byRegion := streams.TableGroupBy(userRegions,
		func(user, region string) (string, string) { return region, user },
		streams.String, streams.String)
	streams.TableCount(byRegion).ToStream().To("users-per-region", streams.String, streams.Int64)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}
	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	in := streams.NewTestInputTopic(d, "user-regions", streams.String, streams.String)
	now := time.UnixMilli(1000)
	_ = in.Pipe("ann", "eu", now)
	_ = in.Pipe("bob", "eu", now)
	_ = in.Pipe("ann", "us", now)
	out := streams.NewTestOutputTopic(d, "users-per-region", streams.String, streams.Int64)
	records, _ := out.ReadRecords()
	for _, r := range records {
		fmt.Println(r.Key, r.Value)
	}
	// Output:
	// eu 1
	// eu 2
	// eu 1
	// us 1
}
