package streams_test

import (
	"fmt"
	"time"

	"github.com/fjordhq/fjord/streams"
)

// Orders are joined with the payments made within five minutes of them;
// an order not paid in time is reported once its window has closed.
func ExampleLeftJoinStreams() {
	b := streams.NewBuilder()
	orders := streams.StreamFrom(b, streams.String, streams.String, []string{"orders"})
	payments := streams.StreamFrom(b, streams.String, streams.Int64, []string{"payments"})
	paid := streams.LeftJoinStreams(orders, payments, func(id, item string, cents *int64) string {
		if cents == nil {
			return item + ": unpaid"
		}
		return fmt.Sprintf("%s: paid %d", item, *cents)
	}, streams.JoinWithin(5*time.Minute, time.Minute))
	paid.To("order-status", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}

	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	orderIn := streams.NewTestInputTopic(d, "orders", streams.String, streams.String)
	paymentIn := streams.NewTestInputTopic(d, "payments", streams.String, streams.Int64)
	start := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	_ = orderIn.Pipe("o1", "book", start)
	_ = orderIn.Pipe("o2", "lamp", start.Add(time.Minute))
	_ = paymentIn.Pipe("o1", 1250, start.Add(3*time.Minute))
	// Stream time passes o2's window end (12:06) and grace (12:07).
	_ = orderIn.Pipe("o3", "pen", start.Add(8*time.Minute))

	out := streams.NewTestOutputTopic(d, "order-status", streams.String, streams.String)
	records, _ := out.ReadRecords()
	for _, r := range records {
		fmt.Printf("%s %s at %s\n", r.Key, r.Value, r.Timestamp.UTC().Format("15:04"))
	}
	// Output:
	// o1 book: paid 1250 at 12:03
	// o2 lamp: unpaid at 12:01
}

// A stream of clicks is enriched with the current region of each user.
func ExampleLeftJoinStreamTable() {
	b := streams.NewBuilder()
	clicks := streams.StreamFrom(b, streams.String, streams.String, []string{"clicks"})
	regions := streams.TableFrom(b, "user-regions", streams.String, streams.String)
	streams.LeftJoinStreamTable(clicks, regions, func(user, page string, region *string) string {
		if region == nil {
			return page + " from an unknown region"
		}
		return page + " from " + *region
	}).To("clicks-by-region", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}

	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	now := time.UnixMilli(0)
	_ = streams.NewTestInputTopic(d, "clicks", streams.String, streams.String).Pipe("alice", "/home", now)
	_ = streams.NewTestInputTopic(d, "user-regions", streams.String, streams.String).Pipe("alice", "europe", now)
	_ = streams.NewTestInputTopic(d, "clicks", streams.String, streams.String).Pipe("alice", "/cart", now)

	records, _ := streams.NewTestOutputTopic(d, "clicks-by-region", streams.String, streams.String).ReadRecords()
	for _, r := range records {
		fmt.Println(r.Key, r.Value)
	}
	// Output:
	// alice /home from an unknown region
	// alice /cart from europe
}

// Two tables are joined into a third that follows both.
func ExampleOuterJoinTables() {
	b := streams.NewBuilder()
	names := streams.TableFrom(b, "names", streams.String, streams.String)
	emails := streams.TableFrom(b, "emails", streams.String, streams.String)
	contacts := streams.OuterJoinTables(names, emails, func(id string, name, email *string) string {
		return fmt.Sprintf("name=%s email=%s", orDash(name), orDash(email))
	}, streams.String, streams.As("contacts"))
	contacts.ToStream().To("contacts", streams.String, streams.String)
	topo, err := b.Build()
	if err != nil {
		panic(err)
	}

	d, err := streams.NewTestDriver(topo, streams.TestDriverConfig{})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	now := time.UnixMilli(0)
	_ = streams.NewTestInputTopic(d, "names", streams.String, streams.String).Pipe("u1", "Ada", now)
	_ = streams.NewTestInputTopic(d, "emails", streams.String, streams.String).Pipe("u1", "ada@example.com", now)
	_ = streams.NewTestInputTopic(d, "names", streams.String, streams.String).PipeTombstone("u1", now)
	_ = streams.NewTestInputTopic(d, "emails", streams.String, streams.String).PipeTombstone("u1", now)

	records, _ := streams.NewTestOutputTopic(d, "contacts", streams.String, streams.String).ReadRecords()
	for _, r := range records {
		if r.Tombstone {
			fmt.Println(r.Key, "deleted")
			continue
		}
		fmt.Println(r.Key, r.Value)
	}
	// Output:
	// u1 name=Ada email=-
	// u1 name=Ada email=ada@example.com
	// u1 name=- email=ada@example.com
	// u1 deleted
}

func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
